"""The report's headline comparisons on out-of-fold tables built here: intervals and paired tests
with known answers (identical decisions differ by nothing, a planted gain is found)."""

import numpy as np
import pandas as pd

from pipeline.report import headline

CLASSES = ["happy", "sad", "angry"]


def oof(correct: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """An out-of-fold table of 12 speakers x 9 takes: each take right where `correct` says."""
    rng = np.random.default_rng(seed)
    n = len(correct)
    labels = np.tile(CLASSES, n // 3)
    wrong = np.array([CLASSES[(CLASSES.index(label) + 1) % 3] for label in labels])
    guess = np.where(correct, labels, wrong)
    proba = {f"p_{c}": np.where(guess == c, 0.8, 0.1) + rng.uniform(0, 1e-3, n) for c in CLASSES}
    speakers = np.repeat([f"s{i:02d}" for i in range(n // 9)], 9)
    return pd.DataFrame({"take": [f"t{i:03d}" for i in range(n)], "label": labels, "speaker": speakers,
                         "fold": [int(s[1:]) % 3 for s in speakers], "channel": "speech", "predicted": guess,
                         **proba})


def test_feature_sets_against_the_own_features_with_known_answers():
    rng = np.random.default_rng(1)
    base = rng.random(108) < 0.5
    planted = base | (rng.random(108) < 0.6)  # right wherever the own features are, and on most others
    rows = {"own": oof(base), "same": oof(base, seed=2), "better": oof(planted)}
    markdown, figures = headline.voice_sets_section({"none": rows}, CLASSES, ["own", "same", "better"])
    assert "| same vs own (own features) | 108 | +0.0 [+0.0, +0.0], p = 1 |" in markdown
    better = next(line for line in markdown.splitlines() if line.startswith("| better vs own"))
    gain = 100 * (planted.mean() - base.mean())
    assert f"| {gain:+.1f} [" in better and "p < 0.001" in better
    assert "95% CI" in markdown and figures["own"]["accuracy"] == base.mean()


def test_prose_is_wrapped_and_tables_headings_and_images_are_kept_whole():
    from pipeline.report import formatting

    long = " ".join(["word"] * 60)
    table = "| " + " | ".join(["cell"] * 40) + " |"
    text = "\n".join(["## " + long, long, "", table, f"![a figure]({'x' * 150}.png)", "- " + long])
    lines = formatting.wrapped(text).splitlines()
    assert lines[0] == "## " + long and table in lines and f"![a figure]({'x' * 150}.png)" in lines
    prose = [line for line in lines if line.startswith("word") or line.startswith(("- word", "  word"))]
    assert all(len(line) <= formatting.WIDTH for line in prose) and " ".join(prose).split() == (long + " - " + long).split()
    assert lines[-1].startswith("  word")  # a bullet's continuation, indented under it

"""The report's section on adapting to a new speaker: accuracy against the number of that
speaker's unlabelled clips speaker normalisation may use (the adaptation stage's record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import io
from pipeline.learn import adaptation
from pipeline.report import charts, formatting, registry


def section(record: dict[str, Any], figures: Path) -> tuple[str, dict[str, Any]]:
    """Markdown and figures of the adaptation curve, with the prior and with the speaker's own statistics alone."""
    chosen = str(float(record["prior_clips"]))
    curves = {strength: pd.DataFrame(by_k).T for strength, by_k in record["curves"].items()}
    measured = {s: c.drop(index="all").set_axis(c.drop(index="all").index.astype(int)).sort_index()
                for s, c in curves.items()}
    labels = {s: (f"drawn towards the training speakers' (prior of {float(s):g} clips)" if float(s) else
                  "the speaker's own statistics alone") for s in curves}
    png = figures / "adaptation.png"
    charts.adaptation_figure({labels[s]: c for s, c in measured.items()},
                             float(curves[chosen].loc["all", "plain"]), record["model"], png)
    rows = pd.DataFrame({
        "clips": [*map(str, measured[chosen].index), "all"],
        **{labels[s].split(" (")[0]: [formatting.pct(v) for v in [*c["accuracy"], curves[s].loc["all", "accuracy"]]]
           for s, c in measured.items()},
        "plain model, same takes": [formatting.pct(v) for v in [*measured[chosen]["plain"],
                                                                curves[chosen].loc["all", "plain"]]],
        "worst fold's gain": [f"{100 * v:+.1f}" for v in [*measured[chosen]["gain_min_fold"],
                                                          curves[chosen].loc["all", "gain_min_fold"]]],
    })
    useful = record["useful_from"]
    verdict = (f"With the prior, it beats the plain model in every outer fold from **{useful} clips** on: "
               f"`avemotion predict --speaker NAME` asks for at least that many." if useful else
               "With the prior it never beats the plain model in every outer fold: `avemotion predict --speaker` "
               "refuses.")
    markdown = "\n".join([
        "## Adapting to a new speaker: how many clips",
        "",
        f"Speaker normalisation needs a batch of the speaker's clips. **{record['model']}** on the same outer "
        f"folds: each test speaker's takes standardised with statistics from k of them, drawn at random "
        f"({record['draws']} draws; the drawn ones not scored), beside **{record['plain_model']}** on the same "
        "takes; `all`: every take gives the statistics, as in training. " + verdict,
        "",
        f"![adaptation](figures/{png.name})",
        "",
        formatting.table(rows),
        "",
    ])
    return markdown, {"model": record["model"], "useful_from": useful,
                      **{str(k): {"accuracy": float(r["accuracy"]), "plain": float(r["plain"])}
                         for k, r in curves[chosen].iterrows()}}


@registry.section("adaptation", place=90)
def part(inputs: registry.Inputs) -> registry.Part:
    return registry.Part(*section(io.read_json(adaptation.RECORD), inputs.figures))

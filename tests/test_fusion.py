"""Late fusion rules: fallback to the members present, learnt weights, and fold isolation."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO
from pipeline.learn import fusion, runplan


def member(takes: list[str], proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"take": takes, **{f"p_{c}": proba[:, k] for k, c in enumerate(classes)}})


def simulated(n: int = 600, n_classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three members: informative, weakly informative, pure noise (as probability tables)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    members = []
    for strength in (3.0, 1.0, 0.0):
        logits = rng.normal(0, 1, (n, n_classes)) + strength * np.eye(n_classes)[y]
        members.append(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    return np.stack(members, axis=1), y


def speakers(n: int) -> np.ndarray:
    return np.array([f"s{i % 12:02d}" for i in range(n)])


def test_align_marks_missing_takes_and_zero_fills_unknown_classes():
    audio = member(["t1", "t2"], np.array([[0.7, 0.3], [0.4, 0.6]]), ["happy", "sad"])
    face = member(["t2", "t3"], np.array([[0.5, 0.5], [0.1, 0.9]]), ["sad", "contempt"])
    P = fusion.align([audio, face], ["t1", "t2", "t3"], ["happy", "sad", "contempt"])
    assert fusion.present(P).tolist() == [[True, False], [True, True], [False, True]]
    np.testing.assert_allclose(P[1, 1], [0.0, 0.5, 0.5])
    np.testing.assert_allclose(P[2, 1], [0.0, 0.1, 0.9])


@pytest.mark.parametrize("rule", sorted(fusion.RULES))
def test_every_rule_falls_back_to_the_members_present(rule):
    P, y = simulated()
    fitted = fusion.RULES[rule]().fit(P, y, speakers(len(y)))
    fused = fitted.predict_proba(P)
    np.testing.assert_allclose(fused.sum(axis=1), 1.0, atol=1e-9)
    lone = P.copy()
    lone[:, 1:] = np.nan  # only the first member has this take (e.g. an audio-only take)
    alone = fitted.predict_proba(lone)
    assert not np.isnan(alone).any()
    if rule in ("mean", "weighted", "product"):
        np.testing.assert_allclose(alone, P[:, 0], atol=1e-3 if rule == "product" else 1e-9)
    assert np.mean(alone.argmax(axis=1) == y) == pytest.approx(np.mean(P[:, 0].argmax(axis=1) == y), abs=0.05)


def test_learnt_rules_trust_the_informative_member_and_beat_the_plain_mean():
    P, y = simulated(seed=1)
    test_P, test_y = simulated(seed=2)
    weighted = fusion.Weighted().fit(P, y, speakers(len(y)))
    assert weighted.weights[0] > 0.6 and weighted.weights[2] < 0.1 and weighted.weights.sum() == pytest.approx(1)

    def accuracy(proba: np.ndarray) -> float:
        return float(np.mean(proba.argmax(axis=1) == test_y))

    mean = accuracy(fusion.Mean().predict_proba(test_P))
    assert accuracy(weighted.predict_proba(test_P)) > mean
    assert accuracy(fusion.Stacked().fit(P, y, speakers(len(y))).predict_proba(test_P)) > mean


def test_the_stacker_regularises_hard_only_when_its_training_rows_carry_no_signal():
    P, y = simulated(n=300, seed=4)
    informed = fusion.Stacked().fit(P, y, speakers(len(y)))
    noise = np.random.default_rng(5).integers(0, 4, len(y))  # labels unrelated to every member
    blind = fusion.Stacked().fit(P, noise, speakers(len(y)))
    assert blind.C == min(fusion.STACKER_C) < informed.C
    assert blind.predict_proba(P).max(axis=1).mean() < 0.35 < informed.predict_proba(P).max(axis=1).mean()


@pytest.mark.parametrize("rule", ["weighted", "stacked", "selected"])
def test_a_fold_is_fused_by_a_rule_fitted_on_its_own_training_rows_only(rule):
    P, y = simulated(n=400)
    fold = np.repeat([0, 1], 200)
    inner_P, inner_y = simulated(n=400, seed=3)
    inner_fold = np.repeat([1, 0], 200)  # training rows of fold 0 are labelled inner_fold == 0
    fused, _ = fusion.cross_validate(rule, P, fold, inner_P, inner_y, speakers(400), inner_fold)
    corrupted_y = inner_y.copy()
    corrupted_y[inner_fold == 1] = (corrupted_y[inner_fold == 1] + 1) % 4  # fold 1's training rows
    again, _ = fusion.cross_validate(rule, P, fold, inner_P, corrupted_y, speakers(400), inner_fold)
    np.testing.assert_allclose(again[fold == 0], fused[fold == 0])
    assert not np.allclose(again[fold == 1], fused[fold == 1])


def test_selected_picks_the_rule_that_generalises_across_speakers():
    P, y = simulated(n=480, seed=6)
    mislead = P.copy()
    mislead[:, 2] = np.eye(4)[(y + 1) % 4] * 0.97 + 0.01  # a member confidently wrong: every rule must learn to ignore it
    selected = fusion.Selected().fit(mislead, y, speakers(len(y)))
    assert selected.chosen in ("weighted", "stacked")  # the plain rules cannot discount it
    np.testing.assert_allclose(selected.predict_proba(mislead), selected.rule.predict_proba(mislead))
    agreeing = np.repeat(P[:, :1], 3, axis=1)  # identical members: every rule fuses them alike ...
    assert fusion.Selected().fit(agreeing, y, speakers(len(y))).chosen == "mean"  # ... and the simplest wins the tie


def test_voice_feature_sets_fuse_together_then_with_each_face_and_every_modality_needs_a_kind():
    params = {"run": {"modalities": ["audio", "face", "au"], "learners": ["svm", "xgb"], "normalisations": ["none"],
                      "wide_modalities": ["compare2016"], "wide_learners": ["logreg"]},
              "opensmile_features": {"compare2016": {}}, "external_features": {"au": {"kind": "face"}}}
    plan = runplan.plan(params)
    assert plan.kinds == {"audio": "voice", "face": "face", "au": "face", "compare2016": "voice"}
    assert plan.learners["compare2016"] == ("logreg",) and plan.learners["au"] == ("svm", "xgb")
    groups = fusion.groups(plan)
    assert [g.slug for g in groups] == ["audio-none", "face-none", "au-none", "audio+compare2016-none",
                                        "audio+compare2016+face-none", "audio+compare2016+au-none"]
    assert groups[-1].stems[-3:] == ("models/learners/compare2016/logreg-none", "models/learners/au/svm-none",
                                     "models/learners/au/xgb-none")
    assert groups[-1].sides == (("audio", "compare2016"), ("au",))  # the voices meet the face as one side
    params["run"]["modalities"].append("opensmile")
    with pytest.raises(ValueError, match="run: opensmile is neither audio, face nor a key of opensmile_features"):
        runplan.plan(params)
    params["run"].update(modalities=["audio", "compare2016"])
    with pytest.raises(ValueError, match="run: compare2016 is in both modalities and wide_modalities"):
        runplan.plan(params)


def test_a_voices_and_face_group_keeps_only_the_corpora_where_a_voice_meets_the_face():
    def oof(corpus: str, takes: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"take": takes, "corpus": corpus, "speaker": "s1", "label": "happy", "channel": None,
                             "intensity": "normal", "fold": 0, "p_happy": 1.0, "p_sad": 0.0})

    voices = [oof("ravdess", ["r1", "r2"]), oof("ravdess", ["r1", "r2"])]  # two voice feature sets of the same takes
    group = fusion.Group(("audio", "compare", "face"), "none", ("x/audio/svm-none", "x/compare2016/logreg-none",
                                                                "x/face/svm-none"), (("audio", "compare"), ("face",)))
    inner = [o.iloc[:0] for o in voices] + [oof("ckplus", []).iloc[:0]]
    assert fusion.gather(group, [*voices, oof("ckplus", ["c1"])], inner) is None  # RAVDESS has no face here
    assert fusion.gather(group, [*voices, oof("ravdess", ["r1"])], inner).takes["take"].tolist() == ["r1", "r2"]


def test_the_fuse_stage_has_its_output_when_there_is_nothing_to_fuse(tmp_path):
    """One learner of one modality: no group, and still models/fusion for DVC (not 'output does not exist')."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["run"].update(modalities=["audio"], learners=["svm"], wide_modalities=[])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = subprocess.run([sys.executable, "-m", "pipeline.stages.fuse"], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO), "PATH": ""}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "models/fusion/groups.json").read_text()) == {"groups": []}

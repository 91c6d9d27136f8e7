"""Permutation importance on tables with a known answer, and the feature families it shuffles."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.extract import audio, face, families, smile, tables
from pipeline.learn import evaluation, importance, learners, search
from pipeline.report import cues


def carrier_table(n: int = 600, n_classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Column 2 carries the label (its class mean plus a little noise); the other five are noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, 6))
    X[:, 2] = y + 0.1 * rng.normal(size=n)
    return X, y


def test_shuffling_the_column_that_carries_the_label_costs_everything_the_others_nothing():
    X, y = carrier_table()
    model = LogisticRegression(max_iter=1000).fit(X[:300], y[:300])
    one_each = {f"c{j}": np.array([j]) for j in range(6)}
    found = importance.drops(importance.Shuffles(model, X[300:]), y[300:], 3, one_each, repeats=5,
                             rng=np.random.default_rng(1)).set_index("family")
    assert found.loc[importance.BASELINE, "accuracy"] == pytest.approx(1.0, abs=0.01)
    assert found.loc["c2", "accuracy"] > 0.55  # from ~100% to about chance (33%)
    assert (found.loc["c2", ["recall_0", "recall_1", "recall_2"]] > 0.3).all()  # every class loses it
    others = found.drop(index=["c2", importance.BASELINE])
    assert others["accuracy"].abs().max() < 0.02 and (others["columns"] == 1).all()


def test_a_family_is_shuffled_as_a_whole_so_twin_columns_do_not_hide_each_other():
    X, y = carrier_table()
    X = np.column_stack([X, X[:, 2]])  # column 6: a copy of the carrier (a second functional of one descriptor)
    model = LogisticRegression(max_iter=1000).fit(X[:300], y[:300])
    alone = importance.drops(importance.Shuffles(model, X[300:]), y[300:], 3, {"c2": np.array([2])}, 5, np.random.default_rng(1))
    together = importance.drops(importance.Shuffles(model, X[300:]), y[300:], 3, {"c2": np.array([2, 6])}, 5,
                                np.random.default_rng(1))
    assert together.set_index("family").loc["c2", "accuracy"] > alone.set_index("family").loc["c2", "accuracy"] + 0.2


@pytest.mark.parametrize("learner, width", [("logreg", 200), ("svm", 200), ("logreg", 40)])
def test_a_shuffle_through_the_span_guesses_as_the_whole_model_does(learner, width):
    """The span shortcut (front once, a family's share of the coordinates added; a tall table's
    columns passed through) answers as the model does on the shuffled copy, with an empty column
    the imputer drops."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 90)
    X = rng.normal(size=(90, width)) + y[:, None] * (np.arange(width) < 20)
    X[:, 7] = np.nan
    X[rng.random(X.shape) < 0.01] = np.nan
    model = learners.build(learner, 0, {}).fit(X[:60], y[:60])
    shuffles = importance.Shuffles(model, X[60:])
    assert shuffles.fast and (model.named_steps["span"].rows_ is None) == (width < 60)
    assert np.array_equal(shuffles.guesses(), model.predict(X[60:]))
    changed = 0
    for columns in (np.array([3, 7, 15]), np.arange(0, width, 2), np.array([width - 5])):
        order = rng.permutation(30)
        shuffled = X[60:].copy()
        shuffled[:, columns] = X[60:][order][:, columns]
        expected = model.predict(shuffled)
        assert np.array_equal(shuffles.guesses(columns, order), expected)
        changed += np.sum(expected != shuffles.guesses())
    assert changed > 0  # the shuffles moved some answers: the test compares something


def test_outer_folds_refit_each_fold_as_train_did_and_find_the_carrier():
    X, y = carrier_table(n=480, n_classes=4, seed=3)
    X[:, 2] = y + 0.8 * np.random.default_rng(4).normal(size=len(y))  # informative, not perfect
    groups = np.repeat([f"s{i:02d}" for i in range(12)], 40)
    fold = np.array([int(g[1:]) % 4 for g in groups])
    spec = search.SearchSpec("logreg", {"clf__C": {"log_uniform": [0.01, 1.0]}}, 2, {}, {})
    trained = evaluation.train(spec, X, y, groups, fold, 4, inner_k=2, scoring="balanced_accuracy", seed=7,
                               permutation_check=False)
    chosen = {f["fold"]: f["best_params"] for f in trained.folds}
    by_family = {"carrier": np.array([2]), "noise": np.array([0, 1, 3, 4, 5])}
    found = importance.outer_folds(spec, X, y, fold, chosen, 4, by_family, repeats=3, seed=7)
    assert sorted(found["fold"].unique()) == [0, 1, 2, 3]
    base = found[found["family"] == importance.BASELINE].set_index("fold")["accuracy"]
    for p in range(4):  # the unshuffled guesses are train's out-of-fold guesses: the same refit (to the
        test = fold == p  # last float32 bits of an L-BFGS fit, which may tip a near-tie)
        assert base[p] == pytest.approx(np.mean(trained.probabilities[test].argmax(axis=1) == y[test]), abs=0.02)
    mean = found[found["family"] != importance.BASELINE].groupby("family")["accuracy"].mean()
    assert mean["carrier"] > 0.2 and abs(mean["noise"]) < 0.05
    again = importance.outer_folds(spec, X, y, fold, chosen, 4, by_family, repeats=3, seed=7)
    assert found.equals(again)  # seeded: the same shuffles on every run



def test_importance_permutes_the_very_models_train_refit(tmp_path, monkeypatch):
    """With the fit cache on, each fold's model comes from train's refit: no fit is made again, and the
    unshuffled guesses are exactly train's out-of-fold guesses."""
    monkeypatch.setenv("AVEMOTION_FIT_CACHE", str(tmp_path / "fits"))
    X, y = carrier_table(n=360, n_classes=3, seed=5)
    X[:, 2] = y + 0.8 * np.random.default_rng(6).normal(size=len(y))
    groups = np.repeat([f"s{i:02d}" for i in range(9)], 40)
    fold = np.array([int(g[1:]) % 3 for g in groups])
    spec = search.SearchSpec("rf", {"clf__max_depth": {"int_uniform": [2, 8]}}, 2, {}, {"clf__n_estimators": 20})
    trained = evaluation.train(spec, X, y, groups, fold, 3, inner_k=2, scoring="balanced_accuracy", seed=7,
                               permutation_check=False)
    refits = sorted((tmp_path / "fits").rglob("*.joblib"))
    assert len(refits) == 3 + 1  # each outer fold's and the final model
    found = importance.outer_folds(spec, X, y, fold, {f["fold"]: f["best_params"] for f in trained.folds}, 3,
                                   {"carrier": np.array([2])}, repeats=2, seed=7)
    assert sorted((tmp_path / "fits").rglob("*.joblib")) == refits
    base = found[found["family"] == importance.BASELINE].set_index("fold")["accuracy"]
    for p in range(3):
        test = fold == p
        assert base[p] == np.mean(trained.probabilities[test].argmax(axis=1) == y[test])

def test_every_own_voice_column_falls_in_a_named_descriptor_family():
    names = audio.feature_names(audio.AudioSettings())
    named = {families.audio_family(c) for c in names}
    assert named == {"MFCC", "Δ MFCC", "ΔΔ MFCC", "energy", "zero-crossing rate", "spectral shape", "pitch",
                     "duration"}
    assert families.audio_family("delta200_mean") == "ΔΔ MFCC" and families.audio_family("delta19_p90") == "Δ MFCC"
    grouped = families.families(names, families.audio_family)
    assert sum(len(c) for c in grouped.values()) == len(names) and len(grouped["MFCC"]) == 20 * 8


def test_every_own_face_column_falls_in_a_measure_both_sides_together():
    names = face.feature_names(face.FaceSettings())
    named = {families.face_family(c) for c in names}
    assert {"landmark positions", "landmark motion", "face detection", "brow raise", "eye open", "mouth open",
            "lip corner lift"} <= named
    assert not named & set(names)  # no column left on its own
    assert families.face_family("brow_raise_left_speed_max") == families.face_family("brow_raise_right_p10")


def test_opensmile_columns_group_by_low_level_descriptor_with_deltas_apart():
    names = smile.feature_names(smile.SmileSettings("compare2016", "ComParE_2016", 16000))
    grouped = families.families(names, families.smile_family)
    assert {"mfcc", "mfcc Δ", "F0final", "F0final Δ", "pcm_RMSenergy", "logHNR"} <= set(grouped)
    assert len(grouped["audSpec_Rfilt"]) > 26  # every band and functional of the auditory spectrum together
    assert 20 < len(grouped) < 200 and sum(len(c) for c in grouped.values()) == len(names)
    assert families.smile_family("F0semitoneFrom27.5Hz_sma3nz_amean") == "F0semitoneFrom27.5Hz"  # eGeMAPS
    assert families.smile_family("pcm_loudness_sma_de_amean") == "pcm_loudness Δ"  # IS10


def test_action_units_group_by_unit_and_openface_landmarks_as_the_face():
    assert {families.external_family(c) for c in ("AU12_r", "AU12_c", "AU12_r_mean")} == {"AU12"}
    openface = tables.openface_names(["AU01_r", "AU45_c"], ("mean", "max"))
    assert {"AU01", "AU45", "landmark positions", "mouth open"} <= {families.external_family(c) for c in openface}
    assert families.external_family("valence") == "valence"


def test_the_settings_refuse_no_repeat():
    assert importance.ImportanceSettings.from_params({"importance": {"repeats": 2}}).repeats == 2
    for bad in ({"repeats": 0}, {"repeats": 1.5}, {"modalities": ["audio"], "repeats": 2}):
        with pytest.raises(ValueError, match="importance"):
            importance.ImportanceSettings.from_params({"importance": bad})


def test_the_report_names_the_families_leaned_on_and_details_every_one(tmp_path):
    X, y = carrier_table(n=480, n_classes=3, seed=5)
    fold = np.arange(len(y)) % 3
    spec = search.SearchSpec("logreg", {"clf__C": {"log_uniform": [0.01, 1.0]}}, 2, {}, {})
    by_family = {"carrier": np.array([2]), **{f"noise {j}": np.array([j]) for j in (0, 1, 3, 4, 5)}}
    table = importance.outer_folds(spec, X, y, fold, {p: {"clf__C": 0.5} for p in range(3)}, 3, by_family, 2, 0)
    table = table.rename(columns={"recall_0": "recall_sad", "recall_1": "recall_happy", "recall_2": "recall_angry"})
    markdown, details, found = cues.section({"toy": table.assign(learner="logreg")}, tmp_path)
    assert (tmp_path / "importance-toy.png").stat().st_size > 0
    top = next(line for line in markdown.splitlines() if line.startswith("| toy"))
    assert "carrier +6" in top and top.index("carrier") < top.index("noise")  # ~100% -> ~33%: about 66 points
    assert all(f"| {name} |" in details for name in by_family) and "| sad | happy | angry |" in details
    assert found["toy"]["carrier"] > 0.5 and found["toy"]["accuracy_unshuffled"] > 0.95

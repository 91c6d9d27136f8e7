"""Speaker-grouped nested evaluation: no speaker on both sides of any fold, honest metrics."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from pipeline.learn import evaluation, learners, metrics, search


def speakers(n_speakers: int, per_speaker: int) -> np.ndarray:
    return np.repeat([f"s{i:02d}" for i in range(n_speakers)], per_speaker)


def fold_per_take(groups: np.ndarray, corpus_of: dict[str, str], n_folds: int, seed: int) -> np.ndarray:
    speakers = pd.DataFrame({"speaker": groups, "corpus": [corpus_of.get(g, "c") for g in groups]})
    fold_of = evaluation.speaker_folds(speakers, n_folds, seed)
    return np.array([fold_of[g] for g in groups])


@pytest.mark.parametrize(("n_speakers", "outer", "inner"), [(20, 5, 4), (7, 3, 2), (24, 6, 5)])
def test_no_speaker_is_on_both_sides_of_any_outer_or_inner_fold(n_speakers, outer, inner):
    groups = speakers(n_speakers, 10)
    fold = fold_per_take(groups, {}, outer, seed=1)
    assert sorted(np.unique(fold)) == list(range(outer))  # every take tested exactly once, every fold used
    for index in range(outer):
        train, test = np.flatnonzero(fold != index), np.flatnonzero(fold == index)
        assert not set(groups[train]) & set(groups[test])
        for inner_train, inner_test in evaluation.inner_folds(groups[train], inner):
            assert not set(groups[train][inner_train]) & set(groups[train][inner_test])
            assert not set(groups[train][inner_test]) & set(groups[test])


def test_speaker_folds_deal_each_corpus_evenly_and_reproducibly():
    groups = np.concatenate([speakers(20, 3), [f"ck{i}" for i in range(10)]])
    corpus_of = {f"ck{i}": "ckplus" for i in range(10)}
    fold = fold_per_take(groups, corpus_of, 5, seed=7)
    for corpus_speakers, per_fold in ((np.unique(speakers(20, 3)), 4), ([f"ck{i}" for i in range(10)], 2)):
        mine = np.isin(groups, corpus_speakers)
        assert [len(set(groups[mine & (fold == f)])) for f in range(5)] == [per_fold] * 5
    assert np.array_equal(fold, fold_per_take(groups, corpus_of, 5, seed=7))


def test_search_space_and_refinement_grid_from_data():
    space = {"clf__C": {"log_uniform": [0.1, 100.0]}, "clf__max_depth": {"int_uniform": [2, 6]}}
    dists = learners.distributions(space)
    assert 0.1 <= dists["clf__C"].rvs(random_state=0) <= 100.0
    grid = learners.refinement_grid(
        {"clf__C": 80.0, "clf__max_depth": np.int64(2), "clf__gamma": 0.01},
        {"clf__C": {"factor": 2.0}, "clf__max_depth": {"step": 1}}, space,
    )
    assert grid == {"clf__C": [40.0, 80.0, 100.0], "clf__max_depth": [2, 3], "clf__gamma": [0.01]}
    with pytest.raises(ValueError, match="unknown distribution"):
        learners.distributions({"clf__C": {"normal": [0, 1]}})


def blobs(n_speakers: int = 8, per_class: int = 6, n_classes: int = 3, seed: int = 0):
    """Separable classes with a per-speaker offset (what speaker-grouped folds must cope with)."""
    rng = np.random.default_rng(seed)
    X, y, groups = [], [], []
    for s in range(n_speakers):
        offset = rng.normal(0, 0.5, 5)
        for c in range(n_classes):
            X.append(rng.normal(0, 1, (per_class, 5)) + offset + 3 * np.eye(5)[c])
            y += [c] * per_class
            groups += [f"s{s}"] * per_class
    return np.vstack(X), np.array(y), np.array(groups)


SPACES = {
    "svm": ({"clf__C": {"log_uniform": [0.1, 10.0]}}, {"clf__C": {"factor": 2.0}}, {}),
    "logreg": ({"clf__C": {"log_uniform": [0.01, 10.0]}}, {"clf__C": {"factor": 2.0}}, {}),
    "mlp": ({"clf__alpha": {"log_uniform": [0.001, 1.0]}}, {"clf__alpha": {"factor": 2.0}}, {}),
    "rf": ({"clf__max_features": {"uniform": [0.2, 1.0]}}, {"clf__max_features": {"factor": 1.5}},
           {"clf__n_estimators": 20}),
    "xgb": ({"clf__max_depth": {"int_uniform": [1, 3]}}, {"clf__max_depth": {"step": 1}},
            {"clf__n_estimators": 20}),
}


def train_on_blobs(learner: str, n_iter: int = 2) -> tuple[evaluation.Trained, np.ndarray, np.ndarray, np.ndarray]:
    X, y, groups = blobs()
    space, grid, fixed = SPACES[learner]
    spec = search.SearchSpec(learner, space, n_iter=n_iter, grid=grid, fixed=fixed)
    fold = fold_per_take(groups, {}, 4, seed=3)
    trained = evaluation.train(
        spec, X, y, groups, fold, n_classes=3, inner_k=2, scoring="balanced_accuracy", seed=3, permutation_check=True,
    )
    return trained, X, y, fold


@pytest.mark.parametrize("learner", ["svm", "logreg", "mlp", "rf", "xgb"])
def test_nested_cross_validation_learns_and_the_permutation_check_does_not(learner):
    trained, X, y, fold = train_on_blobs(learner)
    groups = blobs()[2]
    assert not np.isnan(trained.probabilities).any()
    np.testing.assert_allclose(trained.probabilities.sum(axis=1), 1.0, atol=1e-6)
    figures = metrics.figures(y, trained.probabilities, ["a", "b", "c"], groups, fold)
    assert figures["accuracy"] > 0.9
    permuted = np.mean([f["permuted_accuracy"] for f in trained.folds])
    assert permuted < 0.6  # chance is 1/3; the real labels give > 0.9
    assert set(trained.search_log["phase"]) == {"random", "grid"}
    assert set(trained.search_log["fold"]) == {"0", "1", "2", "3", "final"}
    assert len(trained.folds) == 4 and all(f["inner_score"] > 0.5 for f in trained.folds)
    # inner out-of-fold rows: every training take of every fold once, never a take of that fold's test part
    assert len(trained.inner_take) == 3 * len(y)
    for index in range(4):
        rows = trained.inner_take[trained.inner_fold == index]
        assert sorted(rows) == sorted(np.flatnonzero(fold != index))
    assert not np.isnan(trained.inner_probabilities).any()
    assert np.mean(trained.inner_probabilities.argmax(axis=1) == y[trained.inner_take]) > 0.8
    # the deployed model: refit on every take, probabilities over the three classes
    proba = trained.model.predict_proba(X)
    assert proba.shape == (len(y), 3) and np.mean(proba.argmax(axis=1) == y) > 0.9
    assert set(trained.final_params) == set(SPACES[learner][0])


def test_a_grid_point_the_random_search_scored_is_not_fitted_again():
    trained, *_ = train_on_blobs("rf", n_iter=3)
    log = trained.search_log
    for _, part in log.groupby("fold"):
        random, grid = part[part["phase"] == "random"], part[part["phase"] == "grid"]
        best = random.loc[random["mean_score"].idxmax()]
        again = grid[grid["params"] == best["params"]]
        assert len(again) == 1 and again["mean_score"].item() == best["mean_score"]  # the same score, reused
        assert again["mean_fit_s"].item() == best["mean_fit_s"]


@pytest.mark.parametrize("learner", ["rf", "xgb"])
def test_halving_scores_every_random_candidate_small_and_the_best_third_in_full(learner):
    space = {"clf__max_depth": {"int_uniform": [1, 6]}, "clf__min_child_weight" if learner == "xgb"
             else "clf__min_samples_leaf": {"int_uniform": [1, 20]}}
    X, y, groups = blobs()
    fold = fold_per_take(groups, {}, 4, seed=3)
    logs = {}
    for halving in (None, 3):
        spec = search.SearchSpec(learner, space, n_iter=6, grid={}, fixed={"clf__n_estimators": 30}, halving=halving)
        logs[halving] = evaluation.train(spec, X, y, groups, fold, n_classes=3, inner_k=2, scoring="accuracy", seed=3,
                                         permutation_check=False).search_log
    for name, part in logs[3].groupby("fold"):
        small = part[part["phase"] == "halving"]
        assert len(small) == 6 and all(eval(p)["clf__n_estimators"] == 10 for p in small["params"])
        full = part[part["phase"] == "random"]
        best_two = small.sort_values("mean_score", ascending=False, kind="stable").head(2)["params"]
        assert sorted(full["params"]) == sorted(p.replace(", 'clf__n_estimators': 10", "") for p in best_two)
        # a survivor's full-size score is the one the search without halving gives it
        plain = logs[None][(logs[None]["fold"] == name) & (logs[None]["phase"] == "random")]
        assert full.set_index("params")["mean_score"].to_dict().items() <= plain.set_index("params")["mean_score"].to_dict().items()


@pytest.mark.parametrize("learner", ["svm", "logreg", "mlp"])
def test_each_candidate_scores_as_its_whole_pipeline_fitted_on_the_split_would(learner):
    """The steps before the classifier are fitted once per split and shared; here on a table wider
    than its rows, so that the row-space projection is one of them."""
    X, y, groups = blobs()
    X = np.hstack([X, np.random.default_rng(4).normal(size=(len(X), 300))])
    space, grid, fixed = SPACES[learner]
    spec = search.SearchSpec(learner, space, n_iter=3, grid=grid, fixed=fixed)
    fold = fold_per_take(groups, {}, 4, seed=3)
    trained = evaluation.train(spec, X, y, groups, fold, n_classes=3, inner_k=2, scoring="accuracy", seed=3,
                               permutation_check=False)
    rows = np.flatnonzero(fold != 0)
    for candidate in trained.search_log[trained.search_log["fold"] == "0"].itertuples():
        scores = []
        for train, test in evaluation.inner_folds(groups[rows], 2):
            model = learners.build(learner, 3).set_params(**eval(candidate.params))
            model.fit(X[rows[train]], y[rows[train]])
            assert model.named_steps["span"].rows_ is not None  # 54 rows, 305 columns: projected
            scores.append(np.mean(model.predict(X[rows[test]]) == y[rows[test]]))
        assert candidate.mean_score == pytest.approx(np.mean(scores))


class FitCounter:
    """The progress-bar interface `evaluation` drives, counting the fits it announces."""

    def __init__(self) -> None:
        self.total = 0

    def refresh(self) -> None:
        pass

    def update(self, n: int) -> None:
        pass


@pytest.mark.parametrize("learner", ["logreg", "svm"])
def test_the_learning_curve_trains_each_fold_on_growing_sets_of_its_own_training_speakers(learner):
    X, y, groups = blobs(n_speakers=8)
    space, grid, fixed = SPACES[learner]
    spec = search.SearchSpec(learner, space, n_iter=2, grid=grid, fixed=fixed)
    fold = fold_per_take(groups, {}, 2, seed=3)  # two outer folds: 4 training speakers each
    curve = evaluation.learning_curve(spec, X, y, groups, fold, [2, 4], 3, inner_k=2, scoring="accuracy", seed=3)
    assert curve[["fold", "speakers", "takes"]].values.tolist() == [[0, 2, 36], [0, 4, 72], [1, 2, 36], [1, 4, 72]]
    # with every training speaker, a fold is exactly the nested run's fold: the same search, the same model
    trained = evaluation.train(spec, X, y, groups, fold, 3, inner_k=2, scoring="accuracy", seed=3,
                               permutation_check=False)
    for f in (0, 1):
        test = fold == f
        full = curve[(curve["fold"] == f) & (curve["speakers"] == 4)]["accuracy"].item()
        assert full == np.mean(trained.probabilities[test].argmax(axis=1) == y[test])
    # so given that run's predictions, the curve reads those points from them and fits only the smaller sets
    counted, reused = FitCounter(), FitCounter()
    evaluation.learning_curve(spec, X, y, groups, fold, [2, 4], 3, inner_k=2, scoring="accuracy", seed=3,
                              progress=counted)
    again = evaluation.learning_curve(spec, X, y, groups, fold, [2, 4], 3, inner_k=2, scoring="accuracy", seed=3,
                                      progress=reused, trained=trained.probabilities.argmax(axis=1))
    pd.testing.assert_frame_equal(again, curve)
    assert reused.total == counted.total / 2  # two sizes, one of them read
    with pytest.raises(ValueError, match=r"5 training speakers: fold 0 has 4, and the inner search needs at least 2"):
        evaluation.learning_curve(spec, X, y, groups, fold, [5], 3, inner_k=2, scoring="accuracy", seed=3)
    with pytest.raises(ValueError, match="1 training speakers"):
        evaluation.learning_curve(spec, X, y, groups, fold, [1], 3, inner_k=2, scoring="accuracy", seed=3)


def test_copies_train_beside_their_takes_in_every_fit_and_are_never_scored():
    """A copy identical to its take counts that take twice in every fit that trains on it, which for
    an L2 logistic regression is the same as doubling C: so the run with copies at C must give the
    run without them at 2C, in every outer, inner, permuted and final fit (a copy of a test or
    validation take among the training rows, or a missing one, would break the equality)."""
    X, y, groups = blobs(n_speakers=6)
    fold = fold_per_take(groups, {}, 3, seed=3)
    duplicates = evaluation.Copies(X.copy(), np.arange(len(y)))

    def run(c: float, copies: evaluation.Copies | None) -> evaluation.Trained:
        spec = search.SearchSpec("logreg", {"clf__C": {"choice": [c]}}, n_iter=1, grid={})
        return evaluation.train(spec, X, y, groups, fold, 3, inner_k=2, scoring="accuracy", seed=3,
                                permutation_check=True, copies=copies)

    doubled, copied = run(0.1, None), run(0.05, duplicates)
    assert not np.allclose(run(0.05, None).probabilities, doubled.probabilities, atol=1e-3)  # C matters here
    np.testing.assert_allclose(copied.probabilities, doubled.probabilities, atol=1e-3)
    np.testing.assert_allclose(copied.inner_probabilities, doubled.inner_probabilities, atol=1e-3)
    np.testing.assert_array_equal(copied.inner_take, doubled.inner_take)
    assert [f["permuted_accuracy"] for f in copied.folds] == [f["permuted_accuracy"] for f in doubled.folds]
    np.testing.assert_allclose(copied.model.predict_proba(X), doubled.model.predict_proba(X), atol=1e-3)
    spec = search.SearchSpec("logreg", {"clf__C": {"choice": [0.05]}}, n_iter=1, grid={})
    curve = evaluation.learning_curve(spec, X, y, groups, fold, [2], 3, inner_k=2, scoring="accuracy", seed=3,
                                      copies=duplicates)
    spec = search.SearchSpec("logreg", {"clf__C": {"choice": [0.1]}}, n_iter=1, grid={})
    pd.testing.assert_frame_equal(curve, evaluation.learning_curve(spec, X, y, groups, fold, [2], 3, inner_k=2,
                                                                   scoring="accuracy", seed=3))


def test_metrics_on_known_predictions():
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array([
        [0.8, 0.1, 0.1], [0.1, 0.8, 0.1],  # one right, one wrong (top-2 right)
        [0.1, 0.8, 0.1], [0.2, 0.7, 0.1],
        [0.1, 0.1, 0.8], [0.5, 0.3, 0.2],  # wrong; the true class ranks third
    ])
    groups = np.array(["a", "b", "a", "b", "a", "b"])
    fold = np.array([0, 1, 0, 1, 0, 1])
    m = metrics.figures(y, proba, ["x", "y", "z"], groups, fold)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["uar"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["recall"] == pytest.approx({"x": 0.5, "y": 1.0, "z": 0.5})
    assert m["per_speaker_accuracy"] == pytest.approx({"a": 1.0, "b": 1 / 3})
    assert m["fold_accuracy_mean"] == pytest.approx(2 / 3) and m["fold_accuracy_std"] == pytest.approx(1 / 3)
    assert m["chance"] == pytest.approx(1 / 3)
    # top-3 over 3 classes is always right; check top-k logic with 4 classes instead
    proba4 = np.column_stack([proba, np.full(6, 0.05)])
    proba4[5] = [0.5, 0.3, 0.01, 0.19]  # true class 2 now ranks fourth
    assert metrics.figures(y, proba4, list("wxyz"), groups, fold)["top3_accuracy"] == pytest.approx(5 / 6)


def test_uar_and_macro_f1_average_over_the_same_classes_when_one_is_missing():
    """A 4-class model scored on takes of 3 classes (none of class 3), once predicting the missing
    class: both averages run over the 3 classes present, so they can be compared."""
    y = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 3, 1, 1, 2, 0])
    proba = np.eye(4)[predicted]
    m = metrics.figures(y, proba, list("wxyz"), np.array(["a"] * 6), np.zeros(6, dtype=int))
    assert m["classes_present"] == ["w", "x", "y"]
    assert m["uar"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    # F1 per present class: w: precision 1/2, recall 1/2 -> 1/2; x: 1; y: precision 1, recall 1/2 -> 2/3
    assert m["macro_f1"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    assert m["recall"]["z"] != m["recall"]["z"]  # NaN: never recalled, never averaged
    assert metrics.uar(y, predicted) == pytest.approx(balanced_accuracy_score(y, predicted))


GOOD_TRAIN = {"seed": 1, "outer_folds": 5, "inner_folds": 4, "scoring": "balanced_accuracy", "permutation_check": True}


@pytest.mark.parametrize(("change", "message"), [
    ({"outer_folds": 1}, "train.outer_folds: 1 is not allowed; it must be a whole number >= 2"),
    ({"inner_folds": "4"}, "train.inner_folds: '4' is not allowed"),
    ({"scoring": "roc_auc"}, "train.scoring: 'roc_auc' is not allowed; it must be one of balanced_accuracy, accuracy"),
    ({"permutation_check": "yes"}, "train.permutation_check: 'yes' is not allowed; it must be true or false"),
    ({"seed": -3}, "train.seed: -3 is not allowed"),
])
def test_bad_train_settings_are_refused_naming_the_setting(change, message):
    with pytest.raises(ValueError, match=message):
        evaluation.TrainSettings(**{**GOOD_TRAIN, **change})


@pytest.mark.parametrize(("spec", "message"), [
    ({"n_iter": 0}, r"learners.svm.n_iter: 0 is not allowed"),
    ({"space": {"clf__C": {"log_uniform": [0, 10]}}}, r"learners.svm: clf__C: log_uniform needs \[low, high\] with low < high and low > 0"),
    ({"space": {"clf__C": {"log_uniform": [10, 1]}}}, r"low < high"),
    ({"space": {"clf__C": {"normal": [0, 1]}}}, r"unknown distribution 'normal'"),
    ({"space": {"clf__Cee": {"uniform": [0, 1]}}}, r"learners.svm.space: clf__Cee is not a parameter of the svm pipeline"),
    ({"grid": {"clf__gamma": {"factor": 2}}}, r"learners.svm.grid.clf__gamma: not in learners.svm.space"),
    ({"grid": {"clf__C": {"factor": 1}}}, r"learners.svm.grid.clf__C: \{'factor': 1\} is not allowed"),
    ({"fixed": {"clf__kernels": "linear"}}, r"learners.svm: Invalid parameter"),
    ({"space": {"scale__with_std": {"choice": [True, False]}}},
     r"learners.svm.space: scale__with_std: the search tunes the classifier's parameters \(clf__...\); set other "
     r"steps' in learners.svm.fixed"),
    ({"halving": 1}, r"learners.svm.halving: 1 is not allowed; it must be a whole number >= 2"),
    ({"halving": 3}, r"learners.svm.halving: the svm learner grows nothing halving could give a fraction of"),
    ({"learner": "rf", "space": {"clf__n_estimators": {"int_uniform": [10, 20]}}, "grid": {}, "halving": 3},
     r"learners.rf.halving: halves over clf__n_estimators \(trees, boosting rounds\), which the rf pipeline must "
     r"have fixed at >= 3, not searched"),
])
def test_bad_search_spaces_are_refused_before_any_fit(spec, message):
    good = {"learner": "svm", "space": {"clf__C": {"log_uniform": [0.1, 10.0]}}, "n_iter": 2,
            "grid": {"clf__C": {"factor": 2.0}}, "fixed": {}}
    with pytest.raises(ValueError, match=message):
        search.SearchSpec(**{**good, **spec})


class RecordingBar:
    """A stand-in for tqdm that records (n, total) at every update."""

    def __init__(self) -> None:
        self.total, self.n, self.seen = 0, 0, []

    def refresh(self) -> None:
        pass

    def update(self, n: int) -> None:
        self.n += n
        self.seen.append((self.n, self.total))


@pytest.mark.parametrize("halving", [None, 3])
def test_the_progress_bar_knows_its_total_before_the_first_fit_and_its_share_never_falls(halving):
    X, y, groups = blobs()
    fold = fold_per_take(groups, {}, 4, seed=3)
    spec = search.SearchSpec("rf", {"clf__max_features": {"uniform": [0.2, 1.0]}}, n_iter=6,
                             grid={"clf__max_features": {"factor": 1.5}}, fixed={"clf__n_estimators": 9}, halving=halving)
    bar = RecordingBar()
    evaluation.train(spec, X, y, groups, fold, n_classes=3, inner_k=2, scoring="accuracy", seed=3,
                     permutation_check=True, progress=bar)
    shares = [n / total for n, total in bar.seen]
    assert bar.seen[0][1] >= bar.n == bar.total  # planned at the start, and every planned fit done
    assert shares == sorted(shares) and shares[-1] == 1.0


def test_a_learner_added_through_the_registry_trains_with_no_other_change(monkeypatch):
    """The learner contract: a k-nearest-neighbours pipeline registered here (in the test only) goes
    through the nested search, the permutation check and the final refit like the shipped ones;
    with no resource to halve over, a halving setting is refused naming the learner."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    from pipeline.learn.imputer import MedianImputer

    knn = learners.Learner(lambda seed: [("impute", MedianImputer()), ("scale", StandardScaler()),
                                         ("clf", KNeighborsClassifier())])
    monkeypatch.setitem(learners.LEARNERS, "knn", knn)
    monkeypatch.setitem(SPACES, "knn", ({"clf__n_neighbors": {"int_uniform": [1, 9]}},
                                        {"clf__n_neighbors": {"step": 2}}, {}))
    trained, X, y, fold = train_on_blobs("knn", n_iter=3)
    assert metrics.figures(y, trained.probabilities, ["a", "b", "c"], blobs()[2], fold)["accuracy"] > 0.9
    assert np.mean([f["permuted_accuracy"] for f in trained.folds]) < 0.6
    assert np.mean(trained.model.predict_proba(X).argmax(axis=1) == y) > 0.9
    assert set(trained.final_params) == {"clf__n_neighbors"}
    with pytest.raises(ValueError, match="learners.knn.halving: the knn learner grows nothing halving could"):
        search.SearchSpec("knn", SPACES["knn"][0], n_iter=3, grid={}, halving=3)


def test_the_fit_cache_changes_no_result_and_an_edited_search_pays_only_for_new_fits(tmp_path, monkeypatch):
    """One more random candidate: the first ones (same seed) and their grids come from the cache,
    and every figure is the one a run without the cache gives."""
    fresh = train_on_blobs("svm", n_iter=3)[0]
    monkeypatch.setenv("AVEMOTION_FIT_CACHE", str(tmp_path / "fits"))
    first = train_on_blobs("svm", n_iter=2)[0]
    again = train_on_blobs("svm", n_iter=3)[0]
    assert first.fit_cache["hits"] == 0 and again.fit_cache["hits"] >= first.fit_cache["fits"] // 2
    assert again.fit_cache["fits"] > 0
    np.testing.assert_array_equal(again.probabilities, fresh.probabilities)
    np.testing.assert_array_equal(again.inner_probabilities, fresh.inner_probabilities)
    pd.testing.assert_frame_equal(again.search_log.drop(columns="mean_fit_s"), fresh.search_log.drop(columns="mean_fit_s"))
    assert again.final_params == fresh.final_params
    (tmp_path / "fits").rename(tmp_path / "gone")  # removed: the same figures again, all fitted afresh
    cold = train_on_blobs("svm", n_iter=3)[0]
    assert cold.fit_cache["hits"] == 0
    np.testing.assert_array_equal(cold.probabilities, fresh.probabilities)

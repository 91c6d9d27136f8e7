"""Speaker-independent evaluation: actor-grouped outer folds around a nested hyperparameter search.

Inside each outer training part, a randomized search and then a grid search around its
best point run on inner actor-grouped folds; the outer test speakers are never seen by
either. Reported figures come from the outer folds only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GroupKFold, ParameterGrid, ParameterSampler

from pipeline import checks
from pipeline.learn import calibration, learners, metrics

Split = tuple[np.ndarray, np.ndarray]

# What the inner folds choose by (`train.scoring`), from true and predicted labels.
SCORERS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "balanced_accuracy": metrics.uar,
    "accuracy": accuracy_score,
    "f1_macro": metrics.macro_f1,
}


def speaker_folds(speakers: pd.DataFrame, n_folds: int, seed: int) -> dict[str, int]:
    """Outer fold of every speaker: each corpus's speakers shuffled (seeded) and dealt into `n_folds` parts.

    Dealt from the whole manifest (`corpus`, `speaker` columns), not one modality's table, so a
    speaker sits in the same fold for every modality and learner: late fusion relies on it.
    """
    fold_of: dict[str, int] = {}
    for _, part in speakers.groupby("corpus"):
        order = np.random.default_rng(seed).permutation(np.unique(part["speaker"]))
        for index, chunk in enumerate(np.array_split(order, n_folds)):
            fold_of.update(dict.fromkeys(map(str, chunk), index))
    return fold_of


def inner_folds(groups: np.ndarray, n_folds: int) -> list[Split]:
    """Speaker-grouped folds inside one training part (deterministic)."""
    if len(np.unique(groups)) < n_folds:
        raise ValueError(f"{len(np.unique(groups))} speakers cannot fill {n_folds} inner folds")
    return list(GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=groups))


@dataclass(frozen=True)
class TrainSettings:
    """The `train` params block, checked before any fit (`checks`)."""

    seed: int
    outer_folds: int
    inner_folds: int
    scoring: str
    permutation_check: bool

    def __post_init__(self) -> None:
        checks.check("train", self, _TRAIN_RULES)


_TRAIN_RULES: list[checks.Rule] = [
    ("seed", "a whole number >= 0", lambda t: checks.is_int(t.seed) and t.seed >= 0),
    ("outer_folds", "a whole number >= 2", lambda t: checks.is_int(t.outer_folds) and t.outer_folds >= 2),
    ("inner_folds", "a whole number >= 2", lambda t: checks.is_int(t.inner_folds) and t.inner_folds >= 2),
    ("scoring", "one of " + ", ".join(SCORERS), lambda t: t.scoring in SCORERS),
    ("permutation_check", "true or false", lambda t: isinstance(t.permutation_check, bool)),
]


@dataclass(frozen=True)
class SearchSpec:
    """How one learner is tuned: its random space, refinement grid and fixed settings (checked
    when made: a space or grid that cannot be searched fails before any fit)."""

    learner: str
    space: dict[str, dict[str, Any]]
    n_iter: int
    grid: dict[str, dict[str, float]]
    fixed: dict[str, Any] = field(default_factory=dict)
    # Successive halving of the random candidates (a forest's trees or boosting rounds as the
    # resource): all scored with 1/halving of `clf__n_estimators`, the best 1/halving with all.
    halving: int | None = None

    def __post_init__(self) -> None:
        block = f"learners.{self.learner}"
        if not (checks.is_int(self.n_iter) and self.n_iter >= 1):
            raise ValueError(f"{block}.n_iter: {self.n_iter!r} is not allowed; it must be a whole number >= 1")
        if not isinstance(self.space, dict) or not self.space:
            raise ValueError(f"{block}.space: {self.space!r} is not allowed; it must map parameters to distributions")
        try:
            learners.distributions(self.space)
            known = learners.build(self.learner, 0, self.fixed).get_params()
        except ValueError as error:
            raise ValueError(f"{block}: {error}") from None
        unknown = sorted(set(self.space) - set(known))
        off_classifier = sorted(p for p in set(self.space) - set(unknown) if not p.startswith("clf__"))
        if off_classifier:  # the steps before the classifier are fitted once per split, for every candidate
            raise ValueError(f"{block}.space: {', '.join(off_classifier)}: the search tunes the classifier's "
                             f"parameters (clf__...); set other steps' in {block}.fixed")
        if unknown:
            raise ValueError(f"{block}.space: {', '.join(unknown)} is not a parameter of the {self.learner} pipeline "
                             f"(e.g. {', '.join(k for k in sorted(known) if k.startswith('clf__'))[:120]}...)")
        if self.halving is not None:
            grows = checks.is_int(known.get("clf__n_estimators")) and "clf__n_estimators" not in self.space
            if not (checks.is_int(self.halving) and self.halving >= 2):
                raise ValueError(f"{block}.halving: {self.halving!r} is not allowed; it must be a whole number >= 2")
            if not grows or known["clf__n_estimators"] < self.halving:
                raise ValueError(f"{block}.halving: halves over clf__n_estimators (trees, boosting rounds), which the "
                                 f"{self.learner} pipeline must have fixed at >= {self.halving}, not searched")
        for parameter, rule in (self.grid or {}).items():
            if parameter not in self.space:
                raise ValueError(f"{block}.grid.{parameter}: not in {block}.space (a grid refines searched parameters)")
            if not (isinstance(rule, dict) and len(rule) == 1 and (
                    (checks.is_number(rule.get("factor")) and rule["factor"] > 1)
                    or (checks.is_number(rule.get("step")) and rule["step"] > 0))):
                raise ValueError(f"{block}.grid.{parameter}: {rule!r} is not allowed; it must be "
                                 "{factor: F} with F > 1 or {step: S} with S > 0")

    def first_rung(self) -> dict[str, int]:
        """The halving's first resource: 1/halving of the fixed trees or boosting rounds."""
        trees = learners.build(self.learner, 0, self.fixed).get_params()["clf__n_estimators"]
        return {"clf__n_estimators": trees // self.halving}


FINAL = -1  # the part holding every take: its search chooses the deployed model


@dataclass
class Trained:
    """What nested cross-validation and the final refit produced."""

    probabilities: np.ndarray  # (n_takes, n_classes), each row from the outer fold that held it out
    folds: list[dict[str, Any]]  # per outer fold: test speakers, best params, inner score, fit time, permutation
    search_log: pd.DataFrame  # one row per candidate of every search (outer folds and "final")
    # Inner out-of-fold probabilities of each outer training part (the chosen point on its inner
    # folds): what fusion is fitted on without touching that fold's test takes.
    inner_take: np.ndarray  # (n_rows,) take index
    inner_fold: np.ndarray  # (n_rows,) the outer fold whose training part the row belongs to
    inner_probabilities: np.ndarray  # (n_rows, n_classes)
    model: Any  # the chosen point of the final search, refit on every take, with predict_proba
    final_params: dict[str, Any]


@dataclass
class _Candidate:
    """One point of one search, scored on that part's inner folds."""

    params: dict[str, Any]
    phase: str
    scores: list[float]
    fit_s: list[float]
    outputs: dict[int, np.ndarray] = field(default_factory=dict)  # inner split -> scores of its test takes

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))


def train(
    spec: SearchSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray, fold: np.ndarray, n_classes: int,
    inner_k: int, scoring: str, seed: int, permutation_check: bool, progress: Any = None,
) -> Trained:
    """Nested, speaker-grouped cross-validation over the outer folds in `fold`, and the final model.

    Every outer training part, and the whole table for the final model, gets the same search:
    the randomized candidates (with `spec.halving`, all first on a fraction of the trees or
    rounds, the best again with all), then a grid around each part's best, scored on its inner
    speaker-grouped folds. All fits of a phase, over every part, go out as one batch of tasks
    (joblib: local processes or Dask, see `compute`); a grid point already scored is not fitted
    again. The chosen point's inner out-of-fold outputs are kept: they are the fusion rows, and
    an SVM's sigmoids are fitted on them (`calibration`). The permutation check refits each
    fold's chosen point on training labels shuffled (seeded); it should land near chance.
    """
    outer = [int(i) for i in np.unique(fold)]
    if len(outer) < 2:
        raise ValueError(f"the takes fill {len(outer)} outer fold(s); at least 2 are needed")
    parts = {i: np.flatnonzero(fold != i) for i in outer} | {FINAL: np.arange(len(y))}
    splits = {p: [(rows[a], rows[b]) for a, b in inner_folds(groups[rows], inner_k)] for p, rows in parts.items()}
    job = _Job(spec, X, y, n_classes, seed, scoring, progress)
    chosen, scored, log = _search(job, parts, splits)
    permuted = _permuted_labels(y, parts, outer, seed) if permutation_check else {}
    refits = job.refit(chosen, parts, {p: np.flatnonzero(fold == p) for p in parts}, permuted)
    probabilities = np.full((len(y), n_classes), np.nan)
    records, inner = [], []
    for p in outer:
        test = np.flatnonzero(fold == p)
        oof = _inner_outputs(chosen[p], splits[p], len(y), n_classes)
        probabilities[test] = job.probabilities(refits[p].outputs, oof, parts[p])
        inner.append((parts[p], p, job.cross_fitted(oof, splits[p])))
        record = {
            "fold": p,
            "test_speakers": sorted(map(str, np.unique(groups[test]))),
            "best_params": {k: to_plain(v) for k, v in chosen[p].params.items()},
            "inner_score": chosen[p].mean,
            "fit_seconds": float(sum(sum(c.fit_s) for c in scored[p]) + refits[p].fit_s),
        }
        if permutation_check:
            record["permuted_accuracy"] = float(accuracy_score(y[test], predicted(spec, refits[("permuted", p)].outputs)))
        records.append(record)
    model = refits[FINAL].model
    if spec.learner == "svm":
        oof = _inner_outputs(chosen[FINAL], splits[FINAL], len(y), n_classes)
        model = calibration.PlattScaled(model, calibration.fit_sigmoids(oof, y))
    return Trained(
        probabilities, records, pd.concat(log, ignore_index=True).astype({"fold": str}),
        np.concatenate([rows for rows, _, _ in inner]),
        np.concatenate([np.full(len(rows), p) for rows, p, _ in inner]),
        np.vstack([proba[rows] for rows, _, proba in inner]),
        model, chosen[FINAL].params,
    )


def _search(job: _Job, parts: dict[Any, np.ndarray], splits: dict[Any, list[Split]]) -> tuple[
        dict[Any, _Candidate], dict[Any, list[_Candidate]], list[pd.DataFrame]]:
    """The randomized then grid search of every part, on its inner splits: each part's chosen
    candidate, every candidate it fitted, and the search log."""
    spec = job.spec
    random = list(ParameterSampler(learners.distributions(spec.space), spec.n_iter, random_state=job.seed))
    halved, points = {p: [] for p in parts}, {p: random for p in parts}
    if spec.halving:
        rung = spec.first_rung()
        halved = job.score({p: [point | rung for point in random] for p in parts}, splits, "halving")
        points = {p: [random[i] for i in _best(halved[p], -(-len(random) // spec.halving))] for p in parts}
    searched = job.score(points, splits, "random")
    grids = {p: _refinement(spec, searched[p]) for p in parts}
    fresh = job.score({p: [g for g in grid if _find(searched[p], g) is None] for p, grid in grids.items()},
                      splits, "grid")
    chosen, log = {}, []
    for p, grid in grids.items():
        candidates = [_find(searched[p], g) or _find(fresh[p], g) for g in grid]
        chosen[p] = candidates[int(np.argmax([c.mean for c in candidates]))]  # ties: the first, as scikit-learn
        log.append(_log(halved[p] + searched[p] + [replace(c, phase="grid") for c in candidates],
                        "final" if p == FINAL else str(p)))
    return chosen, {p: halved[p] + searched[p] + fresh[p] for p in parts}, log


def _best(scored: list[_Candidate], n: int) -> list[int]:
    """Positions of the `n` best candidates, in their original order (ties: the earlier)."""
    ranked = sorted(range(len(scored)), key=lambda i: -scored[i].mean)
    return sorted(ranked[:n])


def learning_curve(
    spec: SearchSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray, fold: np.ndarray, sizes: list[int],
    n_classes: int, inner_k: int, scoring: str, seed: int, progress: Any = None, trained: np.ndarray | None = None,
) -> pd.DataFrame:
    """Outer-fold figures when each outer fold trains on only n of its training speakers, for each
    n of `sizes`: how accuracy grows with the speakers a corpus has. The n speakers are the first n
    of a seeded order of the fold's training speakers (a larger n adds speakers to a smaller n's);
    the search is `train`'s, on the inner folds of those speakers; the test speakers are the fold's.
    A take's guess is its most probable class, as in `train`'s figures (an SVM's probabilities from
    sigmoids on its inner out-of-fold decisions). `trained`: `train`'s out-of-fold most probable
    class of every take for the same learner and table; n = all of a fold's training speakers is
    exactly that run (the same rows, inner folds and seeds), so those points are read from it.
    One row per fold and size: fold, speakers, takes, accuracy, uar."""
    outer = [int(i) for i in np.unique(fold)]
    rng = np.random.default_rng(seed)
    parts, whole = {}, {}
    for p in outer:
        order = rng.permutation(np.unique(groups[fold != p]))
        for n in sizes:
            if not inner_k <= n <= len(order):
                raise ValueError(f"{n} training speakers: fold {p} has {len(order)}, and the inner search needs "
                                 f"at least {inner_k} (train.inner_folds)")
            rows = np.flatnonzero((fold != p) & np.isin(groups, order[:n]))
            if trained is not None and n == len(order):
                whole[(p, n)] = rows
            else:
                parts[(p, n)] = rows
    splits = {k: [(rows[a], rows[b]) for a, b in inner_folds(groups[rows], inner_k)] for k, rows in parts.items()}
    job = _Job(spec, X, y, n_classes, seed, scoring, progress)
    chosen, _, _ = _search(job, parts, splits)
    tests = {k: np.flatnonzero(fold == k[0]) for k in parts | whole}
    refits = job.refit(chosen, parts, tests, {})
    guesses = {k: job.probabilities(refits[k].outputs, _inner_outputs(chosen[k], splits[k], len(y), n_classes),
                                    parts[k]).argmax(axis=1) for k in parts}
    guesses |= {k: trained[tests[k]] for k in whole}
    rows = []
    for (p, n), part in sorted((parts | whole).items()):
        truth, guess = y[tests[p, n]], guesses[p, n]
        rows.append({"fold": p, "speakers": n, "takes": len(part), "accuracy": accuracy_score(truth, guess),
                     "uar": metrics.uar(truth, guess)})
    return pd.DataFrame(rows)


def _refinement(spec: SearchSpec, scored: list[_Candidate]) -> list[dict[str, Any]]:
    """The grid around a part's best random candidate (the first best, as scikit-learn ranks)."""
    best = scored[int(np.argmax([c.mean for c in scored]))]
    return list(ParameterGrid(learners.refinement_grid(best.params, spec.grid, spec.space)))


def _find(candidates: list[_Candidate], params: dict[str, Any]) -> _Candidate | None:
    return next((c for c in candidates if c.params == params), None)


def _permuted_labels(y: np.ndarray, parts: dict[int, np.ndarray], outer: list[int], seed: int) -> dict[int, np.ndarray]:
    """Per outer fold, the labels with that fold's training part shuffled (one seeded stream, fold order)."""
    rng = np.random.default_rng(seed)
    out = {}
    for p in outer:
        labels = y.copy()
        labels[parts[p]] = rng.permutation(y[parts[p]])
        out[p] = labels
    return out


def _inner_outputs(chosen: _Candidate, splits: list[Split], n_rows: int, n_classes: int) -> np.ndarray:
    """The chosen candidate's out-of-fold outputs on its part (NaN rows outside the part)."""
    out = np.full((n_rows, n_classes), np.nan)
    for index, (_, test) in enumerate(splits):
        out[test] = chosen.outputs[index]
    return out


@dataclass
class _Refit:
    outputs: np.ndarray | None
    fit_s: float
    model: Any = None


class _Job:
    """The fits of one learner on one table, sent out in batches through joblib."""

    def __init__(self, spec: SearchSpec, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int,
                 scoring: str, progress: Any) -> None:
        self.spec, self.X, self.y, self.n_classes, self.seed = spec, X, y, n_classes, seed
        self.scoring, self.progress = scoring, progress

    def _run(self, tasks: list, fits: list[int]) -> list:
        """The tasks' results in order; the progress bar counts the fits (`fits[i]` in task i)."""
        if self.progress is not None:
            self.progress.total = (self.progress.total or 0) + sum(fits)
            self.progress.refresh()
        results = []
        for result, n in zip(Parallel(return_as="generator")(tasks), fits):
            results.append(result)
            if self.progress is not None:
                self.progress.update(n)
        return results

    def score(self, candidates: dict[Any, list[dict[str, Any]]], splits: dict[Any, list[Split]],
              phase: str) -> dict[Any, list[_Candidate]]:
        """Every candidate of every part on each of that part's inner splits (one task per split)."""
        keys = [(p, s) for p, points in candidates.items() if points for s in range(len(splits[p]))]
        results = self._run([
            delayed(_fit_and_score)(self.spec, candidates[p], self.X, self.y, *splits[p][s], self.seed,
                                    self.scoring, self.n_classes) for p, s in keys
        ], [len(candidates[p]) for p, _ in keys])
        out = {p: [_Candidate(point, phase, [], []) for point in points] for p, points in candidates.items()}
        for (p, s), scored in zip(keys, results):
            for candidate, (score, fit_s, outputs) in zip(out[p], scored):
                candidate.scores.append(score)
                candidate.fit_s.append(fit_s)
                candidate.outputs[s] = outputs
        return out

    def refit(self, chosen: dict[Any, _Candidate], parts: dict[Any, np.ndarray], tests: dict[Any, np.ndarray],
              permuted: dict[Any, np.ndarray]) -> dict[Any, _Refit]:
        """Each part's chosen point refit on the whole part (scored on its `tests` rows; the final
        one kept as the model), and on the part with shuffled labels."""
        fits = [(p, p, self.y) for p in parts] + [(("permuted", p), p, permuted[p]) for p in permuted]
        results = self._run([
            delayed(_refit)(self.spec, chosen[p].params, self.X, labels, parts[p], tests[p],
                            self.seed, self.n_classes, keep_model=p == FINAL)
            for _, p, labels in fits
        ], [1] * len(fits))
        return {key: result for (key, _, _), result in zip(fits, results)}

    def probabilities(self, outputs: np.ndarray, inner_oof: np.ndarray, part: np.ndarray) -> np.ndarray:
        """Class probabilities from a refit's outputs: an SVM's decision values through sigmoids
        fitted on its part's inner out-of-fold decision values; the others' as they are."""
        if self.spec.learner != "svm":
            return outputs
        return calibration.probabilities(calibration.fit_sigmoids(inner_oof[part], self.y[part]), outputs)

    def cross_fitted(self, inner_oof: np.ndarray, splits: list[Split]) -> np.ndarray:
        """Inner out-of-fold probabilities; an SVM's rows of each inner fold through sigmoids
        fitted on the other inner folds' rows only."""
        if self.spec.learner != "svm":
            return inner_oof
        out = np.full_like(inner_oof, np.nan)
        for train, test in splits:
            out[test] = self.probabilities(inner_oof[test], inner_oof, train)
        return out


def _fit_and_score(
    spec: SearchSpec, points: list[dict[str, Any]], X: np.ndarray, y: np.ndarray, train: np.ndarray,
    test: np.ndarray, seed: int, scoring: str, n_classes: int,
) -> list[tuple[float, float, np.ndarray]]:
    """Each candidate of `points` on one inner split: (score, fit seconds, outputs on the split's
    test takes). The search tunes only the classifier, so the steps before it (imputation,
    scaling, the row-space projection) are fitted once per split and shared by every candidate,
    their time split evenly between them. The score comes from the learner's prediction read
    off the outputs (`predicted`), so the test takes go through the model once, not twice."""
    model = learners.build(spec.learner, seed, spec.fixed)
    out = []
    with _one_process():
        started = time.perf_counter()
        train_rows, test_rows = X[train], X[test]
        if len(model) > 1:  # XGBoost's pipeline is the classifier alone
            train_rows = model[:-1].fit_transform(train_rows, y[train])
            test_rows = model[:-1].transform(test_rows)
        shared_s = (time.perf_counter() - started) / len(points)
        for point in points:
            head = clone(model[-1]).set_params(**{k.removeprefix("clf__"): v for k, v in point.items()})
            started = time.perf_counter()
            head.fit(train_rows, y[train])
            fit_s = shared_s + time.perf_counter() - started
            outputs = _outputs(spec, head, test_rows, n_classes)
            out.append((SCORERS[scoring](y[test], predicted(spec, outputs)), fit_s, outputs))
    return out


def _one_process() -> Any:
    """A task is one process's work: a learner's own joblib loop (the forest's trees) must not
    send its pieces back to the cluster (Dask's joblib backend would, one task per tree)."""
    return parallel_config(backend="sequential")


def predicted(spec: SearchSpec, outputs: np.ndarray) -> np.ndarray:
    """What the model's `predict` gives, from its `_outputs`: an SVM's one-vs-one vote winner,
    the others' most probable class."""
    if spec.learner == "svm":
        return calibration.votes_winner(outputs)
    return outputs.argmax(axis=1)


def _refit(
    spec: SearchSpec, params: dict[str, Any], X: np.ndarray, labels: np.ndarray, train: np.ndarray,
    test: np.ndarray, seed: int, n_classes: int, keep_model: bool,
) -> _Refit:
    model = learners.build(spec.learner, seed, spec.fixed).set_params(**params)
    started = time.perf_counter()
    with _one_process():
        model.fit(X[train], labels[train])
    fit_s = time.perf_counter() - started
    if keep_model:
        return _Refit(None, fit_s, model)
    return _Refit(_outputs(spec, model, X[test], n_classes), fit_s)


def _outputs(spec: SearchSpec, model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """An SVM's one-vs-rest decision values (calibrated later), the others' class probabilities;
    over all `n_classes`, even those absent from training (NaN decisions, zero probability)."""
    if spec.learner == "svm":
        return calibration.decisions(model, X, n_classes)
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    return proba


def _log(candidates: list[_Candidate], fold: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "phase": [c.phase for c in candidates],
            "params": [repr(c.params) for c in candidates],
            "mean_score": [c.mean for c in candidates],
            "std_score": [float(np.std(c.scores)) for c in candidates],
            "mean_fit_s": [float(np.mean(c.fit_s)) for c in candidates],
            "fold": fold,
        }
    )


def to_plain(value: Any) -> Any:
    """NumPy scalars to plain Python, for JSON."""
    return value.item() if isinstance(value, np.generic) else value

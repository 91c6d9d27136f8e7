"""The randomized-then-grid hyperparameter search of one learner, on inner speaker-grouped folds.

A search space is data (`SearchSpec`, from a `learners.<name>` block); every part's candidates
are scored on that part's inner splits, all fits of a phase sent out as one batch of tasks
(joblib: local processes or Dask, see `compute`), one task per inner split. `evaluation` runs it
inside each outer training part and for the final model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.model_selection import ParameterGrid, ParameterSampler

from pipeline import checks
from pipeline.learn import calibration, fitcache, learners, metrics
from pipeline.checks import SettingError

Split = tuple[np.ndarray, np.ndarray]

# What the inner folds choose by (`train.scoring`), from true and predicted labels.
SCORERS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "balanced_accuracy": metrics.uar,
    "accuracy": accuracy_score,
    "f1_macro": metrics.macro_f1,
}


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
            raise SettingError(f"{block}.n_iter: {self.n_iter!r} is not allowed; it must be a whole number >= 1")
        if not isinstance(self.space, dict) or not self.space:
            raise SettingError(f"{block}.space: {self.space!r} is not allowed; it must map parameters to distributions")
        try:
            learners.distributions(self.space)
            known = learners.build(self.learner, 0, self.fixed).get_params()
        except ValueError as error:
            raise SettingError(f"{block}: {error}") from None
        unknown = sorted(set(self.space) - set(known))
        off_classifier = sorted(p for p in set(self.space) - set(unknown) if not p.startswith("clf__"))
        if off_classifier:  # the steps before the classifier are fitted once per split, for every candidate
            raise SettingError(f"{block}.space: {', '.join(off_classifier)}: the search tunes the classifier's "
                             f"parameters (clf__...); set other steps' in {block}.fixed")
        if unknown:
            raise SettingError(f"{block}.space: {', '.join(unknown)} is not a parameter of the {self.learner} pipeline "
                             f"(e.g. {', '.join(k for k in sorted(known) if k.startswith('clf__'))[:120]}...)")
        if self.halving is not None:
            resource = learners.kind(self.learner).resource
            grows = resource is not None and checks.is_int(known.get(resource)) and resource not in self.space
            if not (checks.is_int(self.halving) and self.halving >= 2):
                raise SettingError(f"{block}.halving: {self.halving!r} is not allowed; it must be a whole number >= 2")
            if resource is None:
                raise SettingError(f"{block}.halving: the {self.learner} learner grows nothing halving could give a "
                                 "fraction of (trees, boosting rounds): leave it out")
            if not grows or known[resource] < self.halving:
                raise SettingError(f"{block}.halving: halves over {resource} (trees, boosting rounds), which the "
                                 f"{self.learner} pipeline must have fixed at >= {self.halving}, not searched")
        for parameter, rule in (self.grid or {}).items():
            if parameter not in self.space:
                raise SettingError(f"{block}.grid.{parameter}: not in {block}.space (a grid refines searched parameters)")
            if not (isinstance(rule, dict) and len(rule) == 1 and (
                    (checks.is_number(rule.get("factor")) and rule["factor"] > 1)
                    or (checks.is_number(rule.get("step")) and rule["step"] > 0))):
                raise SettingError(f"{block}.grid.{parameter}: {rule!r} is not allowed; it must be "
                                 "{factor: F} with F > 1 or {step: S} with S > 0")

    @classmethod
    def from_params(cls, learner: str, params: dict) -> SearchSpec:
        """The spec of the `learners.<learner>` block."""
        block = params["learners"][learner]
        checks.only_known(f"learners.{learner}", block, ["n_iter", "space", "grid", "fixed", "halving"])
        return cls(learner=learner, space=block.get("space"), n_iter=block.get("n_iter"), grid=block.get("grid") or {},
                   fixed=block.get("fixed") or {}, halving=block.get("halving"))

    def first_rung(self) -> dict[str, int]:
        """The halving's first resource: 1/halving of the fixed trees or boosting rounds."""
        resource = learners.kind(self.learner).resource
        return {resource: learners.build(self.learner, 0, self.fixed).get_params()[resource] // self.halving}

    @property
    def decision_values(self) -> bool:
        """The learner answers with decision values, read through sigmoids (`learners.Learner`)."""
        return learners.kind(self.learner).decision_values


@dataclass
class Candidate:
    """One point of one search, scored on that part's inner folds."""

    params: dict[str, Any]
    phase: str
    scores: list[float]
    fit_s: list[float]
    outputs: dict[int, np.ndarray] = field(default_factory=dict)  # inner split -> scores of its test takes

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))


def search(job: Job, parts: dict[Any, np.ndarray], splits: dict[Any, list[Split]]) -> tuple[
        dict[Any, Candidate], dict[Any, list[Candidate]], dict[Any, pd.DataFrame]]:
    """The randomized then grid search of every part, on its inner splits (with `halving`, the
    random candidates all first on a fraction of the trees or rounds, the best again with all;
    a grid point already scored is not fitted again): each part's chosen candidate, every
    candidate it fitted, and its search log."""
    spec = job.spec
    n_splits = {p: len(splits[p]) for p in parts}
    grid_fits = 3 ** len(spec.grid) * sum(n_splits.values())  # at most three values per refined parameter
    survivors = -(-spec.n_iter // spec.halving) if spec.halving else 0
    expect(job.progress, (spec.n_iter + survivors) * sum(n_splits.values()) + grid_fits)
    random = list(ParameterSampler(learners.distributions(spec.space), spec.n_iter, random_state=job.seed))
    halved, points = {p: [] for p in parts}, {p: random for p in parts}
    if spec.halving:
        rung = spec.first_rung()
        halved = job.score({p: [point | rung for point in random] for p in parts}, splits, "halving")
        points = {p: [random[i] for i in _best(halved[p], -(-len(random) // spec.halving))] for p in parts}
    searched = job.score(points, splits, "random")
    grids = {p: _refinement(spec, searched[p]) for p in parts}
    unscored = {p: [g for g in grid if _find(searched[p], g) is None] for p, grid in grids.items()}
    expect(job.progress, sum(len(points) * n_splits[p] for p, points in unscored.items()) - grid_fits)
    fresh = job.score(unscored, splits, "grid")
    chosen, log = {}, {}
    for p, grid in grids.items():
        candidates = [_find(searched[p], g) or _find(fresh[p], g) for g in grid]
        chosen[p] = candidates[int(np.argmax([c.mean for c in candidates]))]  # ties: the first, as scikit-learn
        log[p] = _log(halved[p] + searched[p] + [replace(c, phase="grid") for c in candidates])
    return chosen, {p: halved[p] + searched[p] + fresh[p] for p in parts}, log


def expect(progress: Any, fits: int) -> None:
    """Add `fits` to the progress bar's total. The planned fits are added before the first is
    made (a grid point scored already is taken off again), so the percentage only grows."""
    if progress is not None and fits:
        progress.total = (progress.total or 0) + fits
        progress.refresh()


def _best(scored: list[Candidate], n: int) -> list[int]:
    """Positions of the `n` best candidates, in their original order (ties: the earlier)."""
    ranked = sorted(range(len(scored)), key=lambda i: -scored[i].mean)
    return sorted(ranked[:n])


def _refinement(spec: SearchSpec, scored: list[Candidate]) -> list[dict[str, Any]]:
    """The grid around a part's best random candidate (the first best, as scikit-learn ranks)."""
    best = scored[int(np.argmax([c.mean for c in scored]))]
    return list(ParameterGrid(learners.refinement_grid(best.params, spec.grid, spec.space)))


def _find(candidates: list[Candidate], params: dict[str, Any]) -> Candidate | None:
    return next((c for c in candidates if c.params == params), None)


def inner_outputs(chosen: Candidate, splits: list[Split], n_rows: int, n_classes: int) -> np.ndarray:
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


class Job:
    """The fits of one learner on one table, sent out in batches through joblib."""

    def __init__(self, spec: SearchSpec, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int,
                 scoring: str, progress: Any) -> None:
        self.spec, self.X, self.y, self.n_classes, self.seed = spec, X, y, n_classes, seed
        self.scoring, self.progress = scoring, progress
        self.cache = fitcache.folder()  # read here: worker processes may have started before it was set
        self.cached = {"hits": 0, "fits": 0}  # scored fits read from the cache, and made

    def _run(self, tasks: list, fits: list[int]) -> list:
        """The tasks' results in order; the progress bar counts the fits (`fits[i]` in task i; its
        total was planned with `expect`)."""
        results = []
        for result, n in zip(Parallel(return_as="generator")(tasks), fits):
            results.append(result)
            if self.progress is not None:
                self.progress.update(n)
        return results

    def score(self, candidates: dict[Any, list[dict[str, Any]]], splits: dict[Any, list[Split]],
              phase: str) -> dict[Any, list[Candidate]]:
        """Every candidate of every part on each of that part's inner splits (one task per split)."""
        keys = [(p, s) for p, points in candidates.items() if points for s in range(len(splits[p]))]
        results = self._run([
            delayed(_fit_and_score)(self.spec, candidates[p], self.X, self.y, *splits[p][s], self.seed,
                                    self.scoring, self.n_classes, self.cache) for p, s in keys
        ], [len(candidates[p]) for p, _ in keys])
        out = {p: [Candidate(point, phase, [], []) for point in points] for p, points in candidates.items()}
        for (p, s), scored in zip(keys, results):
            for candidate, (score, fit_s, outputs, hit) in zip(out[p], scored):
                candidate.scores.append(score)
                candidate.fit_s.append(fit_s)
                candidate.outputs[s] = outputs
                self.cached["hits" if hit else "fits"] += 1
        return out

    def refit(self, chosen: dict[Any, Candidate], parts: dict[Any, np.ndarray], tests: dict[Any, np.ndarray],
              permuted: dict[Any, np.ndarray], keep: Any = None, probes: dict[Any, np.ndarray] | None = None,
              ) -> dict[Any, _Refit]:
        """Each part's chosen point refit on the whole part (scored on its `tests` rows, then on its
        `probes` rows, apart; part `keep`'s fitted model returned), and on the part with shuffled labels."""
        fits = [(p, p, self.y) for p in parts] + [(("permuted", p), p, permuted[p]) for p in permuted]
        none = np.empty(0, dtype=int)
        results = self._run([
            delayed(_refit)(self.spec, chosen[p].params, self.X, labels, parts[p], tests[p],
                            self.seed, self.n_classes, keep_model=p == keep,
                            probe=(probes or {}).get(key, none), cache=self.cache)
            for key, p, labels in fits
        ], [1] * len(fits))
        return {key: result for (key, _, _), result in zip(fits, results)}

    def probabilities(self, outputs: np.ndarray, inner_oof: np.ndarray, part: np.ndarray) -> np.ndarray:
        """Class probabilities from a refit's outputs: a decision-value learner's (the SVM's) values
        through sigmoids fitted on its part's inner out-of-fold decision values; the others' as they are."""
        if not self.spec.decision_values:
            return outputs
        return calibration.probabilities(calibration.fit_sigmoids(inner_oof[part], self.y[part]), outputs)

    def cross_fitted(self, inner_oof: np.ndarray, splits: list[Split]) -> np.ndarray:
        """Inner out-of-fold probabilities; a decision-value learner's rows of each inner fold through
        sigmoids fitted on the other inner folds' rows only."""
        if not self.spec.decision_values:
            return inner_oof
        out = np.full_like(inner_oof, np.nan)
        for train, test in splits:
            out[test] = self.probabilities(inner_oof[test], inner_oof, train)
        return out


def _fit_and_score(
    spec: SearchSpec, points: list[dict[str, Any]], X: np.ndarray, y: np.ndarray, train: np.ndarray,
    test: np.ndarray, seed: int, scoring: str, n_classes: int, cache: Path | None = None,
) -> list[tuple[float, float, np.ndarray, bool]]:
    """Each candidate of `points` on one inner split: (score, fit seconds, outputs on the split's
    test takes, whether it came from the `cache` of earlier fits, `fitcache`). The search tunes
    only the classifier, so the steps before it (imputation, scaling, the row-space projection)
    are fitted once per split and shared by every candidate (not at all when every candidate is
    cached), their time split evenly between them. The score comes from the learner's prediction
    read off the outputs (`predicted`), so the test takes go through the model once, not twice."""
    split = fitcache.split_key((spec.learner, sorted(spec.fixed.items()), seed, scoring, n_classes),
                               X[train], y[train], X[test]) if cache else ""
    found = {i: fitcache.load(cache, fitcache.key(split, point)) for i, point in enumerate(points)}
    missing = [i for i, hit in found.items() if hit is None]
    model = learners.build(spec.learner, seed, spec.fixed)
    out = {i: (*hit, True) for i, hit in found.items() if hit is not None}
    with _one_process():
        started = time.perf_counter()
        train_rows, test_rows = X[train], X[test]
        if missing and len(model) > 1:  # XGBoost's pipeline is the classifier alone
            train_rows = model[:-1].fit_transform(train_rows, y[train])
            test_rows = model[:-1].transform(test_rows)
        shared_s = (time.perf_counter() - started) / max(len(missing), 1)
        for i in missing:
            head = clone(model[-1]).set_params(**{k.removeprefix("clf__"): v for k, v in points[i].items()})
            started = time.perf_counter()
            head.fit(train_rows, y[train])
            fit_s = shared_s + time.perf_counter() - started
            outputs = _outputs(spec, head, test_rows, n_classes)
            score = SCORERS[scoring](y[test], predicted(spec, outputs))
            fitcache.store(cache, fitcache.key(split, points[i]), score, fit_s, outputs)
            out[i] = (score, fit_s, outputs, False)
    return [out[i] for i in range(len(points))]


def _one_process() -> Any:
    """A task is one process's work: a learner's own joblib loop (the forest's trees) must not
    send its pieces back to the cluster (Dask's joblib backend would, one task per tree)."""
    return parallel_config(backend="sequential")


def predicted(spec: SearchSpec, outputs: np.ndarray) -> np.ndarray:
    """What the model's `predict` gives, from its `_outputs`: a decision-value learner's one-vs-one vote winner,
    the others' most probable class."""
    if spec.decision_values:
        return calibration.votes_winner(outputs)
    return outputs.argmax(axis=1)


def fitted(spec: SearchSpec, point: dict[str, Any], X: np.ndarray, y: np.ndarray, seed: int,
           cache: Path | None) -> tuple[Any, float]:
    """The learner at `point` fitted on (X, y), and the fit's seconds; from the `cache` when an
    earlier run made the same fit (`fitcache`)."""
    name = fitcache.key(fitcache.split_key((spec.learner, sorted(spec.fixed.items()), seed), X, y), point) \
        if cache else ""
    found = fitcache.load_model(cache, name)
    if found is not None:
        return found
    model = learners.build(spec.learner, seed, spec.fixed).set_params(**point)
    started = time.perf_counter()
    with _one_process():
        model.fit(X, y)
    fit_s = time.perf_counter() - started
    fitcache.store_model(cache, name, model, fit_s)
    return model, fit_s


def _refit(
    spec: SearchSpec, params: dict[str, Any], X: np.ndarray, labels: np.ndarray, train: np.ndarray,
    test: np.ndarray, seed: int, n_classes: int, keep_model: bool, probe: np.ndarray, cache: Path | None,
) -> _Refit:
    model, fit_s = fitted(spec, params, X[train], labels[train], seed, cache)
    if keep_model:
        return _Refit(None, fit_s, model)
    outputs = _outputs(spec, model, X[test], n_classes)  # the probe rows apart: the test rows' figures unchanged
    return _Refit(np.vstack([outputs, _outputs(spec, model, X[probe], n_classes)]) if len(probe) else outputs, fit_s)


def _outputs(spec: SearchSpec, model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """A decision-value learner's one-vs-rest decision values (calibrated later), the others' class probabilities;
    over all `n_classes`, even those absent from training (NaN decisions, zero probability)."""
    if spec.decision_values:
        return calibration.decisions(model, X, n_classes)
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    return proba


def _log(candidates: list[Candidate]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "phase": [c.phase for c in candidates],
            "params": [repr(c.params) for c in candidates],
            "mean_score": [c.mean for c in candidates],
            "std_score": [float(np.std(c.scores)) for c in candidates],
            "mean_fit_s": [float(np.mean(c.fit_s)) for c in candidates],
        }
    )

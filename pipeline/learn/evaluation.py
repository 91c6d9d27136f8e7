"""Speaker-independent evaluation: actor-grouped outer folds around a nested hyperparameter search.

Inside each outer training part, the randomized-then-grid search (`search`) runs on inner
actor-grouped folds; the outer test speakers are never seen by it. Reported figures come from
the outer folds only; the final model is the same search on every take, refit on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GroupKFold

from pipeline import checks
from pipeline.learn import calibration, metrics
from pipeline.learn.normalisation import NORMALISATIONS
from pipeline.learn.search import SCORERS, Job, SearchSpec, Split, expect, inner_outputs, predicted, search
from pipeline.checks import SettingError


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
        raise SettingError(f"{len(np.unique(groups))} speakers cannot fill {n_folds} inner folds")
    return list(GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=groups))


@dataclass(frozen=True)
class TrainSettings:
    """The `train` params block, checked before any fit (`checks`)."""

    seed: int
    outer_folds: int
    inner_folds: int
    scoring: str
    permutation_check: bool
    augmented: tuple[str, ...] = ("none",)  # the normalisations whose models train on augmented copies too

    def __post_init__(self) -> None:
        checks.check("train", self, _TRAIN_RULES)


_TRAIN_RULES: list[checks.Rule] = [
    ("seed", "a whole number >= 0", lambda t: checks.is_int(t.seed) and t.seed >= 0),
    ("outer_folds", "a whole number >= 2", lambda t: checks.is_int(t.outer_folds) and t.outer_folds >= 2),
    ("inner_folds", "a whole number >= 2", lambda t: checks.is_int(t.inner_folds) and t.inner_folds >= 2),
    ("scoring", "one of " + ", ".join(SCORERS), lambda t: t.scoring in SCORERS),
    ("permutation_check", "true or false", lambda t: isinstance(t.permutation_check, bool)),
    ("augmented", f"a list of normalisations ({', '.join(NORMALISATIONS)})",
     lambda t: isinstance(t.augmented, tuple) and set(t.augmented) <= set(NORMALISATIONS)),
]


FINAL = -1  # the part holding every take: its search chooses the deployed model


@dataclass(frozen=True)
class Copies:
    """Extra training rows: perturbed copies of takes (`X`), each of the take at row `of`. A copy
    trains wherever its take trains and is never a test or validation row, so no fit sees a copy
    of a take it is scored on."""

    X: np.ndarray  # (n_copies, n_features)
    of: np.ndarray  # (n_copies,) row of the copied take
    augmented: int = 0  # how many of them are heard off the studio (`augment`), not speed-perturbed


@dataclass(frozen=True)
class Probes:
    """Rows no fit trains on, scored by the model of the outer fold in `fold` (their take's): the
    takes heard under other recording conditions (`extract.conditions`)."""

    X: np.ndarray  # (n_probes, n_features)
    fold: np.ndarray  # (n_probes,)


@dataclass(frozen=True)
class FitRows:
    """The rows fits draw from: the takes, then their copies; `take[i]` is the take row i is or copies."""

    X: np.ndarray
    take: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray, copies: Copies | None) -> FitRows:
        if copies is None or not len(copies.of):
            return cls(X, np.arange(len(X)))
        return cls(np.vstack([X, copies.X]), np.concatenate([np.arange(len(X)), copies.of]))

    def grown(self, takes: np.ndarray) -> np.ndarray:
        """The rows a fit on these (sorted) takes trains on: the takes, then their copies."""
        return np.flatnonzero(np.isin(self.take, takes))


def _nested_search(
    spec: SearchSpec, fit_rows: FitRows, y: np.ndarray, groups: np.ndarray, parts: dict[Any, np.ndarray],
    n_classes: int, inner_k: int, scoring: str, seed: int, progress: Any, probes: np.ndarray,
) -> tuple[Job, dict[Any, list[Split]], tuple]:
    """`search` of every part on its inner speaker-grouped folds (each inner training side grown
    by its takes' copies): the job to refit with (its rows: the fit rows, then the `probes`), the
    parts' inner splits (take rows) and `search`'s results."""
    splits = {k: [(rows[a], rows[b]) for a, b in inner_folds(groups[rows], inner_k)] for k, rows in parts.items()}
    job = Job(spec, np.vstack([fit_rows.X, probes]), y[fit_rows.take], n_classes, seed, scoring, progress)
    grown = {k: [(fit_rows.grown(a), b) for a, b in s] for k, s in splits.items()}
    return job, splits, search(job, parts, grown)


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
    fit_cache: dict[str, int]  # scored fits read from the cache of earlier runs (hits) and made (fits)
    probe_probabilities: np.ndarray  # (n_probes, n_classes), each row from its fold's model


def train(
    spec: SearchSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray, fold: np.ndarray, n_classes: int,
    inner_k: int, scoring: str, seed: int, permutation_check: bool, progress: Any = None, copies: Copies | None = None,
    probes: Probes | None = None,
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
    `copies`: extra rows every fit trains on beside the takes they copy (`Copies`); `probes`: rows
    each outer fold's model scores and nothing trains on (`Probes`).
    """
    outer = [int(i) for i in np.unique(fold)]
    if len(outer) < 2:
        raise SettingError(f"the takes fill {len(outer)} outer fold(s); at least 2 are needed")
    parts = {i: np.flatnonzero(fold != i) for i in outer} | {FINAL: np.arange(len(y))}
    expect(progress, len(parts) + (len(outer) if permutation_check else 0))  # the refits, planned first
    fit_rows = FitRows.of(X, copies)
    probes = probes or Probes(np.empty((0, X.shape[1])), np.empty(0, dtype=int))
    job, splits, (chosen, scored, log) = _nested_search(spec, fit_rows, y, groups, parts, n_classes, inner_k,
                                                        scoring, seed, progress, probes.X)
    permuted = _permuted_labels(y, parts, outer, seed) if permutation_check else {}
    refits = job.refit(chosen, {p: fit_rows.grown(rows) for p, rows in parts.items()},
                       {p: np.flatnonzero(fold == p) for p in parts},
                       {p: labels[fit_rows.take] for p, labels in permuted.items()}, keep=FINAL,
                       probes={p: len(fit_rows.X) + np.flatnonzero(probes.fold == p) for p in outer})
    probabilities = np.full((len(y), n_classes), np.nan)
    probe_probabilities = np.full((len(probes.fold), n_classes), np.nan)
    records, inner = [], []
    for p in outer:
        test = np.flatnonzero(fold == p)
        oof = inner_outputs(chosen[p], splits[p], len(y), n_classes)
        outputs = job.probabilities(refits[p].outputs, oof, parts[p])
        probabilities[test], probe_probabilities[probes.fold == p] = outputs[: len(test)], outputs[len(test):]
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
    if spec.decision_values:
        oof = inner_outputs(chosen[FINAL], splits[FINAL], len(y), n_classes)
        model = calibration.PlattScaled(model, calibration.fit_sigmoids(oof, y))
    return Trained(
        probabilities, records, pd.concat([log[p].assign(fold="final" if p == FINAL else str(p)) for p in parts], ignore_index=True),
        np.concatenate([rows for rows, _, _ in inner]),
        np.concatenate([np.full(len(rows), p) for rows, p, _ in inner]),
        np.vstack([proba[rows] for rows, _, proba in inner]),
        model, chosen[FINAL].params, job.cached, probe_probabilities,
    )


@dataclass(frozen=True)
class CurveSettings:
    """The `learning_curve` block: one learner's outer-fold figures against its training speakers."""

    modality: str
    learner: str
    normalisation: str
    speakers: tuple[int, ...]

    def __post_init__(self) -> None:
        checks.check("learning_curve", self, [
            ("speakers", "a list of whole numbers", lambda c: bool(c.speakers) and all(map(checks.is_int, c.speakers))),
        ])

    @classmethod
    def from_params(cls, params: dict) -> CurveSettings:
        block = params["learning_curve"]
        if not isinstance(block.get("speakers"), list):
            raise SettingError(f"learning_curve.speakers: {block.get('speakers')!r} is not allowed; it must be a list "
                             "of whole numbers")
        return checks.from_block("learning_curve", cls, block)


def learning_curve(
    spec: SearchSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray, fold: np.ndarray, sizes: list[int],
    n_classes: int, inner_k: int, scoring: str, seed: int, progress: Any = None, trained: np.ndarray | None = None,
    copies: Copies | None = None,
) -> pd.DataFrame:
    """Outer-fold figures when each outer fold trains on only n of its training speakers, for each
    n of `sizes`: how accuracy grows with the speakers a corpus has. The n speakers are the first n
    of a seeded order of the fold's training speakers (a larger n adds speakers to a smaller n's);
    the search is `train`'s, on the inner folds of those speakers; the test speakers are the fold's.
    A take's guess is its most probable class, as in `train`'s figures (an SVM's probabilities from
    sigmoids on its inner out-of-fold decisions). `trained`: `train`'s out-of-fold most probable
    class of every take for the same learner and table; n = all of a fold's training speakers is
    exactly that run (the same rows, inner folds and seeds), so those points are read from it.
    `copies` train beside their takes, as in `train`. One row per fold and size: fold, speakers,
    takes, accuracy, uar."""
    outer = [int(i) for i in np.unique(fold)]
    rng = np.random.default_rng(seed)
    parts, whole = {}, {}
    for p in outer:
        order = rng.permutation(np.unique(groups[fold != p]))
        for n in sizes:
            if not inner_k <= n <= len(order):
                raise SettingError(f"{n} training speakers: fold {p} has {len(order)}, and the inner search needs "
                                 f"at least {inner_k} (train.inner_folds)")
            rows = np.flatnonzero((fold != p) & np.isin(groups, order[:n]))
            if trained is not None and n == len(order):
                whole[(p, n)] = rows
            else:
                parts[(p, n)] = rows
    expect(progress, len(parts))  # the refits, planned first
    fit_rows = FitRows.of(X, copies)
    job, splits, (chosen, _, _) = _nested_search(spec, fit_rows, y, groups, parts, n_classes, inner_k, scoring,
                                                 seed, progress, np.empty((0, X.shape[1])))
    tests = {k: np.flatnonzero(fold == k[0]) for k in parts | whole}
    refits = job.refit(chosen, {k: fit_rows.grown(rows) for k, rows in parts.items()}, tests, {})
    guesses = {k: job.probabilities(refits[k].outputs, inner_outputs(chosen[k], splits[k], len(y), n_classes),
                                    parts[k]).argmax(axis=1) for k in parts}
    guesses |= {k: trained[tests[k]] for k in whole}
    rows = []
    for (p, n), part in sorted((parts | whole).items()):
        truth, guess = y[tests[p, n]], guesses[p, n]
        rows.append({"fold": p, "speakers": n, "takes": len(part), "accuracy": accuracy_score(truth, guess),
                     "uar": metrics.uar(truth, guess)})
    return pd.DataFrame(rows)


def _permuted_labels(y: np.ndarray, parts: dict[int, np.ndarray], outer: list[int], seed: int) -> dict[int, np.ndarray]:
    """Per outer fold, the labels with that fold's training part shuffled (one seeded stream, fold order)."""
    rng = np.random.default_rng(seed)
    out = {}
    for p in outer:
        labels = y.copy()
        labels[parts[p]] = rng.permutation(y[parts[p]])
        out[p] = labels
    return out


def to_plain(value: Any) -> Any:
    """NumPy scalars to plain Python, for JSON."""
    return value.item() if isinstance(value, np.generic) else value

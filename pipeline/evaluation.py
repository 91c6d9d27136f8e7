"""Speaker-independent evaluation: actor-grouped outer folds around a nested hyperparameter search.

Inside each outer training part, a randomized search and then a grid search around its
best point run on inner actor-grouped folds; the outer test speakers are never seen by
either. Reported figures come from the outer folds only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import GridSearchCV, GroupKFold, RandomizedSearchCV
from sklearn.pipeline import Pipeline

from pipeline import learners

Split = tuple[np.ndarray, np.ndarray]


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
class SearchSpec:
    """How one learner is tuned: its random space, refinement grid and fixed settings."""

    learner: str
    space: dict[str, dict[str, Any]]
    n_iter: int
    grid: dict[str, dict[str, float]]
    fixed: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchResult:
    best_params: dict[str, Any]
    best_score: float
    log: pd.DataFrame  # one row per candidate, both phases


def nested_search(
    spec: SearchSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
    inner_k: int, scoring: str, seed: int, n_jobs: int,
) -> SearchResult:
    """Randomized search, then a grid around its best point, on speaker-grouped inner folds."""
    base = learners.build(spec.learner, seed, spec.fixed)
    folds = inner_folds(groups, inner_k)
    randomized = RandomizedSearchCV(
        base, learners.distributions(spec.space), n_iter=spec.n_iter, scoring=scoring,
        cv=folds, random_state=seed, n_jobs=n_jobs, refit=False,
    ).fit(X, y)
    grid = learners.refinement_grid(randomized.best_params_, spec.grid, spec.space)
    refined = GridSearchCV(base, grid, scoring=scoring, cv=folds, n_jobs=n_jobs, refit=False).fit(X, y)
    log = pd.concat(
        [_log(randomized.cv_results_, "random"), _log(refined.cv_results_, "grid")], ignore_index=True
    )
    # The grid contains the random search's best point, so its best is at least as good.
    return SearchResult(refined.best_params_, float(refined.best_score_), log)


def _log(cv_results: dict[str, Any], phase: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "phase": phase,
            "params": [repr(p) for p in cv_results["params"]],
            "mean_score": cv_results["mean_test_score"],
            "std_score": cv_results["std_test_score"],
            "mean_fit_s": cv_results["mean_fit_time"],
        }
    )


def fit_best(spec: SearchSpec, best: dict[str, Any], X: np.ndarray, y: np.ndarray, seed: int) -> Pipeline:
    """Refit the chosen point on a whole training part, able to give class probabilities."""
    model = learners.with_probabilities(learners.build(spec.learner, seed, spec.fixed).set_params(**best), y)
    return model.fit(X, y)


@dataclass
class CrossValidated:
    """What the outer loop produced: out-of-fold probabilities and per-fold records."""

    probabilities: np.ndarray  # (n_takes, n_classes), each row from the fold that held it out
    folds: list[dict[str, Any]]  # best params, inner score, timing, permutation accuracy
    search_log: pd.DataFrame
    # Inner out-of-fold probabilities of each outer training part (the chosen point refit on
    # inner folds): what fusion weights are fitted on without touching that fold's test takes.
    inner_take: np.ndarray  # (n_rows,) take index
    inner_fold: np.ndarray  # (n_rows,) the outer fold whose training part the row belongs to
    inner_probabilities: np.ndarray  # (n_rows, n_classes)


def cross_validate(
    spec: SearchSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray, fold: np.ndarray, n_classes: int,
    inner_k: int, scoring: str, seed: int, n_jobs: int, permutation_check: bool, progress: Any = None,
) -> CrossValidated:
    """Nested, speaker-grouped cross-validation of one learner over the outer folds in `fold`.

    The permutation check refits each fold's chosen point on training labels shuffled
    (seeded) and scores it on the untouched test fold: it should land near chance.
    """
    if len(np.unique(fold)) < 2:
        raise ValueError(f"the takes fill {len(np.unique(fold))} outer fold(s); at least 2 are needed")
    probabilities = np.full((len(y), n_classes), np.nan)
    records, logs, inner = [], [], []
    rng = np.random.default_rng(seed)
    for index in np.unique(fold):
        train, test = np.flatnonzero(fold != index), np.flatnonzero(fold == index)
        started = time.perf_counter()
        search = nested_search(spec, X[train], y[train], groups[train], inner_k, scoring, seed, n_jobs)
        model = fit_best(spec, search.best_params, X[train], y[train], seed)
        probabilities[test] = _full_proba(model, X[test], n_classes)
        inner.append((train, index, inner_probabilities(spec, search.best_params, X[train], y[train],
                                                        groups[train], inner_k, n_classes, seed)))
        record = {
            "fold": int(index),
            "test_speakers": sorted(map(str, np.unique(groups[test]))),
            "best_params": {k: to_plain(v) for k, v in search.best_params.items()},
            "inner_score": search.best_score,
            "seconds": time.perf_counter() - started,
        }
        if permutation_check:
            shuffled = fit_best(spec, search.best_params, X[train], rng.permutation(y[train]), seed)
            record["permuted_accuracy"] = float(
                accuracy_score(y[test], _full_proba(shuffled, X[test], n_classes).argmax(axis=1))
            )
        records.append(record)
        logs.append(search.log.assign(fold=index))
        if progress is not None:
            progress.update(1)
    return CrossValidated(
        probabilities, records, pd.concat(logs, ignore_index=True),
        np.concatenate([rows for rows, _, _ in inner]),
        np.concatenate([np.full(len(rows), index) for rows, index, _ in inner]),
        np.vstack([proba for _, _, proba in inner]),
    )


def inner_probabilities(
    spec: SearchSpec, best: dict[str, Any], X: np.ndarray, y: np.ndarray, groups: np.ndarray,
    inner_k: int, n_classes: int, seed: int,
) -> np.ndarray:
    """Out-of-fold probabilities of one training part, from the chosen point refit on its inner folds."""
    proba = np.full((len(y), n_classes), np.nan)
    for train, test in inner_folds(groups, inner_k):
        proba[test] = _full_proba(fit_best(spec, best, X[train], y[train], seed), X[test], n_classes)
    return proba


def _full_proba(model: Pipeline, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities over all `n_classes`, even if a class was absent from training."""
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    return proba


def to_plain(value: Any) -> Any:
    """NumPy scalars to plain Python, for JSON."""
    return value.item() if isinstance(value, np.generic) else value


def metrics(
    y: np.ndarray, probabilities: np.ndarray, classes: list[str], groups: np.ndarray, fold: np.ndarray
) -> dict[str, Any]:
    """Every figure the report shows, from out-of-fold probabilities."""
    predicted = probabilities.argmax(axis=1)
    labels = np.arange(len(classes))
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    per_fold = [
        {
            "accuracy": float(accuracy_score(y[fold == f], predicted[fold == f])),
            "uar": float(balanced_accuracy_score(y[fold == f], predicted[fold == f])),
        }
        for f in np.unique(fold)
    ]
    confusion = confusion_matrix(y, predicted, labels=labels)
    recall = np.divide(confusion.diagonal(), confusion.sum(axis=1), where=confusion.sum(axis=1) > 0,
                       out=np.full(len(classes), np.nan))
    per_speaker = {
        str(s): float(accuracy_score(y[groups == s], predicted[groups == s])) for s in np.unique(groups)
    }
    return {
        "n_takes": int(len(y)),
        "classes": classes,
        "accuracy": float(accuracy_score(y, predicted)),
        "uar": float(balanced_accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, labels=labels, average="macro", zero_division=0)),
        "top3_accuracy": float(np.mean((top3 == y[:, None]).any(axis=1))),
        "fold_accuracy_mean": float(np.mean([f["accuracy"] for f in per_fold])),
        "fold_accuracy_std": float(np.std([f["accuracy"] for f in per_fold])),
        "fold_uar_mean": float(np.mean([f["uar"] for f in per_fold])),
        "fold_uar_std": float(np.std([f["uar"] for f in per_fold])),
        "per_fold": per_fold,
        "confusion": confusion.tolist(),
        "recall": {c: float(r) for c, r in zip(classes, recall)},
        "per_speaker_accuracy": per_speaker,
        "chance": 1.0 / len(classes),
    }

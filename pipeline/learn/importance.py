"""What the models listen and look at: permutation importance on the outer folds.

Each outer fold's model (the learner refit on the fold's training part with the point its nested
search chose, exactly as `train` refit it) answers its test speakers' takes; then one feature
family at a time is shuffled across those takes (its columns together, `repeats` times, seeded)
and the fall in accuracy and in each emotion's recall is the family's importance. The test
speakers were never trained or tuned on, so this is what the model uses on new speakers, not
what it memorised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from pipeline import checks
from pipeline.learn import evaluation, fitcache, search

RECORDS = "models/importance"  # <modality>/<learner>.csv


def record_path(modality: str, learner: str) -> str:
    return f"{RECORDS}/{modality}/{learner}.csv"


def read(modality: str, learners: Sequence[str]) -> pd.DataFrame:
    """One modality's table: each learner's outer folds (its stage's record), a `learner` column first."""
    table = pd.concat([pd.read_csv(record_path(modality, learner)).assign(learner=learner) for learner in learners],
                      ignore_index=True)
    return table[["learner", *[c for c in table.columns if c != "learner"]]]


@dataclass(frozen=True)
class ImportanceSettings:
    """The `importance` block: how often each family is shuffled (every learner `run` trains is measured)."""

    repeats: int

    def __post_init__(self) -> None:
        checks.check("importance", self, [
            ("repeats", "a whole number >= 1", lambda s: checks.is_int(s.repeats) and s.repeats >= 1),
        ])

    @classmethod
    def from_params(cls, params: dict) -> ImportanceSettings:
        return checks.from_block("importance", cls, params["importance"])


def recalls(y: np.ndarray, guess: np.ndarray, n_classes: int) -> np.ndarray:
    """Each class's recall (NaN for a class with no take)."""
    hits = np.bincount(y, weights=(guess == y).astype(float), minlength=n_classes)
    counts = np.bincount(y, minlength=n_classes)
    return np.divide(hits, counts, out=np.full(n_classes, np.nan), where=counts > 0)


def drops(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray, n_classes: int, families: dict[str, np.ndarray], repeats: int,
          rng: np.random.Generator) -> pd.DataFrame:
    """How much accuracy and each class's recall fall when a family's columns are shuffled across the
    rows (one permutation of the rows for all its columns; the mean over `repeats`). `predict` maps
    rows to class indices. One row per family: family, columns, accuracy, recall_<class index>...;
    the unshuffled figures in the row named by `BASELINE`."""
    guess = predict(X)
    base = np.concatenate([[np.mean(guess == y)], recalls(y, guess, n_classes)])
    rows = [{"family": BASELINE, "columns": 0, **_named(base)}]
    for name, columns in families.items():
        fallen = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[:, columns] = X[rng.permutation(len(X))][:, columns]
            guess = predict(shuffled)
            fallen.append(base - np.concatenate([[np.mean(guess == y)], recalls(y, guess, n_classes)]))
        rows.append({"family": name, "columns": len(columns), **_named(np.mean(fallen, axis=0))})
    return pd.DataFrame(rows)


BASELINE = "(none shuffled)"


def _named(values: np.ndarray) -> dict[str, float]:
    return {"accuracy": float(values[0]), **{f"recall_{k}": float(v) for k, v in enumerate(values[1:])}}


def _fold(spec: search.SearchSpec, params: dict, fit_rows: evaluation.FitRows, y: np.ndarray, train: np.ndarray,
          test: np.ndarray, n_classes: int, families: dict[str, np.ndarray], repeats: int, seed: int,
          fold: int) -> pd.DataFrame:
    """One outer fold: its model refit as `train` refit it (the part's takes and their copies: the very
    fit `train` made, from the fit cache when it holds it), then `drops`."""
    rows = fit_rows.grown(train)
    model, _ = search.fitted(spec, params, fit_rows.X[rows], y[fit_rows.take[rows]], seed, fitcache.folder())
    found = drops(model.predict, fit_rows.X[test], y[test], n_classes, families, repeats,
                  np.random.default_rng([seed, fold]))
    return found.assign(fold=fold)


def outer_folds(spec: search.SearchSpec, X: np.ndarray, y: np.ndarray, fold: np.ndarray, chosen: dict[int, dict],
                n_classes: int, families: dict[str, np.ndarray], repeats: int, seed: int,
                copies: evaluation.Copies | None = None, progress: Any = None) -> pd.DataFrame:
    """`drops` of every outer fold (`chosen`: fold -> the point its search chose), one joblib task per
    fold (`progress` counts them). Columns: fold, family, columns, accuracy, recall_<class index>..."""
    fit_rows = evaluation.FitRows.of(X, copies)
    found = []
    for table in Parallel(return_as="generator")(
        delayed(_fold)(spec, chosen[p], fit_rows, y, np.flatnonzero(fold != p), np.flatnonzero(fold == p),
                       n_classes, families, repeats, seed, p)
        for p in sorted(chosen)
    ):
        found.append(table)
        if progress is not None:
            progress.update(1)
    table = pd.concat(found, ignore_index=True)
    return table[["fold", *[c for c in table.columns if c != "fold"]]]

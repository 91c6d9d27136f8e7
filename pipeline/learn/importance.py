"""What the models listen and look at: permutation importance on the outer folds.

Each outer fold's model (the learner refit on the fold's training part with the point its nested
search chose, exactly as `train` refit it) answers its test speakers' takes; then one feature
family at a time is shuffled across those takes (its columns together, `repeats` times, seeded)
and the fall in accuracy and in each emotion's recall is the family's importance. The test
speakers were never trained or tuned on, so this is what the model uses on new speakers, not
what it memorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline import checks
from pipeline.learn import evaluation, fitcache, search
from pipeline.learn.imputer import MedianImputer
from pipeline.learn.rowspace import RowSpace

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


COLUMNWISE = (MedianImputer, StandardScaler)  # steps that map each column on its own


class Shuffles:
    """A fitted model's guesses for the rows X, as they are and with some columns' values reordered
    across the rows (`guesses(columns, order)`; class indices).

    A family's shuffle changes only its columns. When the model fills and scales column by column
    and then takes the training rows' span (`rowspace`, a linear map), the front is applied to the
    rows once and a shuffle adds only its columns' share to the span coordinates, instead of
    paying the wide products again (the ComParE logistic regression's stage 335 s -> 19 s, its table
    byte-identical; `bench/importance.py`). Any other model answers the shuffled copy of X."""

    def __init__(self, model: Any, X: np.ndarray) -> None:
        self.model, self.X = model, X
        steps = list(model.steps) if isinstance(model, Pipeline) else []
        span = next((i for i, (_, step) in enumerate(steps) if isinstance(step, RowSpace)), None)
        self.fast = span is not None and all(isinstance(step, COLUMNWISE) for _, step in steps[:span])
        if not self.fast:
            return
        self.front = np.asarray(X, dtype=np.float64)
        self.origin = np.arange(X.shape[1])  # each front column's column of X (the imputer drops empty ones)
        for _, step in steps[:span]:
            self.front = step.transform(self.front)
            if isinstance(step, MedianImputer):
                self.origin = self.origin[step.keep_]
        self.span = steps[span][1]
        self.coordinates = self.span.transform(self.front)
        # Each front column's share of the coordinates (features x span): the span's two products made one.
        self.shares = None if self.span.rows_ is None else self.span.rows_.T @ self.span.turn_
        self.rest = [step for _, step in steps[span + 1:]]

    def guesses(self, columns: np.ndarray | None = None, order: np.ndarray | None = None) -> np.ndarray:
        """The guesses with `columns` of X taken in the row `order` (None: X as it is)."""
        if not self.fast:
            X = self.X
            if columns is not None:
                X = X.copy()
                X[:, columns] = self.X[order][:, columns]
            return self.model.predict(X)
        Z = self.coordinates
        if columns is not None:
            at = np.flatnonzero(np.isin(self.origin, columns))
            shuffled = self.front[np.ix_(order, at)]
            if self.shares is None:  # the span passed the columns through
                Z = Z.copy()
                Z[:, at] = shuffled
            else:
                Z = Z + (shuffled - self.front[:, at]) @ self.shares[at]
        for step in self.rest[:-1]:
            Z = step.transform(Z)
        return self.rest[-1].predict(Z)


def drops(shuffles: Shuffles, y: np.ndarray, n_classes: int, families: dict[str, np.ndarray], repeats: int,
          rng: np.random.Generator) -> pd.DataFrame:
    """How much accuracy and each class's recall fall when a family's columns are shuffled across the
    rows (one permutation of the rows for all its columns; the mean over `repeats`). One row per
    family: family, columns, accuracy, recall_<class index>...; the unshuffled figures in the row
    named by `BASELINE`."""
    guess = shuffles.guesses()
    base = np.concatenate([[np.mean(guess == y)], recalls(y, guess, n_classes)])
    rows = [{"family": BASELINE, "columns": 0, **_named(base)}]
    for name, columns in families.items():
        fallen = []
        for _ in range(repeats):
            guess = shuffles.guesses(columns, rng.permutation(len(y)))
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
    found = drops(Shuffles(model, fit_rows.X[test]), y[test], n_classes, families, repeats,
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

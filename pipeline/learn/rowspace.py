"""A wide table's rows in the coordinates of their own span: the same model, fewer columns.

With fewer training rows than columns (ComParE: about 1,600 takes x 6,373 functionals) the
centred training rows span at most n_rows dimensions. An L2-penalised linear model's weights
lie in that span, so logistic regression on the span's coordinates makes the same predictions
as on every column, at a fraction of the cost; an RBF SVM sees the same distances between
training rows (a test row loses only its part outside the span, the same offset to every
training row). Fitted inside each training part, like any other step.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


class RowSpace(TransformerMixin, BaseEstimator):
    """Project onto an orthonormal basis of the centred training rows' span;
    a table with at least as many rows as columns passes through unchanged."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> RowSpace:
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.mean_ = self.basis_ = None
        if X.shape[0] < X.shape[1]:
            self.mean_ = X.mean(axis=0)
            centred = X - self.mean_
            # The right singular vectors from the (rows x rows) Gram matrix: about 3x faster than an SVD
            # of the wide matrix. Directions with a negligible eigenvalue (e.g. the one centring removed)
            # are numerical noise and dropped.
            eigenvalues, vectors = np.linalg.eigh(centred @ centred.T)
            keep = eigenvalues > eigenvalues[-1] * max(X.shape) * np.finfo(np.float64).eps
            self.basis_ = centred.T @ (vectors[:, keep] / np.sqrt(eigenvalues[keep]))  # (n_features, rank)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        X = np.asarray(X, dtype=np.float64)
        return X if self.basis_ is None else (X - self.mean_) @ self.basis_

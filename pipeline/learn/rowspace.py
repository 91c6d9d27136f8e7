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
    """Coordinates in an orthonormal basis of the centred training rows' span; a table with at
    least as many rows as columns passes through unchanged.

    The basis is C^T V / sqrt(l), with C the centred training rows and (l, V) the eigenpairs of
    their (rows x rows) Gram matrix C C^T (about 3x faster than an SVD of the wide matrix). It is
    never formed: the training rows' own coordinates are V sqrt(l), and a new row's are its
    products with the training rows turned by V / sqrt(l), two of the four wide matrix products
    the basis would cost, at every inner split of a search."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> RowSpace:
        self.fit_transform(X)
        return self

    def fit_transform(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Fits, and returns the training rows' coordinates (the rows themselves when they pass through)."""
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.mean_ = self.rows_ = self.turn_ = None
        if X.shape[0] >= X.shape[1]:
            return X
        self.mean_ = X.mean(axis=0)
        self.rows_ = X - self.mean_
        eigenvalues, vectors = np.linalg.eigh(self.rows_ @ self.rows_.T)
        # Directions with a negligible eigenvalue (e.g. the one centring removed) are numerical noise: dropped.
        keep = eigenvalues > eigenvalues[-1] * max(X.shape) * np.finfo(np.float64).eps
        root = np.sqrt(eigenvalues[keep])
        self.turn_ = vectors[:, keep] / root
        return vectors[:, keep] * root

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        X = np.asarray(X, dtype=np.float64)
        return X if self.rows_ is None else ((X - self.mean_) @ self.rows_.T) @ self.turn_

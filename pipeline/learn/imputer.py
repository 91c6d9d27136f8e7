"""Missing values filled with each column's training median: scikit-learn's
SimpleImputer(strategy="median") numbers in about half its time on a wide table.

SimpleImputer finds its medians through masked arrays, paid again at every inner split of every
search phase and every refit. np.nanmedian gives the same medians: fitting and filling one
ComParE training part (1,600 takes x 6,373 functionals) 0.85 s -> 0.47 s, a ComParE logistic
regression's train stage 98 s -> 89 s, the same numbers (`bench/imputer.py`).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


class MedianImputer(TransformerMixin, BaseEstimator):
    """Each NaN replaced by its column's median over the training rows' values; a column with no
    value in any training row is dropped, as SimpleImputer drops it."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> MedianImputer:
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": that column is dropped
            self.statistics_ = np.nanmedian(X, axis=0)
        self.keep_ = ~np.isnan(self.statistics_)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "statistics_")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MedianImputer was fitted with {self.n_features_in_}")
        X = X.compress(self.keep_, axis=1)  # a C-ordered copy, as the next steps expect; the caller's rows stay
        missing = np.isnan(X)
        X[missing] = np.broadcast_to(self.statistics_[self.keep_], X.shape)[missing]
        return X

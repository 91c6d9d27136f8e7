"""An RBF support vector machine on a precomputed kernel: the distances once, every candidate from them.

libsvm computes each RBF kernel entry itself, one dot product at a time, again for every C and
gamma a search tries. Squared distances between rows depend on neither: `SquaredDistances`
computes them once per training part with one matrix product (BLAS), and `KernelSVC` turns them
into exp(-gamma * d^2) and hands libsvm that kernel. The model is the RBF SVM's (the kernel
entries differ in their last bits, the decision values within libsvm's stopping tolerance), the
search several times faster. The nested search fits the steps
before the classifier once per inner split (`search`), so every candidate shares the distances.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted


class SquaredDistances(TransformerMixin, BaseEstimator):
    """Rows as their squared Euclidean distances to the training rows (kept, for new rows)."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> SquaredDistances:
        self.rows_ = np.asarray(X, dtype=np.float64)
        self.norms_ = np.einsum("ij,ij->i", self.rows_, self.rows_)
        self.n_features_in_ = self.rows_.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "rows_")
        X = np.asarray(X, dtype=np.float64)
        squared = np.einsum("ij,ij->i", X, X)[:, None] + self.norms_[None, :] - 2.0 * (X @ self.rows_.T)
        return np.maximum(squared, 0.0)


class KernelSVC(ClassifierMixin, BaseEstimator):
    """scikit-learn's SVC with an RBF kernel, fed squared distances to the training rows.

    gamma: the kernel width, or "scale": 2 / the mean squared distance between training rows,
    which for standardised columns is scikit-learn's "scale" (1 / (n_features * variance)).
    """

    def __init__(self, C: float = 1.0, gamma: float | str = "scale", class_weight: dict | str | None = None,
                 decision_function_shape: str = "ovo", random_state: int | None = None) -> None:
        self.C, self.gamma, self.class_weight = C, gamma, class_weight
        self.decision_function_shape, self.random_state = decision_function_shape, random_state

    def fit(self, distances: np.ndarray, y: np.ndarray) -> KernelSVC:
        spread = distances.mean()
        self.gamma_ = (2.0 / spread if spread > 0 else 1.0) if self.gamma == "scale" else float(self.gamma)
        self.svc_ = SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight,
                        decision_function_shape=self.decision_function_shape, random_state=self.random_state)
        self.svc_.fit(self._kernel(distances), y)
        self.classes_ = self.svc_.classes_
        return self

    def decision_function(self, distances: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "svc_")
        return self.svc_.decision_function(self._kernel(distances))

    def predict(self, distances: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "svc_")
        return self.svc_.predict(self._kernel(distances))

    def _kernel(self, distances: np.ndarray) -> np.ndarray:
        return np.exp(-self.gamma_ * distances)

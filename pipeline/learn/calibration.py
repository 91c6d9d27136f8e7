"""Platt scaling: class probabilities for an SVM from decision values it never trained on.

The nested search already fits the chosen SVM on every inner fold, so the out-of-fold
decision values of each training part exist for free: a sigmoid per class fitted on them
(Platt 1999, with his smoothed targets) turns the refit SVM's decision values into
probabilities, without the five extra SVM fits an internal calibration would cost. The
folds are speaker-grouped, so the sigmoids are fitted on unseen-speaker decision values,
which is what the test speakers present.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

Sigmoids = np.ndarray  # (n_classes, 2): slope a and offset b of p = 1 / (1 + exp(a * d + b)); NaN: class never scored


def fit_sigmoid(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid for one class: minimises log-loss against smoothed 0/1 targets."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    target = np.where(positive, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * decision + ab[1]
        gap = target - expit(-z)  # d loss / d z
        return float(np.sum(np.logaddexp(0.0, z) - (1.0 - target) * z)), np.array([gap @ decision, gap.sum()])

    start = np.array([0.0, np.log((n_neg + 1.0) / (n_pos + 1.0))])
    return tuple(minimize(loss, start, jac=True, method="L-BFGS-B").x)


def fit_sigmoids(decisions: np.ndarray, y: np.ndarray) -> Sigmoids:
    """One sigmoid per class column of `decisions` (n, n_classes), on the rows where it is finite."""
    out = np.full((decisions.shape[1], 2), np.nan)
    for k in range(decisions.shape[1]):
        rows = np.isfinite(decisions[:, k])
        if rows.any():
            out[k] = fit_sigmoid(decisions[rows, k], y[rows] == k)
    return out


def probabilities(sigmoids: Sigmoids, decisions: np.ndarray) -> np.ndarray:
    """Each class's sigmoid of its decision value, rows normalised to sum to 1 (a class never
    scored gets 0; a row with nothing gets the uniform distribution)."""
    p = np.nan_to_num(expit(-(sigmoids[:, 0] * decisions + sigmoids[:, 1])), nan=0.0)
    total = p.sum(axis=1, keepdims=True)
    return np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)


def decisions(model: Pipeline, X: np.ndarray, n_classes: int) -> np.ndarray:
    """One-vs-rest scores (n, n_classes) of a fitted SVM pipeline (built with
    decision_function_shape='ovo'), as scikit-learn makes them: each class's one-vs-one votes
    plus its summed confidences squashed into (-1/3, 1/3). Their rounding gives the votes, so
    `votes_winner` is the SVM's own prediction from the same kernel evaluations. NaN for
    classes the SVM never saw."""
    ovo = model.decision_function(X)
    if ovo.ndim == 1:  # two classes: one value, positive for the second (the pair's sign is the opposite)
        ovo = -ovo[:, None]
    seen = model.classes_
    votes = np.zeros((len(X), len(seen)))
    confidence = np.zeros((len(X), len(seen)))
    pairs = [(i, j) for i in range(len(seen)) for j in range(i + 1, len(seen))]
    for k, (i, j) in enumerate(pairs):
        votes[:, i] += ovo[:, k] > 0
        votes[:, j] += ovo[:, k] <= 0
        confidence[:, i] += ovo[:, k]
        confidence[:, j] -= ovo[:, k]
    out = np.full((len(X), n_classes), np.nan)
    out[:, seen] = votes + confidence / (3 * (np.abs(confidence) + 1))
    return out


def votes_winner(decision: np.ndarray) -> np.ndarray:
    """The class with the most one-vs-one votes, ties to the first (libsvm's rule, so scikit-learn's
    `SVC.predict`), from `decisions` output."""
    return np.where(np.isnan(decision), -np.inf, np.rint(decision)).argmax(axis=1)


class PlattScaled(ClassifierMixin, BaseEstimator):
    """A fitted SVM pipeline with per-class sigmoids: `predict_proba` over all `n_classes`."""

    def __init__(self, model: Pipeline, sigmoids: Sigmoids) -> None:
        self.model = model
        self.sigmoids = sigmoids

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(len(self.sigmoids))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return probabilities(self.sigmoids, decisions(self.model, X, len(self.sigmoids)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

"""Uncertainty a user can act on, from outer-fold probabilities (speakers no model saw).

Prediction sets (split conformal, the least-ambiguous sets of Sadinle et al. 2019): a clip's
set holds every emotion whose probability is at least 1 - q, with q the conformal quantile of
1 - p(true emotion) over out-of-fold takes, so the set holds the true emotion with the stated
probability on a new speaker whose takes resemble those of the training speakers. The coverage
is measured, not assumed: each outer fold's sets use a threshold computed from the other folds
only (their speakers disjoint from its own). Calibration: how far the decisions' confidence is
from their accuracy (reliability bins, expected calibration error).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from pipeline import checks


def of_truth(values: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's value at its true class (`y`: class indices)."""
    return values[np.arange(len(y)), y]


def threshold(p_true: np.ndarray, coverage: float) -> float:
    """q such that sets {k: p_k >= 1 - q} hold the truth with probability >= `coverage` for a
    take exchangeable with these (the ceil((n + 1) coverage) / n quantile of 1 - p_true); 1.0
    (every emotion) when there are too few takes for that coverage."""
    scores = np.sort(1.0 - np.asarray(p_true, dtype=float))
    rank = int(np.ceil((len(scores) + 1) * coverage))
    return 1.0 if rank > len(scores) else float(scores[rank - 1])


def sets(P: np.ndarray, q: float) -> np.ndarray:
    """(takes, classes) membership: p >= 1 - q, and always the most probable emotion (never an empty set)."""
    members = P >= 1.0 - q - 1e-12
    members[np.arange(len(P)), np.argmax(P, axis=1)] = True
    return members


@dataclass(frozen=True)
class Coverage:
    """Prediction sets measured on speakers their threshold never saw."""

    target: float
    coverage: float  # share of takes whose set holds the true emotion
    mean_size: float
    singletons: float  # share of takes given a one-emotion set
    per_fold: list[float]


def cross_fold_coverage(P: np.ndarray, y: np.ndarray, folds: np.ndarray, coverage: float) -> Coverage:
    """Each fold's sets from the threshold of the other folds' takes (`y`: class indices)."""
    held = np.zeros(len(y), dtype=bool)
    size = np.zeros(len(y))
    per_fold = []
    for fold in np.unique(folds):
        test = folds == fold
        rest = ~test
        members = sets(P[test], threshold(of_truth(P[rest], y[rest]), coverage))
        held[test] = of_truth(members, y[test])
        size[test] = members.sum(axis=1)
        per_fold.append(float(held[test].mean()))
    return Coverage(coverage, float(held.mean()), float(size.mean()), float((size == 1).mean()), per_fold)


@dataclass(frozen=True)
class Reliability:
    """The decisions' confidence against their accuracy, in equal-width bins of confidence."""

    edges: list[float]
    counts: list[int]
    confidence: list[float | None]  # mean top probability per bin (None: empty bin)
    accuracy: list[float | None]
    ece: float  # expected calibration error: the count-weighted mean |accuracy - confidence|


def reliability(P: np.ndarray, y: np.ndarray, bins: int = 10) -> Reliability:
    """Top-label reliability of probabilities `P` against class indices `y`."""
    top = P.max(axis=1)
    right = np.argmax(P, axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(top, edges[1:-1], right=True), 0, bins - 1)
    counts, confidence, accuracy, gap = [], [], [], 0.0
    for b in range(bins):
        inside = which == b
        counts.append(int(inside.sum()))
        if inside.any():
            confidence.append(float(top[inside].mean()))
            accuracy.append(float(right[inside].mean()))
            gap += inside.sum() * abs(accuracy[-1] - confidence[-1])
        else:
            confidence.append(None)
            accuracy.append(None)
    return Reliability([float(e) for e in edges], counts, confidence, accuracy, float(gap / len(y)))


PATH = "models/conformal.json"  # the calibrate stage's output, read by predict


@dataclass(frozen=True)
class Settings:
    """The `calibrate` block: the coverage the sets promise (and the flagged clips' wider sets), the reliability bins."""

    coverage: float = 0.9
    bins: int = 10
    flagged_coverage: float = 0.97  # the wider sets of clips the novelty flag marks

    def __post_init__(self) -> None:
        checks.check("calibrate", self, [
            ("coverage", "a share between 0.5 and 0.99", lambda s: checks.is_number(s.coverage)
             and 0.5 <= s.coverage <= 0.99),
            ("flagged_coverage", "a share from calibrate.coverage to 0.999", lambda s: checks.is_number(
                s.flagged_coverage) and checks.is_number(s.coverage) and s.coverage <= s.flagged_coverage <= 0.999),
            ("bins", "a whole number from 2 to 50", lambda s: checks.is_int(s.bins) and 2 <= s.bins <= 50),
        ])

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        return checks.from_block("calibrate", cls, params["calibrate"])


def decision(P: np.ndarray, y: np.ndarray, folds: np.ndarray, settings: Settings) -> dict:
    """What predict and the report need of one deployed decision: its thresholds (from every
    out-of-fold take; the wider one for flagged clips), the coverage its sets reach on held-out
    speakers, its reliability."""
    return {"threshold": threshold(of_truth(P, y), settings.coverage),
            "flagged_threshold": threshold(of_truth(P, y), settings.flagged_coverage), "n_takes": len(y),
            "coverage": dataclasses.asdict(cross_fold_coverage(P, y, folds, settings.coverage)),
            "reliability": dataclasses.asdict(reliability(P, y, settings.bins))}

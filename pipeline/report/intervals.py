"""95% intervals and paired tests from out-of-fold predictions, by resampling speakers.

The takes of one speaker are not independent (one voice, one face, one recording day), so the
bootstrap draws whole speakers with replacement, as many as there are, and recomputes the figure
from all their takes. A paired comparison draws the same speakers for both systems (the same takes
scored twice), so what varies is only the difference. Pure functions over label arrays: no
retraining, nothing read from disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BOOT = 2000
LEVEL = 0.95
SEED = 0  # fixed: the same predictions give the same intervals, so a rerun changes no committed report


@dataclass(frozen=True)
class Estimate:
    value: float  # on all the takes
    low: float
    high: float


@dataclass(frozen=True)
class Difference:
    """System a minus system b on the same takes: the difference, its interval, and the two-sided
    bootstrap p-value (the share of resamples on the other side of zero, doubled)."""

    value: float
    low: float
    high: float
    p: float


def _speaker_weights(speakers: np.ndarray, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(index of each take's speaker, (n_boot, n_speakers) how often each speaker is drawn)."""
    names, index = np.unique(speakers, return_inverse=True)
    draws = np.random.default_rng(seed).integers(0, len(names), size=(n_boot, len(names)))
    weights = np.zeros((n_boot, len(names)))
    np.add.at(weights, (np.arange(n_boot)[:, None], draws), 1.0)
    return index, weights


def _counts(labels: np.ndarray, predicted: np.ndarray, speaker: np.ndarray, n_speakers: int, n_classes: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """(correct, total): (speakers, classes) counts of each speaker's takes per true class."""
    correct, total = np.zeros((n_speakers, n_classes)), np.zeros((n_speakers, n_classes))
    np.add.at(total, (speaker, labels), 1.0)
    np.add.at(correct, (speaker, labels), (labels == predicted).astype(float))
    return correct, total


def _figures(correct: np.ndarray, total: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and UAR (recall averaged over the classes present) of summed counts `(..., classes)`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(total > 0, correct / total, np.nan)
        return {"accuracy": correct.sum(-1) / total.sum(-1), "uar": np.nanmean(recall, axis=-1)}


def _resampled(labels: np.ndarray, predicted: np.ndarray, speakers: np.ndarray, n_boot: int, seed: int
               ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Accuracy and UAR on all takes, and on each of `n_boot` speaker resamples."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    classes, coded = np.unique(np.concatenate([labels, predicted]), return_inverse=True)
    y, guess = coded[: len(labels)], coded[len(labels):]
    speaker, weights = _speaker_weights(np.asarray(speakers), n_boot, seed)
    correct, total = _counts(y, guess, speaker, weights.shape[1], len(classes))
    whole = {k: float(v) for k, v in _figures(correct.sum(0), total.sum(0)).items()}
    return whole, _figures(weights @ correct, weights @ total)


def _bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    low, high = np.nanquantile(values, [tail, 1 - tail])
    return float(low), float(high)


def interval(labels: np.ndarray, predicted: np.ndarray, speakers: np.ndarray, n_boot: int = N_BOOT,
             seed: int = SEED, level: float = LEVEL) -> dict[str, Estimate]:
    """Accuracy and UAR with their `level` interval over speaker resamples."""
    whole, resampled = _resampled(labels, predicted, speakers, n_boot, seed)
    return {k: Estimate(whole[k], *_bounds(resampled[k], level)) for k in whole}


def paired(labels: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray, speakers: np.ndarray,
           n_boot: int = N_BOOT, seed: int = SEED, level: float = LEVEL) -> dict[str, Difference]:
    """Accuracy and UAR of system a minus system b on the same takes, the same speakers drawn for
    both in every resample."""
    whole_a, a = _resampled(labels, predicted_a, speakers, n_boot, seed)
    whole_b, b = _resampled(labels, predicted_b, speakers, n_boot, seed)
    out = {}
    for k in whole_a:
        d = a[k] - b[k]
        p = min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0)))
        out[k] = Difference(whole_a[k] - whole_b[k], *_bounds(d, level), float(p))
    return out

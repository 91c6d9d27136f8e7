"""The figures of a model's predictions, with one rule for every average over classes.

UAR (unweighted average recall) and macro F1 run over the emotions present among the scored
takes' true labels: an emotion no take has cannot be recalled, and counting it would put a 0
into one average and skip it in the other (a song-only folder has no disgust or surprise).
Accuracy and the confusion matrix need no such rule; chance is one over the model's classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


def uar(y: np.ndarray, predicted: np.ndarray) -> float:
    """Mean recall over the classes present in `y`."""
    present = np.unique(y)
    return float(np.mean([np.mean(predicted[y == c] == c) for c in present]))


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 over the classes present in `y` (a class predicted but absent adds false positives
    to the others' precision, not a 0 of its own)."""
    return float(f1_score(y, predicted, labels=np.unique(y), average="macro", zero_division=0))


def figures(
    y: np.ndarray, probabilities: np.ndarray, classes: list[str], groups: np.ndarray, fold: np.ndarray
) -> dict[str, Any]:
    """Every figure the report shows, from out-of-fold probabilities `(takes, classes)`."""
    predicted = probabilities.argmax(axis=1)
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    per_fold = [{"accuracy": float(accuracy_score(y[fold == f], predicted[fold == f])),
                 "uar": uar(y[fold == f], predicted[fold == f])} for f in np.unique(fold)]
    confusion = confusion_matrix(y, predicted, labels=np.arange(len(classes)))
    recall = np.divide(confusion.diagonal(), confusion.sum(axis=1), where=confusion.sum(axis=1) > 0,
                       out=np.full(len(classes), np.nan))
    per_speaker = {str(s): float(accuracy_score(y[groups == s], predicted[groups == s])) for s in np.unique(groups)}
    return {
        "n_takes": int(len(y)),
        "classes": classes,
        "classes_present": [classes[c] for c in np.unique(y)],
        "accuracy": float(accuracy_score(y, predicted)),
        "uar": uar(y, predicted),
        "macro_f1": macro_f1(y, predicted),
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

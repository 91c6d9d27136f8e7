"""Speaker normalisation: standardise each speaker's features with that speaker's own statistics.

It uses no labels, only the speaker's (unlabelled) clips, so a test speaker's statistics never
come from its labelled data. It still assumes a batch of clips per speaker whose emotion mix
resembles the training speakers' (true in RAVDESS, not in a single live clip), which is why
the report keeps it as a separate row rather than the headline.
"""

from __future__ import annotations

import warnings

import numpy as np
from pipeline.checks import SettingError

NORMALISATIONS = ("none", "speaker")


def suffix(normalisation: str) -> str:
    """What a model's name adds for its normalisation: nothing for none, " + speaker norm"."""
    return "" if normalisation == "none" else f" + {normalisation} norm"


def speaker_standardise(X: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Z-score every column within each speaker; constant columns become 0, NaNs stay NaN."""
    out = np.empty_like(X, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns of a speaker stay NaN
        for speaker in np.unique(speakers):
            rows = speakers == speaker
            mean = np.nanmean(X[rows], axis=0)
            std = np.nanstd(X[rows], axis=0)
            out[rows] = (X[rows] - mean) / np.where(std > 0, std, 1.0)
    return out


def normalise(name: str, X: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """The named normalisation of a feature matrix (rows grouped by `speakers`)."""
    if name == "none":
        return X
    if name == "speaker":
        return speaker_standardise(X, speakers)
    raise SettingError(f"unknown normalisation {name!r}; known: {list(NORMALISATIONS)}")

"""Clip-level statistics of frame-level descriptors (shared by the audio and face branches).

A functional maps `(n_frames, n_descriptors)` to `(n_descriptors,)`. NaN frames (e.g.
unvoiced frames in an F0 track) are ignored; an all-NaN column gives NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np


def _slope(x: np.ndarray) -> np.ndarray:
    """Least-squares slope per column against time scaled to [0, 1] (rise or fall over the clip)."""
    t = np.linspace(0.0, 1.0, x.shape[0])[:, None] * np.ones((1, x.shape[1]))
    valid = ~np.isnan(x)
    t = np.where(valid, t, np.nan)
    t_centred = t - np.nanmean(t, axis=0)
    x_centred = x - np.nanmean(x, axis=0)
    return np.nansum(t_centred * x_centred, axis=0) / np.nansum(t_centred**2, axis=0)


FUNCTIONALS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda x: np.nanmean(x, axis=0),
    "std": lambda x: np.nanstd(x, axis=0),
    "min": lambda x: np.nanmin(x, axis=0),
    "max": lambda x: np.nanmax(x, axis=0),
    "p10": lambda x: np.nanpercentile(x, 10, axis=0),
    "p50": lambda x: np.nanpercentile(x, 50, axis=0),
    "p90": lambda x: np.nanpercentile(x, 90, axis=0),
    "slope": _slope,
}


def pool(x: np.ndarray, names: list[str], functionals: list[str]) -> dict[str, float]:
    """Apply each named functional to every column: {"<column>_<functional>": value}."""
    unknown = sorted(set(functionals) - set(FUNCTIONALS))
    if unknown:
        raise ValueError(f"unknown functionals {unknown}; known: {sorted(FUNCTIONALS)}")
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, by design
        for functional in functionals:
            values = FUNCTIONALS[functional](x)
            out.update({f"{name}_{functional}": float(v) for name, v in zip(names, values)})
    return out

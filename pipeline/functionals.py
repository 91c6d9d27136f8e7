"""Clip-level statistics of frame-level descriptors (shared by the audio and face branches).

A functional maps `(n_frames, n_descriptors)` to `(n_descriptors,)`. NaN frames (e.g.
unvoiced frames in an F0 track) are ignored; an all-NaN column gives NaN.
"""

from __future__ import annotations

import re
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


def _quantiles(x: np.ndarray, percents: list[float]) -> np.ndarray:
    """NaN-aware linear-interpolation percentiles `(len(percents), n_columns)` from one sort.

    np.nanpercentile loops over columns in Python; sorting once (NaNs sort last) and
    interpolating by each column's count of valid values is the same rule, vectorized.
    """
    ordered = np.sort(x, axis=0)
    valid = (~np.isnan(x)).sum(axis=0)
    position = np.asarray(percents)[:, None] / 100.0 * np.maximum(valid - 1, 0)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, np.maximum(valid - 1, 0))
    columns = np.arange(x.shape[1])
    fraction = position - low
    values = ordered[low, columns] * (1 - fraction) + ordered[high, columns] * fraction
    return np.where(valid > 0, values, np.nan)


FUNCTIONALS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda x: np.nanmean(x, axis=0),
    "std": lambda x: np.nanstd(x, axis=0),
    "min": lambda x: np.nanmin(x, axis=0),
    "max": lambda x: np.nanmax(x, axis=0),
    "slope": _slope,
}
PERCENTILE = re.compile(r"^p(\d{1,2})$")  # p10, p50, p90, ...: any percentile


def pool(x: np.ndarray, names: list[str], functionals: list[str]) -> dict[str, float]:
    """Apply each named functional to every column: {"<column>_<functional>": value}."""
    unknown = sorted(f for f in functionals if f not in FUNCTIONALS and not PERCENTILE.match(f))
    if unknown:
        raise ValueError(f"unknown functionals {unknown}; known: {sorted(FUNCTIONALS)} and pNN percentiles")
    percentiles = [f for f in functionals if PERCENTILE.match(f)]
    computed: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, by design
        if percentiles:
            values = _quantiles(x, [float(PERCENTILE.match(p).group(1)) for p in percentiles])
            computed.update(zip(percentiles, values))
        computed.update({f: FUNCTIONALS[f](x) for f in functionals if f in FUNCTIONALS})
    return {f"{name}_{f}": float(v) for f in functionals for name, v in zip(names, computed[f])}

"""Clip-level statistics of frame-level descriptors (shared by the audio and face branches).

A functional maps `(n_frames, n_descriptors)` to `(n_descriptors,)`. NaN frames (e.g.
unvoiced frames in an F0 track, frames without a face) are ignored; an all-NaN column
gives NaN. Columns with no NaN take the plain NumPy reductions, which are several times
cheaper than the NaN-aware ones: this runs once per clip over thousands of clips.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import numpy as np
from pipeline.checks import SettingError

PERCENTILE = re.compile(r"^p(\d{1,2})$")  # p10, p50, p90, ...: any percentile


def _slope(x: np.ndarray) -> np.ndarray:
    """Least-squares slope per column against time scaled to [0, 1] (rise or fall over the clip)."""
    t = np.linspace(0.0, 1.0, x.shape[0])
    t_centred = t - t.mean()
    return t_centred @ (x - x.mean(axis=0)) / max(float(t_centred @ t_centred), np.finfo(float).tiny)


def _nan_slope(x: np.ndarray) -> np.ndarray:
    """`_slope` over each column's valid frames only."""
    t = np.where(np.isnan(x), np.nan, np.linspace(0.0, 1.0, x.shape[0])[:, None])
    t_centred = t - np.nanmean(t, axis=0)
    return np.nansum(t_centred * (x - np.nanmean(x, axis=0)), axis=0) / np.nansum(t_centred**2, axis=0)


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


Reduction = Callable[[np.ndarray], np.ndarray]
# name -> (reduction for NaN-free columns, reduction that skips NaNs)
FUNCTIONALS: dict[str, tuple[Reduction, Reduction]] = {
    "mean": (lambda x: x.mean(axis=0), lambda x: np.nanmean(x, axis=0)),
    "std": (lambda x: x.std(axis=0), lambda x: np.nanstd(x, axis=0)),
    "min": (lambda x: x.min(axis=0), lambda x: np.nanmin(x, axis=0)),
    "max": (lambda x: x.max(axis=0), lambda x: np.nanmax(x, axis=0)),
    "range": (lambda x: np.ptp(x, axis=0), lambda x: np.nanmax(x, axis=0) - np.nanmin(x, axis=0)),
    "slope": (_slope, _nan_slope),
}


def check(functionals: list[str] | tuple[str, ...]) -> None:
    """Refuse unknown functional names (before any clip is read)."""
    unknown = sorted(f for f in functionals if f not in FUNCTIONALS and not PERCENTILE.match(f))
    if unknown:
        raise SettingError(f"unknown functionals {unknown}; known: {sorted(FUNCTIONALS)} and pNN percentiles")


def pooled_names(names: list[str], functionals: list[str] | tuple[str, ...]) -> list[str]:
    """Names of `pool`'s outputs, in its order: `<column>_<functional>`, functional-major."""
    return [f"{name}_{f}" for f in functionals for name in names]


def pool(x: np.ndarray, functionals: list[str] | tuple[str, ...]) -> np.ndarray:
    """Every functional of every column of `x` `(n_frames, n_columns)`, flattened in the order
    `pooled_names` gives: `(len(functionals) * n_columns,)`."""
    check(functionals)
    if x.shape[0] == 0:
        return np.full(len(functionals) * x.shape[1], np.nan)
    gappy = np.isnan(x).any(axis=0)
    percentiles = [f for f in functionals if PERCENTILE.match(f)]
    computed: dict[str, np.ndarray] = {}
    if percentiles:
        quantiles = _quantiles(x, [float(PERCENTILE.match(p).group(1)) for p in percentiles])
        computed.update(zip(percentiles, quantiles))
    whole, gaps = (x, None) if not gappy.any() else (x[:, ~gappy], x[:, gappy])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, by design
        for f in (f for f in functionals if f in FUNCTIONALS):
            plain, nan_aware = FUNCTIONALS[f]
            values = np.empty(x.shape[1])
            values[~gappy] = plain(whole)
            if gaps is not None:
                values[gappy] = nan_aware(gaps)
            computed[f] = values
    return np.concatenate([computed[f] for f in functionals])

"""Per-clip feature extraction over many clips: parallel over batches, failures collected.

Kept apart from the stage modules so that worker processes import only what the feature
code needs (not pandas), which is most of a worker's start-up time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from joblib import Parallel, delayed

from pipeline import progress
from pipeline.errors import ClipError
from pipeline.extract import featurecache

Settings = TypeVar("Settings")
_BATCH = 32


def _extract_batch(
    features_of: Callable[[str, Settings], np.ndarray], addresses: list[str], settings: Settings,
    cache: Path | None,
) -> list[np.ndarray | str]:
    results: list[np.ndarray | str] = []
    for address in addresses:
        try:
            name = featurecache.key(features_of, address, settings) if cache else ""
        except OSError:  # unreadable: features_of says why, uncached
            name = ""
        found = featurecache.load(cache, name) if name else None
        if found is None:
            try:
                found = features_of(address, settings)
            except ClipError as error:
                found = str(error)
            if name:
                featurecache.store(cache, name, found)
        results.append(found)
    return results


def extract(
    features_of: Callable[[str, Settings], np.ndarray], addresses: list[str], settings: Settings,
    shape: int | tuple[int, ...], desc: str, cached: bool = False,
) -> tuple[np.ndarray, dict[int, str]]:
    """`features_of(address, settings)` for every clip: array `(n_clips, *shape)` (`shape`: one
    clip's result, n_features or e.g. (copies, n_features); NaN for failures) and {clip index:
    reason} for the clips that raised ClipError. `cached`: the addresses are clips (files, zip
    members, image sequences) whose results `featurecache` keeps by content. Runs where the
    caller's `compute.engine` says (sequentially outside one)."""
    cache = featurecache.folder() if cached else None
    batches = [addresses[i : i + _BATCH] for i in range(0, len(addresses), _BATCH)]
    results: list[np.ndarray | str] = []
    with progress.bar(total=len(addresses), desc=desc, unit="clip") as bar:
        for batch in Parallel(return_as="generator")(
            delayed(_extract_batch)(features_of, batch, settings, cache) for batch in batches
        ):
            results += batch
            bar.update(len(batch))
    matrix = np.full((len(results), *np.atleast_1d(shape)), np.nan)
    failures = {}
    for i, result in enumerate(results):
        if isinstance(result, str):
            failures[i] = result
        else:
            matrix[i] = result
    return matrix, failures

"""Feature extraction over many clips: parallel over batches of clips, failures collected.

Kept apart from the stage module so that worker processes import only what the audio
code needs (not pandas), which is most of a worker's start-up time.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from pipeline import audio

_BATCH = 32


def _extract_batch(addresses: list[str], settings: audio.AudioSettings) -> list[dict[str, float] | str]:
    results: list[dict[str, float] | str] = []
    for address in addresses:
        try:
            results.append(audio.clip_features(audio.decode(address), settings))
        except audio.AudioError as error:
            results.append(str(error))
    return results


def extract(
    addresses: list[str], settings: audio.AudioSettings, n_jobs: int
) -> tuple[np.ndarray, list[str], dict[int, str]]:
    """Features of every clip: matrix `(n_clips, n_features)` (NaN rows for failures),
    feature names, and {row index: reason} for the clips that failed."""
    batches = [addresses[i : i + _BATCH] for i in range(0, len(addresses), _BATCH)]
    with tqdm(total=len(addresses), desc="audio features", unit="clip") as bar:
        results: list[dict[str, float] | str] = []
        for batch in Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_extract_batch)(batch, settings) for batch in batches
        ):
            results += batch
            bar.update(len(batch))
    good = [r for r in results if isinstance(r, dict)]
    names = list(good[0]) if good else []
    matrix = np.full((len(results), len(names)), np.nan)
    failures = {}
    for i, result in enumerate(results):
        if isinstance(result, dict):
            matrix[i] = [result[name] for name in names]
        else:
            failures[i] = result
    return matrix, names, failures

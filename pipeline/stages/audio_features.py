"""Stage `audio_features`: data/manifest.parquet -> features/audio.parquet (one row per take).

Clips are processed in parallel (joblib, one batch of clips per task); a clip that fails
is reported in features/audio_rejects.parquet and the others go on.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from pipeline import audio, io

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


def settings_from(params: dict) -> audio.AudioSettings:
    """AudioSettings from the `audio_features` params block (lists become tuples)."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items() if k != "n_jobs"}
    return audio.AudioSettings(**values)


def main() -> None:
    params = io.load_params()["audio_features"]
    takes = pd.read_parquet("data/manifest.parquet")
    matrix, names, failures = extract(takes["audio_path"].tolist(), settings_from(params), params["n_jobs"])
    ok = np.ones(len(takes), dtype=bool)
    ok[list(failures)] = False
    features = pd.concat(
        [takes.loc[ok, ["take"]].reset_index(drop=True), pd.DataFrame(matrix[ok], columns=names)], axis=1
    )
    rejects = pd.DataFrame(
        [{"path": takes["audio_path"].iloc[i], "reason": reason, "outcome": "rejected"} for i, reason in failures.items()],
        columns=["path", "reason", "outcome"],
    )
    for row in rejects.itertuples():
        print(f"rejected: {row.path}: {row.reason}", file=sys.stderr)
    io.write_parquet(features, "features/audio.parquet")
    io.write_parquet(rejects, "features/audio_rejects.parquet")
    print(f"audio_features: {len(features)} takes x {len(names)} features, {len(rejects)} rejected")


if __name__ == "__main__":
    main()

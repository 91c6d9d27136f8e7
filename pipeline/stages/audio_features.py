"""Stage `audio_features`: data/manifest.parquet -> features/audio.parquet (one row per take).

A clip that fails is reported in features/audio_rejects.parquet and the others go on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import audio, io, manifest
from pipeline.audio_batch import extract


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
    rejects = manifest.reject_table(
        [manifest.reject(takes["audio_path"].iloc[i], reason) for i, reason in failures.items()]
    )
    manifest.print_rejects(rejects)
    io.write_parquet(features, "features/audio.parquet")
    io.write_parquet(rejects, "features/audio_rejects.parquet")
    print(f"audio_features: {len(features)} takes x {len(names)} features, {len(rejects)} rejected")


if __name__ == "__main__":
    main()

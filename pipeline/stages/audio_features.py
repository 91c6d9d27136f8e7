"""Stage `audio_features`: data/manifest.parquet -> features/audio.parquet (one row per take with audio).

A clip that fails is reported in features/audio_rejects.parquet and the others go on.
"""

from __future__ import annotations

import pandas as pd

from pipeline import compute, entry, io, paths
from pipeline.extract import audio
from pipeline.extract.outputs import extract_and_write


def main() -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    settings = audio.settings_from(params["audio_features"])
    takes = pd.read_parquet(paths.MANIFEST)
    with compute.engine(where):
        extract_and_write("audio", takes, "audio_path", audio.file_features, settings, audio.feature_names(settings))


if __name__ == "__main__":
    entry.run(main)

"""Stage `face_features`: data/manifest.parquet -> features/face.parquet (one row per take with video).

A clip that cannot be read is reported in features/face_rejects.parquet and the others go on;
a clip in which no face was found is kept (its features are missing, the learners impute
them) and listed there as `kept`, as is one where a face was found in few frames.
"""

from __future__ import annotations

import pandas as pd

from pipeline import compute, entry, io, paths
from pipeline.extract import face
from pipeline.extract.outputs import extract_and_write, face_notes


def main() -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    block = params["face_features"]
    warn_below, settings = face.warn_below_from(block), face.settings_from(block)
    takes = pd.read_parquet(paths.MANIFEST)
    with compute.engine(where):
        extract_and_write("face", takes, "video_path", face.file_features, settings, face.feature_names(settings),
                          notes=lambda features: face_notes(features, warn_below))


if __name__ == "__main__":
    entry.run(main)

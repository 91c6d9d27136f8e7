"""Stage `face_features`: data/manifest.parquet -> features/face.parquet (one row per take with video).

A clip that cannot be read is reported in features/face_rejects.parquet and the others go on;
a clip in which no face was found is kept (its features are missing, the learners impute
them) and listed there as `kept`, as is one where a face was found in few frames.
"""

from __future__ import annotations

import pandas as pd

from pipeline import checks, compute, io, paths
from pipeline.extract import face
from pipeline.ingest import manifest
from pipeline.stages.features import extract_and_write


def settings_from(params: dict) -> face.FaceSettings:
    """FaceSettings from the `face_features` params block (lists become tuples)."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items() if k != "warn_below"}
    return checks.from_block("face_features", face.FaceSettings, values)  # warn_below: read by main


def face_notes(features: pd.DataFrame, warn_below: float) -> list[dict[str, str]]:
    """A `kept` reject row for each clip with no face, or a face in under `warn_below` of its frames."""
    return [
        manifest.reject(
            row.path,
            "no face detected in any sampled frame: features missing" if row.face_fraction == 0
            else f"face found in only {row.face_fraction:.0%} of {int(row.frames_sampled)} sampled frames",
            outcome="kept",
        )
        for row in features[["path", "face_fraction", "frames_sampled"]].itertuples()
        if row.face_fraction < warn_below
    ]


def main() -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    block = params["face_features"]
    warn_below = block.get("warn_below", 0.5)
    if not (checks.is_number(warn_below) and 0 <= warn_below <= 1):
        raise ValueError(f"face_features.warn_below: {warn_below!r} is not allowed; it must be a fraction from 0 to 1")
    settings = settings_from(block)
    takes = pd.read_parquet(paths.MANIFEST)
    with compute.engine(where):
        extract_and_write("face", takes, "video_path", face.file_features, settings, face.feature_names(settings),
                          notes=lambda features: face_notes(features, warn_below))


if __name__ == "__main__":
    main()

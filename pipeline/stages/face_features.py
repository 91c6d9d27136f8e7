"""Stage `face_features`: data/manifest.parquet -> features/face.parquet (one row per take with video).

A clip that cannot be read is reported in features/face_rejects.parquet and the others go on;
a clip in which no face was found is kept (its features are missing, the learners impute
them) and listed there as `kept`, as is one where a face was found in few frames.
"""

from __future__ import annotations

import pandas as pd

from pipeline import face, io, manifest, paths
from pipeline.stages.features import extract_and_write


def settings_from(params: dict) -> face.FaceSettings:
    """FaceSettings from the `face_features` params block (lists become tuples)."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items() if k not in ("n_jobs", "warn_below")}
    return face.FaceSettings(**values)


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
    params = io.load_params()["face_features"]
    takes = pd.read_parquet(paths.MANIFEST)
    settings = settings_from(params)
    extract_and_write(
        "face", takes, "video_path", face.file_features, settings, face.feature_names(settings), params["n_jobs"],
        notes=lambda features: face_notes(features, params["warn_below"]),
    )


if __name__ == "__main__":
    main()

"""MEAD talking faces (real clips, 3 speakers, 8 emotions) through the project's own face branch:
ingest -> face_features -> train, each stage run as `dvc repro` runs it, in a temporary project."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import yaml

from conftest import REPO, SHARED

MEAD = SHARED / "faces" / "mead"


def run_stage(project, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr


def test_mead_clips_train_the_face_branch_on_speakers_held_out(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["fetch"]["corpora"] = {"mead": [str(MEAD)]}  # with original/: the same take in its 1080p form
    params["external_features"] = {}
    params["train"].update(outer_folds=3, inner_folds=2, permutation_check=False)
    params["learners"]["rf"].update(n_iter=2, fixed={"clf__n_estimators": 60})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("fetch", "ingest", "face_features"):
        run_stage(tmp_path, f"pipeline.stages.{stage}")

    takes = pd.read_parquet(tmp_path / "data/manifest.parquet")
    assert len(takes) == 24 and set(takes["corpus"]) == {"mead"} and takes["speaker"].nunique() == 3
    assert set(takes["label"]) == {"neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised", "contempt"}
    rejects = pd.read_parquet(tmp_path / "data/rejects.parquet")
    duplicate = rejects[rejects["reason"].str.startswith("duplicate of take mead-M030_sad_level3_001")]
    assert len(duplicate) == 1 and duplicate["outcome"].iloc[0] == "dropped"
    faces = pd.read_parquet(tmp_path / "features/face.parquet")
    assert len(faces) == 24 and (faces["face_fraction"] > 0.9).all()  # frontal talking faces: found in every frame

    run_stage(tmp_path, "pipeline.stages.train", "face", "rf", "none")
    oof = pd.read_parquet(tmp_path / "models/learners/face/rf-none.oof.parquet")
    assert len(oof) == 24
    for _, fold in oof.groupby("fold"):  # each speaker is tested by a model that never saw them
        assert fold["speaker"].nunique() == 1
    summary = json.loads((tmp_path / "models/learners/face/rf-none.json").read_text())
    assert summary["chance"] == 1 / 8 and 0 <= summary["accuracy"] <= 1 and len(summary["per_fold"]) == 3

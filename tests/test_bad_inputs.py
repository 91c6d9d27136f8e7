"""The bad-input catalogue (tests/bad_inputs.py) through the real stages: fetch, ingest, the audio
and face features and an external table, in a project of its own. Every kind gets its answer
(a reject naming the file and the reason, or the take kept with a note), the good takes beside
them are used, and no stage fails; bad settings stop their stage before any work, naming the
setting, the value and what is allowed."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bad_inputs import IMAGES, RAVDESS_KINDS, Kind, spoil_table_rows
from conftest import REPO, SHARED

AU_TABLE = SHARED / "ravdess-openface" / "au_clip_means.csv"


def stage(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=project, capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "NUMBA_CACHE_DIR": str(project / ".numba")})


def bad_table(path: Path) -> dict[str, str]:
    """Real action-unit rows of actor 5, spoiled one way each; row number -> words of its reject."""
    real = pd.read_csv(AU_TABLE)
    real = real[real["take"].str.endswith("-05")].head(8).reset_index(drop=True)
    real.loc[0, "take"] = "01-01-04-02-01-01-05"  # a take the catalogue keeps (its stereo copy): used
    spoil_table_rows(real).to_csv(path, index=False)
    return {"row 2": "column AU04_r holds text, not a number", "row 3": "column AU06_r is empty, not a finite number",
            "row 4": "column AU07_r is inf, not a finite number", "row 5": "not a RAVDESS name",
            "row 6": "duplicate of take 01-04-02-01-01-05", "row 7": "is not in the manifest",
            "notes": "holds text, not numbers: left out"}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A project whose roots hold every kind plus good takes, after fetch, ingest and the feature stages."""
    project = tmp_path_factory.mktemp("catalogue")
    ravdess, ckplus = project / "in" / "ravdess", project / "in" / "ckplus"
    names = {kind.name: kind.build(ravdess) for kind in RAVDESS_KINDS}
    names |= {kind.name: kind.build(ckplus) for kind in IMAGES}
    for frame in (SHARED / "ckplus48" / "happy").glob("S010_006_*.png"):  # a good sequence beside them
        shutil.copy(frame, ckplus / "happy" / frame.name)
    rows = bad_table(project / "in" / "au.csv")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["fetch"]["corpora"] = {"ravdess": [str(ravdess)], "ckplus": [str(ckplus)]}
    params["ingest"]["max_take_mb"] = 1
    params["external_features"]["au"]["path"] = str(project / "in" / "au.csv")
    params["compute"]["n_jobs"] = 1
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    for args in (["pipeline.stages.fetch"], ["pipeline.stages.ingest"], ["pipeline.stages.audio_features"],
                 ["pipeline.stages.face_features"], ["pipeline.stages.external_features", "au"]):
        done = stage(project, *args)
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stderr[-3000:]}"
    return project, names | rows


def answers(project: Path) -> pd.DataFrame:
    """Every reject row the stages wrote, with the table it is in."""
    tables = {"ingest": "data/rejects.parquet", "audio": "features/audio_rejects.parquet",
              "face": "features/face_rejects.parquet", "au": "features/au_rejects.parquet"}
    return pd.concat([pd.read_parquet(project / path).assign(table=name) for name, path in tables.items()],
                     ignore_index=True)


@pytest.mark.parametrize("kind", RAVDESS_KINDS + IMAGES, ids=lambda kind: kind.name)
def test_each_kind_gets_its_answer_naming_the_file(catalogue, kind: Kind):
    project, names = catalogue
    said = answers(project)
    mine = said[said["path"].map(lambda p: Path(p.split("::")[-1]).name) == names[kind.name]]
    outcome, words = kind.answer
    if outcome == "used":
        assert mine.empty and words in set(pd.read_parquet(project / "data/manifest.parquet")["take"])
        return
    assert any(r.outcome == outcome and words in r.reason for r in mine.itertuples()), (
        f"{kind.name}: expected {outcome} '{words}', got {mine[['outcome', 'reason', 'table']].to_dict('records')}")


def test_the_good_takes_beside_them_are_used(catalogue):
    project, _ = catalogue
    takes = pd.read_parquet(project / "data/manifest.parquet")
    audio = pd.read_parquet(project / "features/audio.parquet")
    kept = {"01-04-02-01-01-05", "01-04-02-01-02-05", "01-02-02-02-01-05", "01-03-01-01-01-05"}  # stereo, 22 kHz, ...
    assert kept <= set(takes["take"]) and kept <= set(audio["take"])
    assert np.isfinite(audio.drop(columns="take").to_numpy(dtype=float)[:, :100]).all()
    assert takes.loc[takes["corpus"] == "ckplus", "take"].tolist() == ["ckplus-S010_006"]  # the good CK+ sequence
    face = pd.read_parquet(project / "features/face.parquet")
    assert set(takes.loc[takes["video_path"].notna(), "take"]) == set(face["take"])


def test_every_bad_row_of_an_external_table_is_named_and_the_good_row_used(catalogue):
    project, expected = catalogue
    said = answers(project)
    said = said[said["table"] == "au"]
    for where, words in ((k, v) for k, v in expected.items() if k.startswith("row") or k == "notes"):
        assert any(where in r.path + r.reason and words in r.reason for r in said.itertuples()), (where, words)
    assert pd.read_parquet(project / "features/au.parquet")["take"].tolist() == ["01-04-02-01-01-05"]


@pytest.mark.parametrize(("stage_args", "block", "setting", "value", "message"), [
    (["pipeline.stages.audio_features"], "audio_features", "n_mfcc", 0, "audio_features.n_mfcc: 0 is not allowed"),
    (["pipeline.stages.audio_features"], "audio_features", "sample_rate", "sixteen",
     "audio_features.sample_rate: 'sixteen' is not allowed"),
    (["pipeline.stages.audio_features"], "audio_features", "fmax", -1, "audio_features.fmax: -1 is not allowed"),
    (["pipeline.stages.audio_features"], "audio_features", "hop_length", 0, "audio_features.hop_length: 0 is not allowed"),
    (["pipeline.stages.audio_features"], "audio_features", "fmaxx", 7000, "audio_features: unknown setting(s) fmaxx"),
    (["pipeline.stages.face_features"], "face_features", "every_nth", 0, "face_features.every_nth: 0 is not allowed"),
    (["pipeline.stages.face_features"], "face_features", "warn_below", "half",
     "face_features.warn_below: 'half' is not allowed; it must be a fraction from 0 to 1"),
    (["pipeline.stages.face_features"], "face_features", "max_frame", 10, "face_features: unknown setting(s) max_frame"),
    (["pipeline.stages.ingest"], "ingest", "silence_dbfs", "quiet", "ingest.silence_dbfs: 'quiet' must be a negative"),
    (["pipeline.stages.ingest"], "ingest", "holdout_actors", [21], "ingest: unknown setting(s) holdout_actors"),
    (["pipeline.stages.train", "audio", "svm", "none"], "train", "outerfolds", 5, "train: unknown setting(s) outerfolds"),
    (["pipeline.stages.ingest"], "ingest", "holdout_speakers", "ravdess-21",
     "ingest.holdout_speakers: 'ravdess-21' must be a list"),
    (["pipeline.stages.train", "audio", "svm", "none"], "train", "outer_folds", -2, "train.outer_folds: -2 is not allowed"),
    (["pipeline.stages.train", "audio", "svm", "none"], "train", "seed", "abc", "train.seed: 'abc' is not allowed"),
    (["pipeline.stages.train", "audio", "xgb", "none"], "learners", "xgb", {"n_iter": 2, "halving": 1, "space": {
        "clf__max_depth": {"int_uniform": [2, 4]}}}, "learners.xgb.halving: 1 is not allowed"),
    (["pipeline.stages.opensmile_features", "compare2016"], "opensmile_features", "compare2016",
     {"feature_set": "ComParE_2013"}, "opensmile_features.compare2016.feature_set: 'ComParE_2013' is not allowed"),
    (["pipeline.stages.audio_features"], "compute", "n_jobs", 0, "compute.n_jobs: 0 is not allowed"),
    (["pipeline.stages.fetch"], "fetch", "corpora", {"ravdes": ["in/ravdess"]},
     "fetch.corpora: unknown setting(s) ravdes; known: ckplus, cremad, emodb, mead, ravdess"),
    (["pipeline.stages.fetch"], "fetch", "corpora", {"ravdess": "in/ravdess"},
     "fetch.corpora.ravdess: 'in/ravdess' is not allowed; it must be a list"),
    (["pipeline.stages.fetch"], "fetch", "download", {"enabled": "yes", "url": "", "dir": "", "files": {}},
     "fetch.download.enabled: 'yes' is not allowed; it must be true or false"),
    (["pipeline.stages.fuse"], "fuse", "rules", "mean", "fuse.rules: 'mean' is not allowed; it must be a list"),
    (["pipeline.stages.report"], "fuse", "deploy", "median", "fuse.deploy (median) must be one of fuse.rules"),
    (["pipeline.stages.fuse"], "fuse", "deploi", "mean", "fuse: unknown setting(s) deploi; known: rules, deploy"),
    (["pipeline.stages.train", "audio", "svm", "none", "--variant", "speech_only"], "compare", "learnr", "svm",
     "compare: unknown setting(s) learnr"),
])
def test_a_bad_setting_stops_its_stage_before_any_work(catalogue, tmp_path, stage_args, block, setting, value, message):
    project, _ = catalogue
    params = yaml.safe_load((project / "params.yaml").read_text())
    params[block][setting] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for folder in ("data", "features"):
        shutil.copytree(project / folder, tmp_path / folder)
    done = stage(tmp_path, *stage_args)
    assert done.returncode != 0 and message in done.stderr.strip().splitlines()[-1], done.stderr[-2000:]

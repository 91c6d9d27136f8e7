"""A corpus described by a table (file, speaker, emotion): real EmoDB and MEAD files give the
manifest their own adapters give; bad rows are rejects with reasons and the rest is kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import REPO, SHARED, real_take, write_clip
from pipeline import io
from pipeline.ingest import manifest
from pipeline.ingest.corpora import emodb, table
from pipeline.stages import fetch

EVERYTHING = manifest.Selection(("speech", "song"), ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust",
                                                      "surprised", "contempt", "boredom"), ("normal", "strong"), ())
EMODB = SHARED / "emodb" / "wav"
MEAD = SHARED / "faces" / "mead"


def test_emodb_described_by_a_table_gives_the_adapters_manifest(tmp_path):
    files = sorted(EMODB.glob("*.flac"))[::12]
    rows = [{"file": str(f), "speaker": f.stem[:2], "emotion": f.stem[5], "gender": emodb.GENDERS[f.stem[:2]]}
            for f in files]
    pd.DataFrame(rows).to_csv(tmp_path / "emodb.csv", index=False)
    spec = table.TableSpec(str(tmp_path / "emodb.csv"), labels=emodb.EMOTIONS)

    by_table, table_rejects = manifest.build({}, EVERYTHING, -60.0, described={"emodb": spec})
    by_names, name_rejects = manifest.build({"emodb": [str(f) for f in files]}, EVERYTHING, -60.0)
    assert len(by_table) == len(files) == 45 and by_table["speaker"].nunique() > 1
    pd.testing.assert_frame_equal(by_table, by_names)
    pd.testing.assert_frame_equal(table_rejects, name_rejects)  # the resampling caveats, file by file


def test_mead_videos_described_by_a_tsv_give_the_adapters_manifest(tmp_path):
    files = sorted(str(p) for p in MEAD.rglob("*.mp4"))
    rows = []
    for path in files:  # Speaker_view_emotion_levelL_NNN: the take leaves the camera out
        speaker, _, emotion, level, number = os.path.basename(path)[:-4].split("_")
        rows.append({"file": path, "who": speaker, "emotion": {"disgusted": "disgust", "fear": "fearful"}.get(
            emotion, emotion), "take": f"{speaker}_{emotion}_{level}_{number}",
            "gender": "male" if speaker[0] == "M" else "female"})
    pd.DataFrame(rows).to_csv(tmp_path / "mead.tsv", sep="\t", index=False)
    spec = table.TableSpec(str(tmp_path / "mead.tsv"), columns={"speaker": "who"})

    by_table, table_rejects = manifest.build({}, EVERYTHING, -60.0, described={"mead": spec})
    by_names, name_rejects = manifest.build({"mead": files}, EVERYTHING, -60.0)
    assert len(by_table) == 24 and by_table["video_path"].notna().all()
    pd.testing.assert_frame_equal(by_table, by_names)
    pd.testing.assert_frame_equal(table_rejects, name_rejects)  # the 1080p copy of one take, dropped


@pytest.fixture
def clips(tmp_path):
    """A folder of real clips and a link out of it: two voices, one face sequence (real CK+ frames)."""
    folder = tmp_path / "mine"
    write_clip(folder / "a" / "one.wav", real_take(1, "03-01-05-02-01-01-01"))
    write_clip(folder / "a" / "two.flac", real_take(2, "03-01-04-02-01-01-02"))
    sequence = folder / "faces" / "s1"
    sequence.mkdir(parents=True)
    for frame in sorted((SHARED / "ckplus48" / "happy").glob("*.png"))[:3]:
        shutil.copy(frame, sequence)
    write_clip(tmp_path / "outside.wav", real_take(3, "03-01-03-02-01-01-03"))
    os.symlink(tmp_path / "outside.wav", folder / "a" / "link.wav")
    return folder


def test_bad_rows_are_rejects_with_reasons_and_the_rest_is_kept(clips):
    rows = [
        ("a/one.wav", "spk1", "ang", "speech"),
        ("a/two.flac", "spk2", "sad", ""),
        ("faces/s1", "spk3", "happy", ""),
        ("a/missing.wav", "spk1", "sad", ""),
        ("a/one.wav", "spk1", "ang", ""),  # the same file again
        ("../outside.wav", "spk1", "sad", ""),
        ("a/link.wav", "spk1", "sad", ""),
        ("a/two.flac", "", "sad", ""),
        ("a/two.flac", "spk2", "elated", ""),
        ("a/two.flac", "spk2", "sad", "shout"),
        ("", "spk2", "sad", ""),
    ]
    pd.DataFrame(rows, columns=["path", "speaker", "emotion", "channel"]).to_parquet(clips / "labels.parquet")
    spec = table.TableSpec.from_params("mine", {"path": str(clips / "labels.parquet"), "columns": {"file": "path"},
                                                "labels": {"ang": "angry"}})
    takes, rejects = manifest.build({}, EVERYTHING, -60.0, described={"mine": spec})

    assert list(takes["take"]) == ["mine-a/one", "mine-a/two", "mine-faces/s1"]
    assert list(takes["label"]) == ["angry", "sad", "happy"]
    assert list(takes["speaker"]) == ["mine-spk1", "mine-spk2", "mine-spk3"]
    assert takes.set_index("take").loc["mine-a/one", "channel"] == "speech"
    face = takes.set_index("take").loc["mine-faces/s1"]
    assert face["video_path"].endswith("s1/*.png") and face["n_frames"] == 3 and pd.isna(face["audio_path"])
    reasons = {(path.split(" line ")[1], reason) for path, reason in zip(rejects["path"], rejects["reason"])
               if " line " in path}
    assert reasons == {
        ("5: a/missing.wav", "no such file"),
        ("6: a/one.wav", "duplicate of line 2 (the same file)"),
        ("7: ../outside.wav", "'../outside.wav' climbs out of the table's folder through '..'"),
        ("8: a/link.wav", "'a/link.wav' leads out of the table's folder through a link"),
        ("9: a/two.flac", "empty speaker cell"),
        ("10: a/two.flac", "label 'elated' maps to no emotion (add it to labels, or set unmapped: keep)"),
        ("11: a/two.flac", "channel 'shout': expected one of speech, song or empty"),
        ("12", "empty file cell"),
    }


@pytest.mark.parametrize("windows", [False, True])
def test_numbered_files_in_per_speaker_folders_are_each_a_take(tmp_path, windows):
    """`p5/01.wav` and `p6/01.wav` are two takes of two speakers (the commonest layout there is), not
    one take and a duplicate; a table written on Windows (`p5\\01.wav`) reads the same."""
    folder = tmp_path / "spk"
    emotions = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
    rows, separator = [], "\\" if windows else "/"
    for speaker, actor in (("p5", 5), ("p6", 6)):
        for number, emotion in enumerate(emotions, start=1):
            take = f"03-01-{number:02d}-01-01-01-{actor:02d}"
            write_clip(folder / speaker / f"{number:02d}.wav", real_take(actor, take), seconds=0.5)
            rows.append({"file": f"{speaker}{separator}{number:02d}.wav", "speaker": speaker,
                         "emotion": emotion})
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    takes, rejects = manifest.build({}, EVERYTHING, -60.0, described={"mine": table.TableSpec(str(folder / "labels.csv"))})
    assert rejects.empty, rejects
    assert len(takes) == 16 and takes["take"].is_unique
    assert takes.groupby("speaker")["label"].nunique().to_dict() == {"mine-p5": 8, "mine-p6": 8}
    assert set(takes["take"]) == {f"mine-{s}/{n:02d}" for s in ("p5", "p6") for n in range(1, 9)}


def test_a_labels_map_matches_as_the_built_in_labels_do_and_its_keys_are_text(tmp_path, clips):
    """`Calm: neutral` matches `calm` and `CALM` (built-in labels ignore case too); `1: happy` and
    `yes: sad` match the cells `1` and `yes` (params.yaml read as DVC reads it, YAML 1.2: `yes` is a
    word), and a map mixing number and word keys is written to data/sources.json."""
    pd.DataFrame({"file": ["a/one.wav", "a/two.flac", "faces/s1"], "speaker": ["x", "y", "z"],
                  "emotion": ["CALM", "1", "yes"]}).to_csv(clips / "labels.csv", index=False)
    params = tmp_path / "params.yaml"
    params.write_text(f"fetch:\n  tables:\n    no:\n      path: {clips / 'labels.csv'}\n"
                      "      labels: {Calm: neutral, 1: happy, yes: sad}\n")
    block = io.load_params(params)["fetch"]["tables"]
    assert list(block) == ["no"]
    spec = table.TableSpec.from_params("no", block["no"])
    takes, rejects = manifest.build({}, EVERYTHING, -60.0, described={"no": spec})
    assert rejects.empty and list(takes["label"]) == ["neutral", "happy", "sad"]
    assert fetch.table_source(spec, {})["spec"]["labels"] == {"calm": "neutral", "1": "happy", "yes": "sad"}


def test_unmapped_labels_can_be_kept_under_their_own_name_and_selected(clips):
    pd.DataFrame({"file": ["a/one.wav", "a/two.flac"], "speaker": ["x", "y"], "emotion": ["Elated", "sad"]}).to_csv(
        clips / "labels.csv", index=False)
    spec = table.TableSpec(str(clips / "labels.csv"), unmapped="keep")
    takes, _ = manifest.build({}, EVERYTHING, -60.0, described={"mine": spec})
    assert list(takes["label"]) == ["sad"]  # not selected: counted, not rejected
    with_it = manifest.Selection(("speech",), ("sad", "elated"), ("normal",), ())
    takes, _ = manifest.build({}, with_it, -60.0, described={"mine": spec})
    assert list(takes["label"]) == ["elated", "sad"]


def test_an_unreadable_table_or_one_without_its_columns_is_one_reject_and_other_corpora_go_on(clips, angry_take):
    (clips / "broken.parquet").write_bytes(b"not parquet")
    pd.DataFrame({"file": ["a/one.wav"], "who": ["x"], "emotion": ["sad"]}).to_csv(clips / "few.csv", index=False)
    described = {"broken": table.TableSpec(str(clips / "broken.parquet")), "few": table.TableSpec(str(clips / "few.csv"))}
    voice = write_clip(clips.parent / "Actor_01" / "03-01-05-02-01-01-01.wav", angry_take)
    takes, rejects = manifest.build({"ravdess": [str(voice)]}, EVERYTHING, -60.0, described=described)
    assert list(takes["corpus"]) == ["ravdess"]
    reasons = dict(zip(rejects["path"], rejects["reason"]))
    assert reasons[str(clips / "broken.parquet")].startswith("cannot be read as a PARQUET table")
    assert reasons[str(clips / "few.csv")].startswith("no column 'speaker' (columns: file, who, emotion")


def test_fetch_checks_the_tables_and_fingerprints_the_files_they_name(clips):
    pd.DataFrame({"file": ["a/one.wav"], "speaker": ["x"], "emotion": ["sad"]}).to_csv(clips / "t.csv", index=False)
    block = {"corpora": {"ravdess": []}, "download": {"enabled": False}, "tables": {"mine": {"path": str(clips / "t.csv")}}}
    spec = fetch.check(block)["mine"]
    first = fetch.table_source(spec, {})
    assert first["files"] == 2 and first["spec"]["path"] == str(clips / "t.csv")
    write_clip(clips / "a" / "one.wav", real_take(1, "03-01-05-02-01-01-01"), seconds=1.0)  # the clip changes
    assert fetch.table_source(spec, {})["digest"] != first["digest"]
    for tables, message in (({"Mine": {"path": "t.csv"}}, "not allowed as a corpus name"),
                            ({"mine": {"path": "t.txt"}}, "fetch.tables.path: 't.txt' is not allowed"),
                            ({"mine": {"path": "t.csv", "labels": {"a": "joy"}}}, "fetch.tables.labels"),
                            ({"mine": {"path": "t.csv", "sep": ";"}}, r"fetch.tables.mine: unknown setting\(s\) sep"),
                            ({"ravdess": {"path": "t.csv"}}, "also read from folders")):
        with pytest.raises(ValueError, match=message):
            fetch.check(block | {"corpora": {"ravdess": ["x"]}, "tables": tables})


def test_the_fetch_and_ingest_stages_read_a_table_corpus(clips, tmp_path):
    pd.DataFrame({"file": ["a/one.wav", "a/two.flac", "a/none.wav"], "actor": ["x", "y", "y"],
                  "emotion": ["angry", "sad", "sad"]}).to_csv(clips / "labels.csv", index=False)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["fetch"]["corpora"] = {}
    params["fetch"]["tables"] = {"mine": {"path": str(clips / "labels.csv"), "columns": {"speaker": "actor"}}}
    project = tmp_path / "project"
    project.mkdir()
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("fetch", "ingest"):
        done = subprocess.run([sys.executable, "-m", f"pipeline.stages.{stage}"], cwd=project, capture_output=True,
                              text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 0, done.stderr
    takes = pd.read_parquet(project / "data/manifest.parquet")
    assert list(takes["take"]) == ["mine-a/one", "mine-a/two"] and list(takes["speaker"]) == ["mine-x", "mine-y"]
    rejects = pd.read_parquet(project / "data/rejects.parquet")
    assert list(rejects["reason"]) == ["no such file"] and "labels.csv line 4: a/none.wav" in done.stderr


def test_a_queued_experiments_copy_refuses_roots_relative_to_the_project(tmp_path, monkeypatch):
    """`dvc exp run --queue` runs in .dvc/tmp/exps/<copy>/, where `../shared/data/...` leads nowhere:
    fetch says so, with the absolute path to give, instead of an empty corpus."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())["fetch"]
    copy = tmp_path / "project" / ".dvc" / "tmp" / "exps" / "tmpq1"
    copy.mkdir(parents=True)
    monkeypatch.chdir(copy)
    with pytest.raises(ValueError, match=r"relative to the project, so not found from a queued experiment's copy "
                                         rf".*here: {tmp_path}/shared/data/ravdess"):
        fetch.check(params)
    monkeypatch.chdir(tmp_path)
    fetch.check(params)  # the project itself: its roots are checked where they are read

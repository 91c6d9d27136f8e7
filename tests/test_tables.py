"""Externally measured features: real OpenFace action units of RAVDESS takes (a clip-level table)
and a real OpenFace per-frame CSV, plus the bad tables a user may bring, made here from them."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from bad_inputs import spoil_table_rows
from conftest import REPO, SHARED
from pipeline.extract import face, tables
from pipeline.ingest.corpora import CorpusNameError

AU_TABLE = SHARED / "ravdess-openface" / "au_clip_means.csv"
OPENFACE_CSV = SHARED / "faces" / "landmarks" / "OpenFace_Test.csv"
FUNCTIONALS = ("mean", "std", "min", "max", "range", "p10", "p50", "p90")


def source(path, fmt: str = "table", **settings) -> tables.ExternalSource:
    defaults = {"clip_column": "take"} if fmt == "table" else {"min_confidence": 0.88}
    return tables.ExternalSource("au", "face", "ravdess", fmt, str(path), functionals=FUNCTIONALS,
                                 **{**defaults, **settings})


def reasons(rejects: list[dict[str, str]]) -> str:
    return "\n".join(f"{r['outcome']}: {r['path']}: {r['reason']}" for r in rejects)


def test_the_three_names_of_one_ravdess_performance_are_one_take():
    takes = {tables.take_of("ravdess", f"{m}-01-05-02-01-01-07{suffix}")
             for m, suffix in (("01", ".mp4"), ("02", ""), ("03", ".wav"))}
    assert takes == {"01-05-02-01-01-07"}
    assert tables.take_of("mead", "M030_front_sad_level3_001") == tables.take_of("mead", "M030_left_30_sad_level3_001.mp4")
    with pytest.raises(CorpusNameError, match="not a RAVDESS name"):
        tables.take_of("ravdess", "03a01Wa")


def test_the_real_action_unit_table_joins_every_take():
    rows = tables.read_rows(source(AU_TABLE))
    assert rows.X.shape == (1200, 35) and not rows.rejects
    assert rows.names[0] == "AU01_r" and rows.names[-1] == "AU45_c"
    known = {tables.take_of("ravdess", clip) for clip in rows.clips}
    features, rejects = tables.match_takes(rows, "ravdess", known)
    assert len(features) == 1200 and not rejects
    by_take = dataclasses.replace(rows, clips=[tables.take_of("ravdess", clip) for clip in rows.clips])
    assert tables.match_takes(by_take, "ravdess", known)[0].equals(features)  # rows named by take id join alike
    assert features.columns.tolist() == ["take", *rows.names]
    expected = pd.read_csv(AU_TABLE).iloc[0]
    assert features.iloc[0, 1:].to_numpy(dtype=float) == pytest.approx(expected.iloc[1:].to_numpy(dtype=float))


def test_bad_rows_are_rejected_with_file_row_clip_and_reason_and_the_rest_is_used(tmp_path):
    real = pd.read_csv(AU_TABLE).head(8)
    bad = spoil_table_rows(real)
    path = tmp_path / "au.csv"
    text = bad.to_csv(index=False)
    path.write_text(text + real.iloc[7:8].to_csv(index=False, header=False)[:40])  # truncated mid-row
    rows = tables.read_rows(source(path))
    known = {tables.take_of("ravdess", clip) for clip in real["take"]} | {"01-01-01-01-01-23"[3:]}
    features, rejected = tables.match_takes(rows, "ravdess", known)
    said = reasons(rows.rejects + rejected)
    assert f"{path}: row 2 (clip '{real.loc[1, 'take']}'): column AU04_r holds text, not a number" in said
    assert "row 3" in said and "column AU06_r is empty, not a finite number" in said
    assert "row 4" in said and "column AU07_r is inf, not a finite number" in said
    assert f"{path} row 5: clip '03a01Wa': not a RAVDESS name" in said
    assert f"duplicate of take {real.loc[0, 'take'][3:]} (kept {path} row 1)" in said
    assert "take 01-01-01-01-01-23 is not in the manifest" in said
    assert "dropped: " in said and "column 'notes' holds text, not numbers: left out" in said
    assert "row 9" in said  # the truncated last row: its missing values
    assert features["take"].tolist() == [real.loc[i, "take"][3:] for i in (0, 7)]
    assert "notes" not in features.columns and features.shape[1] == 36


def test_unusable_files_are_rejected_and_other_files_still_read(tmp_path):
    real = pd.read_csv(AU_TABLE)
    folder = tmp_path / "tables"
    folder.mkdir()
    real.iloc[:5].to_parquet(folder / "a_first.parquet")
    real.iloc[5:10].drop(columns=["AU01_r", "AU45_c"]).to_csv(folder / "b_missing.csv", index=False)
    real.iloc[10:15].rename(columns={"take": "file"}).to_csv(folder / "c_no_clip_column.csv", index=False)
    (folder / "d_empty.csv").write_text("")
    (folder / "e_header_only.csv").write_text(",".join(real.columns) + "\n")
    (folder / "f_broken.parquet").write_bytes(b"PAR1 not really parquet")
    real.iloc[15:20].to_csv(folder / "g_good.csv", index=False)
    rows = tables.read_rows(source(folder))
    said = reasons(rows.rejects)
    assert f"{folder / 'b_missing.csv'}: missing feature columns AU01_r, AU45_c (2 of 35)" in said
    assert f"{folder / 'c_no_clip_column.csv'}: no clip-name column 'take'" in said
    assert f"{folder / 'd_empty.csv'}: empty file" in said
    assert f"{folder / 'e_header_only.csv'}: no rows under the header" in said
    assert f"{folder / 'f_broken.parquet'}: unreadable table" in said
    assert rows.clips == real["take"].iloc[list(range(5)) + list(range(15, 20))].tolist()


def test_required_columns_are_named_in_params(tmp_path):
    real = pd.read_csv(AU_TABLE).head(3)
    path = tmp_path / "au.csv"
    real.to_csv(path, index=False)
    rows = tables.read_rows(source(path, columns=("AU12_r", "AU06_r")))
    assert rows.names == ["AU12_r", "AU06_r"] and rows.X[:, 0] == pytest.approx(real["AU12_r"])
    missing = tables.read_rows(source(path, columns=("AU12_r", "AU99_r")))
    assert missing.X.shape == (0, 2) and "missing feature columns AU99_r (1 of 2)" in reasons(missing.rejects)


def write_openface(path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(frame.to_csv(index=False).replace(",", ", "))  # OpenFace pads its separators


def test_openface_per_frame_csvs_pool_action_units_and_feed_the_own_face_geometry(tmp_path):
    frames = pd.read_csv(OPENFACE_CSV, skipinitialspace=True)
    folder = tmp_path / "openface"
    write_openface(folder / "01-01-03-01-01-01-01.csv", frames)
    lost = frames.copy()
    lost.loc[::2, "success"] = 0  # OpenFace lost the face on every other frame ...
    lost.loc[1::6, "confidence"] = 0.5  # ... and was unsure on some others
    write_openface(folder / "01-01-04-01-01-01-01.csv", lost)
    other = frames.copy()
    other.loc[:, ["confidence", *[f"x_{i}" for i in range(68)]]] = 0.5
    crowd = pd.concat([frames, other])
    write_openface(folder / "01-01-05-01-01-01-01.csv", crowd.sort_values("frame"))  # a second, less sure face
    rows = tables.read_rows(source(folder, "openface"))
    assert not rows.rejects and rows.clips == ["01-01-03-01-01-01-01", "01-01-04-01-01-01-01", "01-01-05-01-01-01-01"]
    np.testing.assert_array_equal(rows.X[2], rows.X[0])  # each frame's most confident face is the one used
    units = [c for c in frames.columns if c.startswith("AU")]
    assert rows.names == tables.openface_names(sorted(units), FUNCTIONALS)
    confident = (frames["confidence"] >= 0.88).to_numpy()
    points = np.stack([frames[[f"x_{i}" for i in range(68)]].to_numpy(), frames[[f"y_{i}" for i in range(68)]].to_numpy()], -1)
    points[~confident] = np.nan
    own = face.clip_features(points, face.FaceSettings(functionals=FUNCTIONALS))
    n_own = len(own)
    assert rows.X[0, :n_own] == pytest.approx(own, nan_ok=True)  # the project's geometry of OpenFace's points
    assert rows.X[0, 0] == pytest.approx(confident.mean())  # face_fraction: the confident frames
    assert rows.X[1, 0] == pytest.approx(((lost["confidence"] >= 0.88) & (lost["success"] == 1)).mean())
    mean_au12 = rows.names.index("AU12_r_mean")
    assert rows.X[0, mean_au12] == pytest.approx(frames.loc[confident, "AU12_r"].mean())


def test_bad_openface_files_are_rejected_by_name(tmp_path):
    frames = pd.read_csv(OPENFACE_CSV, skipinitialspace=True)
    folder = tmp_path / "openface"
    write_openface(folder / "01-01-03-01-01-01-01.csv", frames)
    write_openface(folder / "01-01-04-01-01-01-01.csv", frames.assign(success=0))
    write_openface(folder / "01-01-05-01-01-01-01.csv", frames.drop(columns=["x_30", "y_30"]))
    (folder / "01-01-06-01-01-01-01.csv").write_text("")
    text = frames.to_csv(index=False)
    (folder / "01-01-07-01-01-01-01.csv").write_text(text[: len(text) // 2])  # cut mid-row: the whole frames are used
    rows = tables.read_rows(source(folder, "openface"))
    said = reasons(rows.rejects)
    assert f"{folder / '01-01-04-01-01-01-01.csv'}: no frame of 100 tracked with success 1 and confidence >= 0.88" in said
    assert f"{folder / '01-01-05-01-01-01-01.csv'}: missing OpenFace columns x_30, y_30" in said
    assert f"{folder / '01-01-06-01-01-01-01.csv'}: empty file" in said
    assert rows.clips == ["01-01-03-01-01-01-01", "01-01-07-01-01-01-01"]


def test_a_source_is_a_voice_or_a_face():
    with pytest.raises(ValueError, match="external_features.au.kind: 'body'"):
        tables.ExternalSource("au", "body", "ravdess", "table", "x.csv")


def test_the_stage_writes_the_modality_and_every_reject(tmp_path):
    """`python -m pipeline.stages.external_features NAME` as dvc runs it, on a folder of real
    OpenFace per-frame CSVs named after RAVDESS takes, against a manifest of two of them."""
    frames = pd.read_csv(OPENFACE_CSV, skipinitialspace=True)
    folder = tmp_path / "openface"
    write_openface(folder / "01-01-03-01-01-01-01.csv", frames)
    write_openface(folder / "01-01-04-01-01-01-01.csv", frames.assign(success=0))
    write_openface(folder / "01-01-05-01-01-01-09.csv", frames)  # an actor the manifest does not hold
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["external_features"] = {"openface": {"kind": "face", "corpus": "ravdess", "format": "openface",
                                                "path": str(folder), "min_confidence": 0.8}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "data").mkdir()
    pd.DataFrame({"corpus": "ravdess", "take": ["01-03-01-01-01-01", "01-04-01-01-01-01"], "label": ["happy", "sad"]}).to_parquet(
        tmp_path / "data/manifest.parquet")
    done = subprocess.run([sys.executable, "-m", "pipeline.stages.external_features", "openface"], cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": ""}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "external_features.openface: 1 takes x" in done.stdout
    features = pd.read_parquet(tmp_path / "features/openface.parquet")
    assert features["take"].tolist() == ["01-03-01-01-01-01"] and "AU12_r_mean" in features.columns
    rejects = pd.read_parquet(tmp_path / "features/openface_rejects.parquet")
    assert rejects["outcome"].tolist() == ["rejected", "dropped"]
    assert "no frame of 100 tracked" in rejects["reason"].iloc[0] and "not in the manifest" in rejects["reason"].iloc[1]


def test_a_row_index_saved_with_the_table_is_left_out_and_named(tmp_path):
    """pandas' default `to_csv(index=True)` adds an unnamed column of row numbers: in a table sorted by take it
    encodes the emotion, a leak. It, a named `index` and a column equal to 1..n are left out, each named."""
    real = pd.read_csv(AU_TABLE).sort_values("take").head(30).reset_index(drop=True)
    real.insert(1, "index", np.arange(len(real)))
    real["row"] = np.arange(1, len(real) + 1)
    real.to_csv(tmp_path / "au.csv")  # index=True: the unnamed first column
    rows = tables.read_rows(source(tmp_path / "au.csv"))
    assert rows.names == pd.read_csv(AU_TABLE).columns[1:].tolist()  # the 35 action units, nothing else
    assert rows.X.shape == (30, 35)
    assert {r["reason"] for r in rows.rejects} == {f"column {c!r} is {why}: left out" for c, why in (
        ("Unnamed: 0", "a row index (unnamed or 'index')"), ("index", "a row index (unnamed or 'index')"),
        ("row", "named as a field of the clips' names or labels, not a measurement"))}
    with pytest.raises(tables.TableError, match=r"lack 1 columns the models were trained on \(Unnamed: 0\)"):
        tables.lookup(rows, "ravdess", ["Unnamed: 0", *rows.names])  # a model trained on the leak cannot be fed
    listed = tables.read_rows(source(tmp_path / "au.csv", columns=("AU01_r", "index")))
    assert listed.X.shape[0] == 0 and "name or number the rows, not measure them: the table is refused" in reasons(
        listed.rejects)


FIELDS = ["modality", "channel", "emotion", "intensity", "statement", "repetition", "actor"]


def leaky_tables(real: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The real action-unit table with one leak each, as the probe found them (each alone predicted the
    emotion of unseen speakers at 99-100%): the table sorted by take, then a row id from 1000, the index
    left with gaps by a filter, a shuffled table's old index, and fields parsed from the take name."""
    by_take = real.sort_values("take").reset_index(drop=True)
    parsed = by_take["take"].str.split("-", expand=True).astype(int)
    shuffled = by_take.sample(frac=1.0, random_state=0)
    return {
        "row_id": by_take.assign(row_id=np.arange(1000, 1000 + len(by_take))),
        "gapped": by_take[by_take["take"].str[6:8] != "02"].reset_index().rename(columns={"index": "n"}),
        "old_index": shuffled.reset_index().rename(columns={"index": "was"}),
        "fields": by_take.assign(**{f: parsed[i] for i, f in enumerate(FIELDS)}, emotion_code=parsed[2]),
    }


@pytest.mark.parametrize("leak", ["row_id", "gapped", "old_index", "fields"])
def test_columns_that_number_or_name_the_rows_are_left_out(tmp_path, leak):
    real = pd.read_csv(AU_TABLE)
    table = leaky_tables(real)[leak]
    table.to_csv(tmp_path / "au.csv", index=False)
    rows = tables.read_rows(source(tmp_path / "au.csv"))
    assert rows.names == real.columns[1:].tolist(), reasons(rows.rejects)  # the 35 action units, nothing else
    assert len(rows.rejects) == len(table.columns) - len(real.columns) and all(
        r["outcome"] == "dropped" for r in rows.rejects)


def test_an_openface_table_keeps_only_openface_measurements(tmp_path):
    """A table with OpenFace's action units is OpenFace's: its frame, face_id, timestamp, confidence,
    success and any column of the user's (`clip_no`) are not measurements of the face."""
    real = pd.read_csv(AU_TABLE).head(40)
    extra = {"frame": 51.0, "face_id": 0.0, "timestamp": 1.7, "confidence": 0.97, "success": 1.0}
    table = real.assign(**extra, gaze_angle_x=0.1, pose_Rx=0.05, p_scale=1.2, clip_no=np.arange(40) % 7)
    table.to_csv(tmp_path / "au.csv", index=False)
    rows = tables.read_rows(source(tmp_path / "au.csv"))
    assert rows.names == [*real.columns[1:], "gaze_angle_x", "pose_Rx", "p_scale"]
    assert {r["reason"].split("'")[1] for r in rows.rejects} == {*extra, "clip_no"}


def test_a_column_holding_one_value_per_emotion_is_left_out_by_the_stage(tmp_path):
    """A code of the emotion under another name (a float the name rules cannot see, in a table that is
    not OpenFace's) is found against the manifest's labels; real action units, which vary within an
    emotion, are kept."""
    real = pd.read_csv(AU_TABLE).sort_values("take").head(120).reset_index(drop=True)
    real.columns = ["take", *(f"pyfeat_{c}" for c in real.columns[1:])]  # another producer's names
    emotion = real["take"].str[6:8].astype(int)
    real.assign(score=emotion * 0.37 + 0.01).to_csv(tmp_path / "au.csv", index=False)
    takes = pd.DataFrame({"corpus": "ravdess", "take": real["take"].str[3:],
                          "label": emotion.map(dict(enumerate(FIELDS, start=1)))})
    rows = tables.read_rows(source(tmp_path / "au.csv"))
    assert "score" in rows.names  # not a whole number, not a field's name: only the labels give it away
    features, _ = tables.match_takes(rows, "ravdess", set(takes["take"]))
    kept, dropped = tables.without_label_constant(features, takes, source(tmp_path / "au.csv"))
    assert list(kept.columns) == ["take", *real.columns[1:]]
    assert [r["reason"] for r in dropped] == ["column 'score' holds one value per emotion: it encodes the label, not "
                                              "a measurement: left out"]


def test_a_table_with_no_column_of_numbers_is_one_reject_not_a_crash(tmp_path):
    real = pd.read_csv(AU_TABLE).head(5)
    (tmp_path / "au.csv").write_text(real.to_csv(index=False, decimal=",", quoting=1))  # commas inside quotes: text
    rows = tables.read_rows(source(tmp_path / "au.csv"))
    assert rows.X.shape[0] == 0 and "no column of numbers to use as features" in reasons(rows.rejects)


@pytest.mark.parametrize("decimal", [".", ","])
def test_semicolon_separated_tables_with_a_byte_order_mark_are_read(tmp_path, decimal):
    """As a spreadsheet in a German or French locale writes them: `;` between fields, `0,25` for 0.25."""
    real = pd.read_csv(AU_TABLE).head(5)
    (tmp_path / "au.csv").write_text(real.to_csv(sep=";", index=False, decimal=decimal), encoding="utf-8-sig")
    rows = tables.read_rows(source(tmp_path / "au.csv"))
    assert rows.clips == real["take"].tolist() and not rows.rejects
    np.testing.assert_allclose(rows.X, real.iloc[:, 1:].to_numpy(dtype=float))

"""CK+ ingest on real frames copied into a scratch folder, with every kind of misplaced file."""

import shutil

from conftest import SHARED
from pipeline.ingest import manifest, sources
from test_manifest import ALL

CK = SHARED / "ckplus48"
WITH_CONTEMPT = manifest.Selection(ALL.channels, ALL.emotions + ("contempt",), ALL.intensities, ())


def test_sequences_become_takes_and_misfits_are_rejected(tmp_path):
    root = tmp_path / "ck"
    for folder, subject_sequence in (("happy", "S010_006"), ("sadness", "S011_002"), ("contempt", "S138_008")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for frame in CK.glob(f"{folder}/{subject_sequence}_*.png"):
            shutil.copy(frame, root / folder / frame.name)
    (root / "boredom").mkdir()
    shutil.copy(next(CK.glob("happy/S010_006_*.png")), root / "boredom" / "S050_001_00000001.png")
    shutil.copy(next(CK.glob("happy/S010_006_*.png")), root / "happy" / "notes.png")
    (root / "fear").mkdir()
    shutil.copy(next(CK.glob("sadness/S011_002_*.png")), root / "fear" / "S011_002_00000099.png")  # 2 labels
    (root / "anger").mkdir()
    (root / "anger" / "S060_001_00000001.png").write_bytes(b"not a png")

    clips = sources.scan_roots([str(root)]).clips
    takes, rejects = manifest.build({"ckplus": clips}, WITH_CONTEMPT, silence_dbfs=-60.0)
    assert "contempt" not in set(manifest.build({"ckplus": clips}, ALL, silence_dbfs=-60.0)[0]["label"])

    assert takes["take"].tolist() == ["ckplus-S010_006", "ckplus-S138_008"]
    assert takes["label"].tolist() == ["happy", "contempt"]
    assert takes["speaker"].tolist() == ["ckplus-S010", "ckplus-S138"]
    assert (takes["n_frames"] == 3).all() and takes["audio_path"].isna().all()
    reasons = {sources.name(p): r for p, r in zip(rejects["path"], rejects["reason"])}
    assert "unknown CK+ label folder 'boredom'" in reasons["S050_001_00000001.png"]
    assert "not a CK+ frame name" in reasons["notes.png"]
    assert "several labels" in reasons["S011_002_00000099.png"]
    assert "unreadable image" in reasons["S060_001_00000001.png"]
    assert set(rejects["outcome"]) == {"rejected"}


def test_label_selection_applies_to_ckplus_and_channel_filters_do_not(tmp_path):
    root = tmp_path / "ck" / "happy"
    root.mkdir(parents=True)
    for frame in CK.glob("happy/S010_006_*.png"):
        shutil.copy(frame, root / frame.name)
    found = sources.scan_roots([str(tmp_path / "ck")]).clips
    speech_only = manifest.Selection(("speech",), ALL.emotions, ("strong",), ())
    assert len(manifest.build({"ckplus": found}, speech_only, -60.0)[0]) == 1
    no_happy = manifest.Selection(ALL.channels, ("sad", "angry"), ALL.intensities, ())
    assert manifest.build({"ckplus": found}, no_happy, -60.0)[0].empty

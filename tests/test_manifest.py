"""Ingest on a folder of real RAVDESS cuts plus every kind of bad file: rejects named, rest kept."""

import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml

from conftest import REPO, real_take, write_clip
from pipeline.ingest import manifest, rejected, sources

ALL = manifest.Selection(
    channels=("speech", "song"),
    emotions=("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
    intensities=("normal", "strong"),
    holdout_speakers=("ravdess-21", "ravdess-22", "ravdess-23", "ravdess-24"),
)


@pytest.fixture
def messy_root(tmp_path):
    """A root with good takes and one file of each kind of trouble."""
    root = tmp_path / "ravdess"
    source = real_take(2, "03-01-03-01-01-01-02")
    write_clip(root / "Actor_02" / "03-01-03-01-01-01-02.wav", source)
    write_clip(root / "Actor_02" / "03-01-04-02-01-01-02.flac", real_take(2, "03-01-04-02-01-01-02"))
    write_clip(root / "Actor_02" / "03-01-03-01-01-01-02.flac", source)  # duplicate of the wav's take
    write_clip(root / "Actor_03" / "03-01-05-01-01-01-03.wav", real_take(3, "03-01-05-01-01-01-03"), stereo=True)
    write_clip(root / "Actor_03" / "03-01-06-01-01-01-03.wav", real_take(3, "03-01-06-01-01-01-03"), rate=22050)
    write_clip(root / "Actor_03" / "03-01-07-01-01-01-03.wav", real_take(3, "03-01-07-01-01-01-03"), rate=44100)
    write_clip(root / "Actor_21" / "03-01-05-01-01-01-21.wav", real_take(3, "03-01-05-01-01-01-03"))
    write_clip(root / "Actor_03" / "03-02-05-01-01-01-03.wav", real_take(3, "03-01-05-01-01-01-03"))
    (root / "Actor_04").mkdir()
    soundfile.write(root / "Actor_04" / "03-01-02-01-01-01-04.wav", np.zeros(48000, dtype=np.float32), 48000)
    soundfile.write(root / "Actor_04" / "03-01-02-01-01-02-04.wav", np.zeros((0,), dtype=np.float32), 48000)
    whole = write_clip(tmp_path / "whole.wav", real_take(4, "03-01-03-01-01-01-04"))
    (root / "Actor_04" / "03-01-03-01-01-01-04.wav").write_bytes(whole.read_bytes()[:5000])
    (root / "Actor_04" / "03-01-04-01-01-01-04.flac").write_bytes(b"\x00garbage" * 500)
    write_clip(root / "Actor_04" / "my_recording.wav", real_take(4, "03-01-03-01-01-01-04"))
    write_clip(root / "Actor_04" / "03-01-09-01-01-01-04.wav", real_take(4, "03-01-03-01-01-01-04"))
    (root / "Actor_04" / "notes.txt").write_text("not audio")
    return root


def reasons(rejects):
    return {sources.name(path): reason for path, reason in zip(rejects["path"], rejects["reason"])}


def test_every_bad_file_is_named_with_its_reason_and_the_rest_is_kept(messy_root):
    found = sources.scan_roots([str(messy_root)])
    takes, rejects = manifest.build({"ravdess": found.clips}, ALL, silence_dbfs=-60.0)
    why = reasons(rejects)
    assert "silent" in why["03-01-02-01-01-01-04.wav"]
    assert "zero-length" in why["03-01-02-01-01-02-04.wav"]
    assert "truncated" in why["03-01-03-01-01-01-04.wav"]
    assert "unreadable" in why["03-01-04-01-01-01-04.flac"]
    assert "not a RAVDESS name" in why["my_recording.wav"]
    assert "unknown emotion code '09'" in why["03-01-09-01-01-01-04.wav"]
    assert "not a RAVDESS clip" in why["notes.txt"]
    assert "duplicate of take 01-03-01-01-01-02" in why["03-01-03-01-01-01-02.flac"]
    assert "downmixed" in why["03-01-05-01-01-01-03.wav"]
    assert "22050 Hz" in why["03-01-06-01-01-01-03.wav"]
    assert "44100 Hz" in why["03-01-07-01-01-01-03.wav"]
    kept = rejects[rejects["outcome"] == "kept"]
    assert set(kept["path"].map(sources.name)) == {
        "03-01-05-01-01-01-03.wav", "03-01-06-01-01-01-03.wav", "03-01-07-01-01-01-03.wav",
    }
    # The usable takes: the duplicate resolved to the wav, stereo and odd rates kept,
    # the held-out actor 21 left out.
    assert sorted(takes["take"]) == [
        "01-03-01-01-01-02", "01-04-02-01-01-02", "01-05-01-01-01-03", "01-06-01-01-01-03",
        "01-07-01-01-01-03", "02-05-01-01-01-03",
    ]
    assert takes.set_index("take").loc["01-03-01-01-01-02", "audio_path"].endswith(".wav")
    row = takes.set_index("take").loc["01-05-01-01-01-03"]
    assert (row["channels"], row["sample_rate"], row["speaker"], row["gender"]) == (2, 48000, "ravdess-03", "male")
    assert takes["take"].is_unique


def test_selection_by_channel_emotion_and_intensity(messy_root):
    found = sources.scan_roots([str(messy_root)])
    speech_strong = manifest.Selection(("speech",), ALL.emotions, ("strong",), ())
    takes, _ = manifest.build({"ravdess": found.clips}, speech_strong, silence_dbfs=-60.0)
    assert list(takes["take"]) == ["01-04-02-01-01-02"]
    four = manifest.Selection(ALL.channels, ("neutral", "happy", "sad", "angry"), ALL.intensities, ("ravdess-21",))
    takes, _ = manifest.build({"ravdess": found.clips}, four, silence_dbfs=-60.0)
    assert set(takes["label"]) == {"happy", "sad", "angry"}


def test_a_typo_in_the_selection_is_an_error():
    with pytest.raises(ValueError, match="ingest.channels"):
        manifest.Selection(("speach",), ("angry",), ("normal",), ())
    with pytest.raises(ValueError, match=r"ingest.emotions: unknown \['angy'\]"):
        manifest.build({}, manifest.Selection(("speech",), ("angy",), ("normal",), ()), silence_dbfs=-60.0)


def test_zip_archives_are_read_in_place_and_junk_members_rejected(tmp_path):
    archive = tmp_path / "Audio_Speech_Actors_01-24.zip"
    clip = write_clip(tmp_path / "clip.wav", real_take(5, "03-01-08-01-01-01-05"))
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(clip, "Actor_05/03-01-08-01-01-01-05.wav")
        zf.writestr("__MACOSX/Actor_05/._03-01-08-01-01-01-05.wav", b"\x00\x05\x16\x07junk")
        zf.writestr("Actor_05/readme.txt", "junk")
        zf.writestr("Actor_05/03-01-08-01-01-02-05.wav", b"RIFF....WAVEjunk")
    found = sources.scan_roots([str(archive)])
    takes, rejects = manifest.build({"ravdess": found.clips}, ALL, silence_dbfs=-60.0)
    assert list(takes["take"]) == ["01-08-01-01-01-05"]
    assert takes["audio_path"][0] == f"{archive}::Actor_05/03-01-08-01-01-01-05.wav"
    why = reasons(rejects)
    assert "not a RAVDESS name" in why["._03-01-08-01-01-01-05.wav"]
    assert "not a RAVDESS clip" in why["readme.txt"]
    assert "unreadable" in why["03-01-08-01-01-02-05.wav"]


def test_missing_empty_and_broken_roots_are_reported_not_fatal(tmp_path, angry_take):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    good = tmp_path / "good"
    write_clip(good / "03-01-05-02-01-01-01.wav", angry_take)
    found = sources.scan_roots([str(tmp_path / "absent"), str(tmp_path / "empty"), str(tmp_path / "broken.zip"), str(good)])
    problems = dict(found.problems)
    assert problems[str(tmp_path / "absent")] == "root does not exist"
    assert problems[str(tmp_path / "empty")] == "root holds no files"
    assert "not a readable zip archive" in problems[str(tmp_path / "broken.zip")]
    assert found.clips == [str(good / "03-01-05-02-01-01-01.wav")]


def test_fingerprint_changes_with_content_only(tmp_path, angry_take):
    """Touched or copied files give the same fingerprint; a file added, or changed at the same size, does not."""
    root = tmp_path / "root"
    clip = write_clip(root / "03-01-05-02-01-01-01.wav", angry_take)
    known: dict[str, str] = {}
    first = sources.fingerprint(str(root), known)
    assert len(known) == 1 and sources.fingerprint(str(root), known) == first
    os.utime(clip, ns=(1, 1))  # touched: the cache misses, the content is the same
    copy = shutil.copytree(root, tmp_path / "copy")
    assert sources.fingerprint(str(root), known)["digest"] == sources.fingerprint(str(copy), {})["digest"] == first["digest"]
    data = bytearray(clip.read_bytes())
    data[-2:] = bytes(b ^ 0xFF for b in data[-2:])  # the last sample changed: same size, other content
    clip.write_bytes(bytes(data))
    assert sources.fingerprint(str(root), known)["digest"] != first["digest"]
    write_clip(root / "03-01-05-02-01-02-01.wav", angry_take)
    assert sources.fingerprint(str(root), {})["files"] == 2
    assert sources.fingerprint(str(tmp_path / "nowhere"), {})["kind"] == "missing"


def test_float_audio_with_impossible_samples_is_rejected_for_what_it_holds(tmp_path):
    """Real speech saved as float WAV, then spoiled: NaN, infinite or absurdly large samples, and
    a zero-byte file. Each gets its own reason (not 'silent', not a crash later in features)."""
    root = tmp_path / "ravdess" / "Actor_05"
    root.mkdir(parents=True)
    samples, rate = soundfile.read(real_take(5, "03-01-05-01-01-01-05"), dtype="float32")
    good = root / "03-01-05-01-01-01-05.wav"
    soundfile.write(good, samples, rate, subtype="FLOAT")
    for name, value in (("03-01-05-01-01-02-05", np.nan), ("03-01-05-01-02-01-05", np.inf), ("03-01-05-01-02-02-05", 1e30)):
        spoiled = samples.copy()
        spoiled[rate : rate + 100] = value
        soundfile.write(root / f"{name}.wav", spoiled, rate, subtype="FLOAT")
    (root / "03-01-06-01-01-01-05.wav").write_bytes(b"")
    takes, rejects = manifest.build({"ravdess": sources.scan_roots([str(tmp_path)]).clips}, ALL, silence_dbfs=-60.0)
    why = reasons(rejects)
    assert takes["take"].tolist() == ["01-05-01-01-01-05"]
    assert why["03-01-05-01-01-02-05.wav"] == "100 samples are not finite numbers (100 NaN, 0 infinite)"
    assert why["03-01-05-01-02-01-05.wav"] == "100 samples are not finite numbers (0 NaN, 100 infinite)"
    assert why["03-01-05-01-02-02-05.wav"] == "samples reach 1e+30, 600 dB beyond full scale: corrupt float audio"
    assert why["03-01-06-01-01-01-05.wav"] == "empty file (0 bytes)"


def test_links_to_nothing_names_that_are_not_utf8_and_corrupt_archives_are_reported(tmp_path):
    """Each is a reject row naming the file and the reason; the good take beside them is used and
    the tables can be written (a name that is not UTF-8 used to break the Parquet writer)."""
    root = tmp_path / "ravdess"
    good = write_clip(root / "Actor_02" / "03-01-03-01-01-01-02.wav", real_take(2, "03-01-03-01-01-01-02"))
    (root / "Actor_02" / "03-01-04-01-01-01-02.wav").symlink_to(root / "gone.wav")
    odd = os.fsencode(root / "Actor_02") + b"/03-01-05-01-01-01-02\xff.wav"
    with open(odd, "wb") as handle:
        handle.write(good.read_bytes())
    crc = root / "crc.zip"
    with zipfile.ZipFile(crc, "w", zipfile.ZIP_STORED) as archive:
        archive.write(good, "Actor_02/03-01-06-01-01-01-02.wav")
    data = bytearray(crc.read_bytes())
    data[200] ^= 0xFF  # a flipped byte inside the member's audio: its CRC no longer matches
    crc.write_bytes(bytes(data))
    names = root / "names.zip"
    with zipfile.ZipFile(names, "w") as archive:
        archive.write(good, "Actor_02/03-01-07-01-01-01-0\u00e9.wav")
        archive.write(write_clip(tmp_path / "other.wav", real_take(4, "03-01-08-01-01-01-04")),
                      "Actor_04/03-01-08-01-01-01-04.wav")  # a good member beside the misnamed one
    names.write_bytes(names.read_bytes().replace("\u00e9".encode(), b"\xc3\x28"))  # flagged UTF-8, but invalid

    found = sources.scan_roots([str(root)])
    takes, rejects = manifest.build({"ravdess": found.clips}, ALL, silence_dbfs=-60.0)
    rejects = pd.concat([rejected.table([rejected.reject(p, r) for p, r in found.problems]), rejects])
    why = dict(zip(rejects["path"], rejects["reason"]))
    assert takes["take"].tolist() == ["01-03-01-01-01-02", "01-08-01-01-01-04"]  # the archive's good member used
    assert why[str(root / "Actor_02" / "03-01-04-01-01-01-02.wav")] == f"broken link to {root / 'gone.wav'}: left out"
    assert why[str(root / "Actor_02" / "03-01-05-01-01-01-02\ufffd.wav")].startswith("file name is not valid UTF-8")
    assert "corrupt in its zip archive: Bad CRC-32" in why[f"{crc}::Actor_02/03-01-06-01-01-01-02.wav"]
    assert why[f"{names}::Actor_02/03-01-07-01-01-01-0\ufffd(.wav"] == "member name is not valid UTF-8: left out"
    rejects.to_parquet(tmp_path / "rejects.parquet")  # every path is writable text


def test_a_folder_that_cannot_be_read_is_reported(tmp_path, monkeypatch):
    root = tmp_path / "ravdess"
    write_clip(root / "Actor_02" / "03-01-03-01-01-01-02.wav", real_take(2, "03-01-03-01-01-01-02"))
    locked = root / "Actor_03"
    write_clip(locked / "03-01-03-01-01-01-03.wav", real_take(3, "03-01-03-01-01-01-03"))
    if os.geteuid() == 0:  # root lists every folder whatever its mode: the refusal comes from where the OS gives it
        listing = os.scandir

        def refusing(path: str = ".") -> object:
            if os.fspath(path) == str(locked):
                raise PermissionError(13, "Permission denied", str(locked))
            return listing(path)

        monkeypatch.setattr(os, "scandir", refusing)
    locked.chmod(0)
    try:
        found = sources.scan_roots([str(root)])
    finally:
        locked.chmod(0o755)
        monkeypatch.undo()
    assert found.problems == [(str(locked), "folder cannot be read (Permission denied): its files are left out")]
    assert len(found.clips) == 1


@pytest.mark.parametrize(("holdout", "refused"), [
    (("21",), "'21'"), ((21,), "21"), (("ravdess-21", "ravdess-30"), "'ravdess-30'"), (("emodb-99",), "'emodb-99'"),
])
def test_a_holdout_that_would_hold_no_speaker_out_is_refused(holdout, refused):
    with pytest.raises(ValueError, match=f"ingest.holdout_speakers: {refused} is no speaker id"):
        manifest.Selection(ALL.channels, ALL.emotions, ALL.intensities, holdout)


def test_a_holdout_speaker_of_any_corpus_is_held_out(tmp_path):
    clips = [write_clip(tmp_path / f"{name}.wav", real_take(1, "03-01-05-01-01-01-01"), seconds=seconds)
             for name, seconds in (("03a01Wa", 1.5), ("08a01Wa", 1.2))]
    held = manifest.Selection(ALL.channels, ("angry",), ALL.intensities, ("emodb-03", "mine-7"))
    takes, _ = manifest.build({"emodb": [str(c) for c in clips]}, held, silence_dbfs=-60.0)
    assert list(takes["speaker"]) == ["emodb-08"]


def test_the_ingest_stage_refuses_a_setting_that_is_not_a_list_before_any_work(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["ingest"]["holdout_speakers"] = "ravdess-21"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = subprocess.run([sys.executable, "-m", "pipeline.stages.ingest"], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO), "PATH": ""}, timeout=120)
    assert done.returncode == 1 and "ingest.holdout_speakers: 'ravdess-21' must be a list in brackets" in done.stderr


def test_an_archive_member_that_unpacks_beyond_the_limit_is_refused_unread(tmp_path):
    """A few kB of zip holding a 30 MB WAV of zeros (the shape of a zip bomb): refused from its
    declared size, before any byte of it is inflated; the real take beside it is used."""
    good = write_clip(tmp_path / "good.wav", real_take(2, "03-01-03-01-01-01-02"))
    bomb = tmp_path / "ravdess" / "Audio_Speech_Actors_01-24.zip"
    bomb.parent.mkdir()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(good, "Actor_02/03-01-03-01-01-01-02.wav")
        header = good.read_bytes()[:44]
        archive.writestr("Actor_02/03-01-04-01-01-01-02.wav", header + bytes(30_000_000))
    assert bomb.stat().st_size < 500_000
    takes, rejects = manifest.build({"ravdess": sources.scan_roots([str(bomb.parent)]).clips}, ALL, -60.0,
                                    max_take_mb=10)
    assert takes["take"].tolist() == ["01-03-01-01-01-02"]
    assert reasons(rejects)["03-01-04-01-01-01-02.wav"] == \
        "30 MB once unpacked, above ingest.max_take_mb (10 MB): not read"


def test_archive_members_that_climb_out_or_start_at_the_root_are_refused_by_name(tmp_path):
    good = write_clip(tmp_path / "good.wav", real_take(2, "03-01-03-01-01-01-02"))
    archive = tmp_path / "ravdess" / "odd.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(good, "Actor_02/03-01-03-01-01-01-02.wav")
        zf.write(good, "../../x/03-01-04-01-01-01-02.wav")
        zf.write(good, "Actor_02/../../03-01-05-01-01-01-02.wav")
    with open(archive, "r+b") as handle:  # zipfile strips a leading slash when writing: put one back in by hand
        data = handle.read().replace(b"Actor_02/03-01-03", b"/ctor_02/03-01-03")
        handle.seek(0)
        handle.write(data)
    found = sources.scan_roots([str(tmp_path / "ravdess")])
    assert found.clips == []
    assert dict(found.problems) == {
        f"{archive}::/ctor_02/03-01-03-01-01-01-02.wav": "absolute path in the archive: refused",
        f"{archive}::../../x/03-01-04-01-01-01-02.wav": "'..' in its path climbs out of the archive: refused",
        f"{archive}::../03-01-05-01-01-01-02.wav": "'..' in its path climbs out of the archive: refused",  # as zipfile normalises it
    }


def test_links_to_folders_are_followed_once_and_what_is_no_file_is_named(tmp_path):
    """A linked sub-folder's takes are used; a link back up the tree is named, not walked forever;
    a FIFO named like a clip is "not a regular file"."""
    root = tmp_path / "ravdess"
    write_clip(root / "Actor_02" / "03-01-03-01-01-01-02.wav", real_take(2, "03-01-03-01-01-01-02"))
    elsewhere = tmp_path / "elsewhere" / "Actor_03"
    write_clip(elsewhere / "03-01-03-01-01-01-03.wav", real_take(3, "03-01-03-01-01-01-03"))
    (root / "linked").symlink_to(elsewhere.parent)
    (root / "Actor_02" / "up").symlink_to(root)
    os.mkfifo(root / "Actor_02" / "03-01-04-01-01-01-02.wav")
    found = sources.scan_roots([str(root)])
    takes, _ = manifest.build({"ravdess": found.clips}, ALL, silence_dbfs=-60.0)
    assert takes["take"].tolist() == ["01-03-01-01-01-02", "01-03-01-01-01-03"]
    problems = dict(found.problems)
    assert problems[str(root / "Actor_02" / "up")] == f"link to {root}, a folder already listed: not followed again"
    assert problems[str(root / "Actor_02" / "03-01-04-01-01-01-02.wav")] == sources.NOT_REGULAR
    assert sources.scan_roots(["/dev/zero"]).problems == [("/dev/zero", sources.NOT_REGULAR)]


def test_a_take_copied_under_another_name_is_dropped_as_the_same_content(tmp_path):
    """One performance stored as another actor's (it would sit in two folds): the copy is named and dropped,
    also when stored as WAV where the original is FLAC (the same samples)."""
    root = tmp_path / "ravdess"
    original = real_take(2, "03-01-03-01-01-01-02")
    (root / "Actor_02").mkdir(parents=True)
    shutil.copy(original, root / "Actor_02" / original.name)
    samples, rate = soundfile.read(original, dtype="float32")
    (root / "Actor_07").mkdir()
    soundfile.write(root / "Actor_07" / "03-01-05-01-01-01-07.wav", samples, rate, subtype="FLOAT")
    shutil.copy(original, root / "Actor_02" / "03-01-03-01-01-02-02.flac")  # its own second repetition: one fold
    takes, rejects = manifest.build({"ravdess": sources.scan_roots([str(root)]).clips}, ALL, silence_dbfs=-60.0)
    assert takes["take"].tolist() == ["01-03-01-01-01-02", "01-03-01-01-02-02"]
    assert rejects[["outcome", "reason"]].values.tolist() == [
        ["kept", "same content as take 01-03-01-01-01-02 (same speaker and emotion, so always in the same fold)"],
        ["dropped", "same content as take 01-03-01-01-01-02 under another speaker or emotion: dropped"]]

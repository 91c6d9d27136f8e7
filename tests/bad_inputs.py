"""The bad-input catalogue: every kind of trouble a user's files can hold, each made from real
files, with the answer the pipeline must give (a reject with its reason, or a take kept with a
note). test_bad_inputs.py runs it through the real stages; test_dvc_pipeline.py puts the clips
through `predict` with trained models.

A kind writes its file(s) under a RAVDESS root (or the CK+ root) and names the file to look
up in the rejects; `answer` is (outcome, words the reason must hold).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from conftest import SHARED, real_take, write_av_clip, write_clip


@dataclass(frozen=True)
class Kind:
    name: str
    build: Callable[[Path], str]  # writes the input under the root, returns the file name rejects show
    answer: tuple[str, str]  # (outcome, words of the reason), or ("used", take): no reject, the take used
    predict: str | None = None  # what `predict` says of the clip itself (content troubles only)


SOURCE = real_take(5, "03-01-05-01-01-01-05")


def _speech() -> tuple[np.ndarray, int]:
    return soundfile.read(SOURCE, dtype="float32")


def _wav(name: str, samples: np.ndarray, rate: int = 48000, subtype: str | None = None) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        (root / "Actor_05").mkdir(parents=True, exist_ok=True)
        soundfile.write(root / "Actor_05" / name, samples, rate, subtype=subtype)
        return name
    return build


def _spoiled(name: str, value: float) -> Callable[[Path], str]:
    samples, rate = _speech()
    samples = samples.copy()
    samples[rate: rate + 100] = value
    return _wav(name, samples, rate, "FLOAT")


def _bytes(name: str, content: Callable[[], bytes]) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        (root / "Actor_05").mkdir(parents=True, exist_ok=True)
        (root / "Actor_05" / name).write_bytes(content())
        return name
    return build


def _cut(name: str, **options: object) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        write_clip(root / "Actor_05" / name, SOURCE, **options)
        return name
    return build


def _truncated(root: Path) -> str:
    whole = write_clip(root.parent / "whole.wav", SOURCE)
    return _bytes("03-01-02-02-01-01-05.wav", lambda: whole.read_bytes()[:5000])(root)


def _streamed(root: Path) -> str:
    """A WAV as a streaming writer leaves it: RIFF and data sizes 0xFFFFFFFF, all audio present."""
    whole = bytearray(write_clip(root.parent / "streamed.wav", SOURCE).read_bytes())
    whole[4:8] = whole[40:44] = b"\xff\xff\xff\xff"
    return _bytes("03-01-02-02-02-01-05.wav", lambda: bytes(whole))(root)


def _duplicate(root: Path) -> str:
    """One take twice (a cut of its own length: the same samples under another take's name would be
    dropped as a copy of that take)."""
    write_clip(root / "Actor_05" / "03-01-03-01-01-01-05.wav", SOURCE, seconds=1.4)
    write_clip(root / "Actor_05" / "03-01-03-01-01-01-05.flac", SOURCE, seconds=1.4)
    return "03-01-03-01-01-01-05.flac"


def _not_utf8(root: Path) -> str:
    good = write_clip(root.parent / "named.wav", SOURCE)
    (root / "Actor_05").mkdir(parents=True, exist_ok=True)
    with open(os.fsencode(root / "Actor_05") + b"/03-01-03-01-02-01-05\xff.wav", "wb") as handle:
        handle.write(good.read_bytes())
    return "03-01-03-01-02-01-05\ufffd.wav"


def _dangling(root: Path) -> str:
    (root / "Actor_05").mkdir(parents=True, exist_ok=True)
    (root / "Actor_05" / "03-01-03-01-02-02-05.wav").symlink_to(root / "gone.wav")
    return "03-01-03-01-02-02-05.wav"


def _zip(archive: str, member: str, content: Callable[[Path], bytes], spoil: Callable[[bytes], bytes] = lambda b: b,
         ) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        path = root / archive
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as handle:
            handle.writestr(member, content(root))
        path.write_bytes(spoil(path.read_bytes()))
        return member.rsplit("/", 1)[-1]
    return build


def _clip_bytes(root: Path) -> bytes:
    return write_clip(root.parent / "member.wav", SOURCE).read_bytes()


def _flip_crc(data: bytes) -> bytes:
    spoiled = bytearray(data)
    spoiled[200] ^= 0xFF  # a byte inside the member's audio: its CRC-32 no longer matches
    return bytes(spoiled)


def _video(name: str, audio: bool) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        write_av_clip(root / "Actor_05" / name, SOURCE if audio else None)
        return name
    return build


def _ck(name: str, content: Callable[[], bytes] | None = None, folder: str = "happy") -> Callable[[Path], str]:
    def build(root: Path) -> str:
        (root / folder).mkdir(parents=True, exist_ok=True)
        if content is None:
            shutil.copy(next((SHARED / "ckplus48" / "happy").glob("S010_006_*.png")), root / folder / name)
        else:
            (root / folder / name).write_bytes(content())
        return name
    return build


def _ck_sequence_with_a_corrupt_frame(root: Path) -> str:
    frames = sorted((SHARED / "ckplus48" / "sadness").glob("*.png"))
    subject = frames[0].name.rsplit("_", 1)[0]
    for frame in [f for f in frames if f.name.startswith(subject)]:
        (root / "sadness").mkdir(parents=True, exist_ok=True)
        shutil.copy(frame, root / "sadness" / frame.name)
    broken = f"{subject}_99999999.png"
    (root / "sadness" / broken).write_bytes(b"\x89PNG not really")
    return broken


def spoil_table_rows(real: pd.DataFrame) -> pd.DataFrame:
    """Real action-unit rows (at least 7), spoiled one way each from the second on: text in a
    numeric column, an empty cell, inf, an EmoDB name, the video-only name of row 1's
    performance (a duplicate), a held-out actor; and a column of text only."""
    bad = real.copy().astype(object)
    bad.loc[1, "AU04_r"] = "n/a"
    bad.loc[2, "AU06_r"] = np.nan
    bad.loc[3, "AU07_r"] = np.inf
    bad.loc[4, "take"] = "03a01Wa"
    bad.loc[5, "take"] = "02" + bad.loc[0, "take"][2:]
    bad.loc[6, "take"] = "01-01-01-01-01-01-23"
    bad["notes"] = "by hand"
    return bad


SILENCE = np.zeros(48000, dtype=np.float32)

AUDIO = [
    Kind("silent audio", _wav("03-01-02-01-01-01-05.wav", SILENCE), ("rejected", "silent: peak level"), "silent"),
    Kind("a header and no samples", _wav("03-01-02-01-01-02-05.wav", np.zeros(0, dtype=np.float32)),
         ("rejected", "zero-length audio"), "zero-length audio"),
    Kind("a WAV cut short", _truncated, ("rejected", "truncated"), "truncated"),
    Kind("an empty file", _bytes("03-01-02-01-02-01-05.wav", lambda: b""), ("rejected", "empty file (0 bytes)"),
         "empty file (0 bytes)"),
    Kind("garbage named flac", _bytes("03-01-02-01-02-02-05.flac", lambda: b"\x00garbage" * 500),
         ("rejected", "unreadable audio"), "unreadable audio"),
    Kind("NaN samples", _spoiled("03-01-04-01-01-01-05.wav", np.nan), ("rejected", "100 NaN, 0 infinite"),
         "not finite numbers"),
    Kind("infinite samples", _spoiled("03-01-04-01-01-02-05.wav", np.inf), ("rejected", "0 NaN, 100 infinite"),
         "not finite numbers"),
    Kind("samples of 1e30", _spoiled("03-01-04-01-02-01-05.wav", 1e30), ("rejected", "dB beyond full scale"),
         "beyond full scale"),
    Kind("a 30 ms clip", _cut("03-01-04-01-02-02-05.wav", seconds=0.03),
         ("rejected", "too short for order-2 deltas (4 frames): the clip has 0.04 s of sound")),
    Kind("stereo", _cut("03-01-04-02-01-01-05.wav", stereo=True), ("kept", "downmixed")),
    Kind("22.05 kHz", _cut("03-01-04-02-01-02-05.wav", rate=22050), ("kept", "22050 Hz")),
    Kind("streaming-writer placeholder sizes", _streamed, ("used", "01-02-02-02-01-05")),  # all its audio is there
    Kind("two copies of one take", _duplicate, ("dropped", "duplicate of take 01-03-01-01-01-05")),
]

NAMES = [
    Kind("not a RAVDESS name", _cut("my_recording.wav"), ("rejected", "not a RAVDESS name")),
    Kind("an unknown emotion code", _cut("03-01-09-01-01-01-05.wav"), ("rejected", "unknown emotion code '09'")),
    Kind("a text file", _bytes("notes.txt", lambda: b"not audio"), ("rejected", "not a RAVDESS clip (suffix '.txt')")),
    Kind("a name that is not UTF-8", _not_utf8, ("rejected", "file name is not valid UTF-8")),
    Kind("a link to nothing", _dangling, ("rejected", "broken link to")),
    Kind("an mp4 named audio-only", _video("03-01-06-01-01-01-05.mp4", audio=True), ("rejected", "modality code")),
]

ARCHIVES = [
    Kind("a corrupt zip member", _zip("crc.zip", "Actor_05/03-01-06-01-01-02-05.wav", _clip_bytes, _flip_crc),
         ("rejected", "Bad CRC-32")),
    Kind("junk in a zip", _zip("junk.zip", "__MACOSX/Actor_05/._03-01-06-01-02-01-05.wav", lambda _: b"\x00\x05junk"),
         ("rejected", "not a RAVDESS name")),
    Kind("not a zip at all", _bytes("broken.zip", lambda: b"PK not really"), ("rejected", "not a readable zip archive")),
    Kind("a zip member far larger unpacked", _zip("bomb.zip", "Actor_05/03-01-06-01-02-02-05.wav",
                                                  lambda root: _clip_bytes(root)[:44] + bytes(3_000_000)),
         ("rejected", "above ingest.max_take_mb")),
]

VIDEO = [
    Kind("a video with no audio track", _video("01-01-07-01-01-01-05.mp4", audio=False), ("kept", "no audio track"),
         "no audio track"),
    Kind("garbage named mp4", _bytes("01-01-07-01-01-02-05.mp4", lambda: b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 999),
         ("rejected", "unreadable")),
]

IMAGES = [
    Kind("a stray file among CK+ frames", _ck("desktop.ini", lambda: b"[.ShellClassInfo]"), ("rejected", "not a")),
    Kind("an unreadable frame in a CK+ sequence", _ck_sequence_with_a_corrupt_frame, ("rejected", "unreadable image")),
    Kind("a CK+ label folder that does not exist", _ck("S010_006_00000001.png", folder="joy"), ("rejected", "joy")),
]

RAVDESS_KINDS = AUDIO + NAMES + ARCHIVES + VIDEO

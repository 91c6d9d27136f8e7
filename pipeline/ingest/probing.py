"""Reading a corpus's files into takes: each audio track decoded in full and each video opened
(in parallel, where the caller's `compute.engine` says), the best usable file of a take chosen,
and every file that cannot be used, or is used with a caveat, named with the reason.

What every corpus shares; a corpus module's `takes` (its `Corpus.read`) says how its files
become takes, and a corpus whose every file is one take uses `one_file_takes`.
"""

from __future__ import annotations

import glob
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import pandas as pd
from joblib import Parallel, delayed

from pipeline import progress
from pipeline.extract import audio
from pipeline.ingest import sources
from pipeline.ingest.corpora import CorpusNameError, table
from pipeline.ingest.rejected import reject

if TYPE_CHECKING:
    from pipeline.ingest.corpora import Corpus

AUDIO_SUFFIXES = (".wav", ".flac")  # audio-only files, in preference order (then a full-AV mp4's track)
VIDEO_SUFFIX = ".mp4"
MAX_TAKE_MB = 200.0  # ingest.max_take_mb: a RAVDESS take is under 1 MB, ten minutes of 48 kHz stereo 115 MB


@dataclass(frozen=True)
class Probing:
    """How a take's audio is checked: the peak below which it is silent, and the largest take read."""

    silence_dbfs: float
    max_take_mb: float = MAX_TAKE_MB


Found = tuple[pd.DataFrame, list[dict[str, str]]]  # the takes (`COLUMNS`) and the rejects (`rejected.reject` rows)


def probe_audio(address: str, silence_dbfs: float, max_take_mb: float = MAX_TAKE_MB) -> dict[str, object]:
    """Decode one clip in full; return its facts, or the reason it is unusable (a clip larger than
    `max_take_mb` once unpacked is refused before it is read: decoding it could exhaust memory)."""
    try:
        size_mb = sources.unpacked_size(address) / 1e6
    except (OSError, zipfile.BadZipFile, KeyError) as error:
        return {"error": f"unreadable ({error})"}
    if size_mb > max_take_mb:
        return {"error": f"{size_mb:.0f} MB once unpacked, above ingest.max_take_mb ({max_take_mb:g} MB): not read"}
    try:
        decoded = audio.decode(address)
        level = audio.check_level(decoded.samples, silence_dbfs)
    except audio.AudioError as error:
        return {"error": str(error)}
    return {
        "duration_s": decoded.duration_s,
        "sample_rate": decoded.sample_rate,
        "channels": decoded.channels,
        "peak_dbfs": level,
        "note": decoded.note,
        "audio_hash": audio.content_hash(decoded),
    }


def probe_video(address: str) -> dict[str, object]:
    """Open a video and decode its first frame; return its facts, or the reason it is unusable."""
    try:
        with sources.local_file(address) as path:
            capture = cv2.VideoCapture(path)
            try:
                ok = capture.isOpened() and capture.read()[0]
                facts = {"n_frames": int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), "fps": capture.get(cv2.CAP_PROP_FPS)}
            finally:
                capture.release()
        facts["video_hash"] = sources.file_hash(address)
    except OSError as error:
        return {"error": f"unreadable video ({error})"}
    return facts if ok else {"error": "unreadable video (no frame could be decoded)"}


def in_parallel(probe, named: list[tuple[str, object]], desc: str, *args: object) -> list[dict[str, object]]:
    """`probe(address, *args)` for every file, where the caller's `compute.engine` says, with a progress bar."""
    return list(progress.bar(
        Parallel(return_as="generator")(delayed(probe)(address, *args) for address, _ in named),
        total=len(named), desc=desc, unit="file", disable=not named,
    ))


def best_of(candidates: list[tuple[str, int, str, dict[str, object]]]) -> dict[str, tuple[str, dict[str, object]]]:
    """{take: (address, facts)} of the best usable candidate per take: lowest rank, then path."""
    chosen: dict[str, tuple[str, dict[str, object]]] = {}
    for take, _, address, facts in sorted(candidates, key=lambda c: (c[0], c[1], c[2])):
        if "error" not in facts and take not in chosen:
            chosen[take] = (address, facts)
    return chosen


def caveats(facts: dict[str, object], corpus: str, native: tuple[int, ...]) -> list[str]:
    """What a usable audio track is used with: downmixed, resampled from a rate the corpus is not
    recorded at (a table corpus declares none)."""
    notes = [facts["note"]] if facts.get("note") else []
    if facts["channels"] != 1:
        notes.append(f"{facts['channels']} channels: downmixed to mono")
    if native and facts["sample_rate"] not in native:
        rates = " or ".join(map(str, native))
        notes.append(f"sample rate {facts['sample_rate']} Hz ({corpus} is {rates} Hz): resampled")
    return notes


def probe_any_video(address: str) -> dict[str, object]:
    """`probe_video` of a video file, or of a sequence (a glob over its images: each must be readable)."""
    if sources.suffix(address) not in sources.IMAGE_SUFFIXES:
        return probe_video(address)
    frames = sorted(glob.glob(address))
    unreadable = [f for f in frames if cv2.imread(f, cv2.IMREAD_GRAYSCALE) is None]
    if unreadable:
        return {"error": f"unreadable image {unreadable[0]}: the sequence is left out"}
    return {"n_frames": len(frames)} if frames else {"error": "no images"}


def probed_takes(corpus: str, named: list[tuple[str, table.Row]], native_rates: tuple[int, ...],
                 probing: Probing) -> Found:
    """The takes of one file each ((the file, its take), every track a take names probed) and the
    rejects; a take whose one track fails is kept for the other."""
    rejects: list[dict[str, str]] = []
    with_audio = [i for i, (_, row) in enumerate(named) if row.audio]
    with_video = [i for i, (_, row) in enumerate(named) if row.video]
    heard = dict(zip(with_audio, in_parallel(probe_audio, [(named[i][1].audio, None) for i in with_audio],
                                             f"probe {corpus} audio", probing.silence_dbfs, probing.max_take_mb)))
    seen = dict(zip(with_video, in_parallel(probe_any_video, [(named[i][1].video, None) for i in with_video],
                                            f"probe {corpus} video")))
    no_track = {"error": None}  # facts of a track the take does not have: unusable, but no fault
    rows = []
    for i, (address, row) in enumerate(named):
        audio_facts, video_facts = heard.get(i, no_track), seen.get(i, no_track)
        has_audio, has_video = "error" not in audio_facts, "error" not in video_facts
        for facts in (audio_facts, video_facts):
            if facts.get("error"):
                rejects.append(reject(address, f"{facts['error']} (its other track is used)", "kept")
                               if has_audio or has_video else reject(address, facts["error"]))
        if has_audio:
            rejects += [reject(address, note, outcome="kept") for note in caveats(audio_facts, corpus, native_rates)]
        if has_audio or has_video:
            rows.append({
                "corpus": corpus, "take": row.take, "speaker": row.speaker, "gender": row.gender,
                "label": row.label, "channel": row.channel, "intensity": row.intensity,
                "audio_path": row.audio if has_audio else None, "video_path": row.video if has_video else None,
                "duration_s": audio_facts.get("duration_s"), "sample_rate": audio_facts.get("sample_rate"),
                "channels": audio_facts.get("channels"), "n_frames": video_facts.get("n_frames"),
                "audio_hash": audio_facts.get("audio_hash"), "video_hash": video_facts.get("video_hash"),
            })
    takes = pd.DataFrame(rows, columns=COLUMNS)
    duplicated = takes["take"].duplicated()
    rejects += [reject(row.audio_path or row.video_path, f"duplicate of take {row.take}", "dropped")
                for row in takes[duplicated].itertuples()]
    return takes[~duplicated].reset_index(drop=True), rejects


def one_file_takes(adapter: Corpus, files: list[str], probing: Probing) -> Found:
    """Takes of a corpus whose every file is one take, named by `adapter.parse_name` (EmoDB wavs,
    CREMA-D flv clips with both tracks, MEAD mp4s), and the rejects; a video file whose audio track
    fails is kept for its video."""
    corpus = adapter.name
    rejects: list[dict[str, str]] = []
    named = []
    for address in files:
        if sources.suffix(address) not in adapter.suffixes:
            rejects.append(reject(address, f"not a {corpus} clip (suffix {sources.suffix(address)!r})"))
            continue
        try:
            name = adapter.parse_name(sources.name(address))
        except CorpusNameError as error:
            rejects.append(reject(address, str(error)))
            continue
        video = address if "video" in adapter.carries else None
        named.append((address, table.Row(name.take, name.speaker, name.label, address, video, name.gender)))
    takes, probed = probed_takes(corpus, named, adapter.native_rates, probing)
    return takes, rejects + probed


COLUMNS = [
    "corpus", "take", "speaker", "gender", "label", "channel", "intensity", "statement",
    "repetition", "actor", "audio_path", "video_path", "duration_s", "sample_rate", "channels", "n_frames",
    "audio_hash", "video_hash",  # of the decoded samples and of the video file: a copy under another name is known
]
NULLABLE = {"repetition": "Int64", "actor": "Int64", "sample_rate": "Int64", "channels": "Int64", "n_frames": "Int64"}

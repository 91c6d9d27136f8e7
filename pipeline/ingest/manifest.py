"""Build the take manifest from scanned files: parse names, probe, resolve duplicates, select.

One row per take, whatever corpus it comes from; every file that cannot be used, and every
file used with a caveat (stereo, unusual rate), gets a row in the rejects table naming the
file and the reason.
"""

from __future__ import annotations

import glob
import sys
import zipfile
from dataclasses import dataclass

import cv2
import pandas as pd
from joblib import Parallel, delayed

from pipeline import checks, progress
from pipeline.extract import audio
from pipeline.ingest import sources
from pipeline.ingest.corpora import KNOWN_LABELS, CorpusNameError, ckplus, ravdess, registry, table
from pipeline.checks import SettingError

AUDIO_SUFFIXES = (".wav", ".flac")  # audio-only files, in preference order (then a full-AV mp4's track)
VIDEO_SUFFIX = ".mp4"
REJECT_COLUMNS = ["path", "reason", "outcome"]


@dataclass(frozen=True)
class Selection:
    """Which takes the experiment uses (everything else is counted, not rejected)."""

    channels: tuple[str, ...]
    emotions: tuple[str, ...]
    intensities: tuple[str, ...]
    holdout_actors: tuple[int, ...]

    def __post_init__(self) -> None:
        for field, given, known in (
            ("channels", self.channels, ravdess.CHANNELS.values()),
            ("intensities", self.intensities, ravdess.INTENSITIES.values()),
        ):
            unknown = sorted(set(given) - set(known))
            if unknown or not given:
                raise SettingError(f"ingest.{field}: unknown or empty {unknown or given}; choose from {list(known)}")
        if not self.emotions or not all(isinstance(e, str) and table.NAME.fullmatch(e) for e in self.emotions):
            raise SettingError(f"ingest.emotions: {list(self.emotions)}: give emotion names, e.g. {list(KNOWN_LABELS)}")
        actors = [a for a in self.holdout_actors if not (checks.is_int(a) and 1 <= a <= 24)]
        if actors:  # a string such as '21' would hold no actor out at all
            raise SettingError(f"ingest.holdout_actors: {actors} are not RAVDESS actor numbers; "
                             "give whole numbers from 1 to 24, e.g. [21, 22, 23, 24]")


MAX_TAKE_MB = 200.0  # ingest.max_take_mb: a RAVDESS take is under 1 MB, ten minutes of 48 kHz stereo 115 MB


def _probe(address: str, silence_dbfs: float, max_take_mb: float = MAX_TAKE_MB) -> dict[str, object]:
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


def _probe_video(address: str) -> dict[str, object]:
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


def _parallel(probe, named: list[tuple[str, object]], desc: str, *args: object) -> list[dict[str, object]]:
    """`probe(address, *args)` for every file, where the caller's `compute.engine` says, with a progress bar."""
    return list(progress.bar(
        Parallel(return_as="generator")(delayed(probe)(address, *args) for address, _ in named),
        total=len(named), desc=desc, unit="file", disable=not named,
    ))


def _choose(candidates: list[tuple[str, int, str, dict[str, object]]]) -> dict[str, tuple[str, dict[str, object]]]:
    """{take: (address, facts)} of the best usable candidate per take: lowest rank, then path."""
    chosen: dict[str, tuple[str, dict[str, object]]] = {}
    for take, _, address, facts in sorted(candidates, key=lambda c: (c[0], c[1], c[2])):
        if "error" not in facts and take not in chosen:
            chosen[take] = (address, facts)
    return chosen


def _caveats(facts: dict[str, object], corpus: str, native: tuple[int, ...]) -> list[str]:
    """What a usable audio track is used with: downmixed, resampled from a rate the corpus is not
    recorded at (a table corpus declares none)."""
    notes = [facts["note"]] if facts.get("note") else []
    if facts["channels"] != 1:
        notes.append(f"{facts['channels']} channels: downmixed to mono")
    if native and facts["sample_rate"] not in native:
        rates = " or ".join(map(str, native))
        notes.append(f"sample rate {facts['sample_rate']} Hz ({corpus} is {rates} Hz): resampled")
    return notes


def build(
    corpora: dict[str, list[str]], selection: Selection, silence_dbfs: float,
    max_take_mb: float = MAX_TAKE_MB, described: dict[str, table.TableSpec] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Takes of every corpus from its scanned files ({corpus: files}) and of every corpus a table
    describes ({corpus: its table}): (manifest of the selected takes, rejects table)."""
    unknown = sorted(set(corpora) - set(registry.ADAPTERS))
    if unknown:
        raise SettingError(f"unknown corpora {unknown}; known: {sorted(registry.ADAPTERS)}")
    twice = sorted(set(corpora) & set(described or {}))
    if twice:
        raise SettingError(f"corpora {twice} are given both as folders and as tables: name the tables otherwise")
    tables, rejects = [], []
    for corpus, spec in (described or {}).items():
        takes, corpus_rejects = table_takes(corpus, spec, silence_dbfs, max_take_mb)
        tables.append(takes)
        rejects += corpus_rejects
    for corpus, files in corpora.items():
        layout = registry.adapter(corpus).layout
        if layout == "ravdess":
            takes, corpus_rejects = ravdess_takes(files, silence_dbfs, max_take_mb)
        elif layout == "sequences":
            takes, corpus_rejects = ckplus_takes(files)
        else:
            takes, corpus_rejects = one_file_takes(corpus, files, silence_dbfs, max_take_mb)
        tables.append(takes)
        rejects += corpus_rejects
    takes = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=_COLUMNS)
    unknown = sorted(set(selection.emotions) - set(KNOWN_LABELS) - set(takes["label"]))
    if unknown:  # a typo; a label a table keeps under its own name may be selected
        raise SettingError(f"ingest.emotions: unknown {unknown}; choose from {list(KNOWN_LABELS)} or a label "
                         "a table keeps under its own name")
    takes, copies = _without_copies(_select(takes.astype(_NULLABLE), selection))
    return takes, reject_table(rejects + copies)


def ravdess_takes(
    clips: list[str], silence_dbfs: float, max_take_mb: float = MAX_TAKE_MB
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """RAVDESS takes and the rejects. A take's audio comes from its audio-only wav/flac or,
    failing that, from the full-AV mp4's track; its video from the full-AV or video-only mp4.
    Every candidate is probed (audio decoded in full, video opened and its first frame read)."""
    rejects: list[dict[str, str]] = []
    audio_only: list[tuple[str, ravdess.RavdessName]] = []
    videos: list[tuple[str, ravdess.RavdessName]] = []
    for address in clips:
        suffix = sources.suffix(address)
        if suffix not in AUDIO_SUFFIXES + (VIDEO_SUFFIX,):
            rejects.append(reject(address, f"not a RAVDESS clip (suffix {suffix!r})"))
            continue
        try:
            name = ravdess.parse_name(sources.name(address))
        except CorpusNameError as error:
            rejects.append(reject(address, str(error)))
            continue
        if (suffix == VIDEO_SUFFIX) == (name.modality == "audio"):
            rejects.append(reject(address, f"modality code says {name.modality!r}, which a {suffix} file cannot be"))
            continue
        (videos if suffix == VIDEO_SUFFIX else audio_only).append((address, name))

    audio_facts = _parallel(_probe, audio_only, "probe audio", silence_dbfs, max_take_mb)
    with_audio = {name.take for (_, name), facts in zip(audio_only, audio_facts) if "error" not in facts}
    av_tracks = [(a, n) for a, n in videos if n.modality == "audio-video" and n.take not in with_audio]
    track_facts = _parallel(_probe, av_tracks, "probe audio tracks", silence_dbfs, max_take_mb)
    video_facts = _parallel(_probe_video, videos, "probe video")

    audio_choice = _choose(
        [(n.take, AUDIO_SUFFIXES.index(sources.suffix(a)), a, f) for (a, n), f in zip(audio_only, audio_facts)]
        + [(n.take, len(AUDIO_SUFFIXES), a, f) for (a, n), f in zip(av_tracks, track_facts)]
    )
    video_choice = _choose(
        [(n.take, 0 if n.modality == "audio-video" else 1, a, f) for (a, n), f in zip(videos, video_facts)]
    )
    names = {n.take: n for _, n in audio_only + videos}
    used = {a for a, _ in audio_choice.values()} | {a for a, _ in video_choice.values()}
    probed = zip(audio_only + av_tracks + videos, audio_facts + track_facts + video_facts)
    failures = [(address, facts["error"]) for (address, _), facts in probed if "error" in facts]
    for address, error in failures:  # a full-AV mp4 may still serve with its other track
        rejects.append(reject(address, f"{error} (its other track is used)", "kept") if address in used
                       else reject(address, error))
    for address, facts in audio_choice.values():
        rejects += [reject(address, note, outcome="kept")
                    for note in _caveats(facts, ravdess.CORPUS, ravdess.ADAPTER.native_rates)]
    failed = {address for address, _ in failures}
    for address, name in audio_only + videos:
        if address not in used and address not in failed:
            kept = ", ".join(a for a, _ in filter(None, (audio_choice.get(name.take), video_choice.get(name.take))))
            rejects.append(reject(address, f"duplicate of take {name.take}: kept {kept}", outcome="dropped"))
    rows = [
        _row(names[take], audio_choice.get(take), video_choice.get(take))
        for take in sorted(set(audio_choice) | set(video_choice))
    ]
    return pd.DataFrame(rows, columns=_COLUMNS), rejects


def one_file_takes(
    corpus: str, files: list[str], silence_dbfs: float, max_take_mb: float = MAX_TAKE_MB
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Takes of a corpus whose every file is one take (EmoDB wavs, CREMA-D flv clips with both
    tracks, MEAD mp4s) and the rejects; a video file whose audio track fails is kept for its video."""
    adapter = registry.adapter(corpus)
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
    takes, probed = probed_takes(corpus, named, adapter.native_rates, silence_dbfs, max_take_mb)
    return takes, rejects + probed


def table_takes(
    corpus: str, spec: table.TableSpec, silence_dbfs: float, max_take_mb: float = MAX_TAKE_MB
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Takes of a corpus described by a table (`corpora.table`) and the rejects: its bad rows, then
    what probing its files finds."""
    named, problems = table.rows(corpus, spec)
    takes, probed = probed_takes(corpus, named, (), silence_dbfs, max_take_mb)
    return takes, [reject(path, reason) for path, reason in problems] + probed


def _probe_any_video(address: str) -> dict[str, object]:
    """`_probe_video` of a video file, or of a sequence (a glob over its images: each must be readable)."""
    if sources.suffix(address) not in sources.IMAGE_SUFFIXES:
        return _probe_video(address)
    frames = sorted(glob.glob(address))
    unreadable = [f for f in frames if cv2.imread(f, cv2.IMREAD_GRAYSCALE) is None]
    if unreadable:
        return {"error": f"unreadable image {unreadable[0]}: the sequence is left out"}
    return {"n_frames": len(frames)} if frames else {"error": "no images"}


def probed_takes(
    corpus: str, named: list[tuple[str, table.Row]], native_rates: tuple[int, ...], silence_dbfs: float,
    max_take_mb: float = MAX_TAKE_MB,
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The takes of one file each ((the file, its take), every track a take names probed) and the
    rejects; a take whose one track fails is kept for the other."""
    rejects: list[dict[str, str]] = []
    with_audio = [i for i, (_, row) in enumerate(named) if row.audio]
    with_video = [i for i, (_, row) in enumerate(named) if row.video]
    heard = dict(zip(with_audio, _parallel(_probe, [(named[i][1].audio, None) for i in with_audio],
                                           f"probe {corpus} audio", silence_dbfs, max_take_mb)))
    seen = dict(zip(with_video, _parallel(_probe_any_video, [(named[i][1].video, None) for i in with_video],
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
            rejects += [reject(address, note, outcome="kept") for note in _caveats(audio_facts, corpus, native_rates)]
        if has_audio or has_video:
            rows.append({
                "corpus": corpus, "take": row.take, "speaker": row.speaker, "gender": row.gender,
                "label": row.label, "channel": row.channel, "intensity": row.intensity,
                "audio_path": row.audio if has_audio else None, "video_path": row.video if has_video else None,
                "duration_s": audio_facts.get("duration_s"), "sample_rate": audio_facts.get("sample_rate"),
                "channels": audio_facts.get("channels"), "n_frames": video_facts.get("n_frames"),
                "audio_hash": audio_facts.get("audio_hash"), "video_hash": video_facts.get("video_hash"),
            })
    takes = pd.DataFrame(rows, columns=_COLUMNS)
    duplicated = takes["take"].duplicated()
    rejects += [reject(row.audio_path or row.video_path, f"duplicate of take {row.take}", "dropped")
                for row in takes[duplicated].itertuples()]
    return takes[~duplicated].reset_index(drop=True), rejects


def ckplus_takes(files: list[str]) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """CK+ image sequences (every frame read once) and the rejects."""
    found, problems = ckplus.sequences(files)
    rejects = [reject(path, reason) for path, reason in problems]
    rows = []
    for sequence in progress.bar(found, desc="probe CK+ sequences", unit="sequence"):
        frames = sorted(glob.glob(sequence.pattern))
        unreadable = [f for f in frames if cv2.imread(f, cv2.IMREAD_GRAYSCALE) is None]
        if unreadable:
            rejects += [reject(f, f"unreadable image: sequence {sequence.take} left out") for f in unreadable]
            continue
        rows.append({
            "corpus": ckplus.CORPUS, "take": sequence.take, "speaker": sequence.speaker, "label": sequence.label,
            "video_path": sequence.pattern, "n_frames": sequence.n_frames,
        })
    return pd.DataFrame(rows, columns=_COLUMNS), rejects


_COLUMNS = [
    "corpus", "take", "speaker", "gender", "label", "channel", "intensity", "statement",
    "repetition", "actor", "audio_path", "video_path", "duration_s", "sample_rate", "channels", "n_frames",
    "audio_hash", "video_hash",  # of the decoded samples and of the video file: a copy under another name is known
]
_NULLABLE = {"repetition": "Int64", "actor": "Int64", "sample_rate": "Int64", "channels": "Int64", "n_frames": "Int64"}


def _row(
    name: ravdess.RavdessName, audio_source: tuple[str, dict] | None, video_source: tuple[str, dict] | None
) -> dict[str, object]:
    audio_path, audio_facts = audio_source or (None, {})
    video_path, video_facts = video_source or (None, {})
    return {
        "corpus": ravdess.CORPUS,
        "take": name.take,
        "speaker": name.speaker,
        "gender": name.gender,
        "label": name.label,
        "channel": name.channel,
        "intensity": name.intensity,
        "statement": name.statement,
        "repetition": name.repetition,
        "actor": name.actor,
        "audio_path": audio_path,
        "video_path": video_path,
        "duration_s": audio_facts.get("duration_s"),
        "sample_rate": audio_facts.get("sample_rate"),
        "channels": audio_facts.get("channels"),
        "n_frames": video_facts.get("n_frames"),
        "audio_hash": audio_facts.get("audio_hash"),
        "video_hash": video_facts.get("video_hash"),
    }


def reject(path: str, reason: str, outcome: str = "rejected") -> dict[str, str]:
    """One row of a rejects table: the file, why, and what became of it."""
    return {"path": path, "reason": reason, "outcome": outcome}


def reject_table(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Rows from `reject` as a table (with its columns even when empty)."""
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)


def print_rejects(rejects: pd.DataFrame) -> None:
    """Name every rejected or caveated file on stderr as the stage runs."""
    for row in rejects.itertuples():
        print(f"{row.outcome}: {row.path}: {row.reason}", file=sys.stderr)


def _without_copies(takes: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The takes, but a take whose audio or video is another's under a different name is dropped
    and listed when it names another speaker or emotion: it would sit in two folds, or teach a label
    it does not carry. A copy under the same speaker and emotion (RAVDESS ships one: actor 07's two
    repetitions of 03-01-03-01-02) stays in that speaker's fold whatever the split: kept, noted."""
    rejects, first, keep = [], {}, []
    for row in takes.itertuples():
        contents = [h for h in (row.audio_hash, row.video_hash) if isinstance(h, str)]
        earlier = next((first[h] for h in contents if h in first), None)
        path = row.audio_path if isinstance(row.audio_path, str) else row.video_path
        if earlier is None:
            first.update(dict.fromkeys(contents, row))
        elif (earlier.speaker, earlier.label) == (row.speaker, row.label):
            rejects.append(reject(path, f"same content as take {earlier.take} (same speaker and emotion, so "
                                        "always in the same fold)", "kept"))
        else:
            rejects.append(reject(path, f"same content as take {earlier.take} under another speaker or emotion: "
                                        "dropped", "dropped"))
        keep.append(earlier is None or rejects[-1]["outcome"] == "kept")
    return takes[keep].reset_index(drop=True), rejects


def _select(takes: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """The selected takes; channel, intensity and hold-out filters apply where a corpus has them."""
    chosen = (
        (takes["channel"].isna() | takes["channel"].isin(selection.channels))
        & takes["label"].isin(selection.emotions)
        & (takes["intensity"].isna() | takes["intensity"].isin(selection.intensities))
        & ~(takes["corpus"].eq(ravdess.CORPUS) & takes["actor"].isin(selection.holdout_actors))
    )
    return takes[chosen].sort_values("take").reset_index(drop=True)

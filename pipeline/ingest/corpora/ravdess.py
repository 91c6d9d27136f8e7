"""RAVDESS file names: the 7-part identifier `MM-VV-EE-II-SS-RR-AA` and what it encodes.

The take id is fields 2-7 (channel ... actor): the audio-only wav, the full-AV mp4 and the
video-only mp4 of one performance carry the same take id, so they share one fold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from typing import TYPE_CHECKING

from pipeline.ingest.corpora import Corpus, CorpusNameError, code_of

if TYPE_CHECKING:
    from pipeline.ingest.probing import Found, Probing

CORPUS = "ravdess"

MODALITIES = {"01": "audio-video", "02": "video", "03": "audio"}
CHANNELS = {"01": "speech", "02": "song"}
EMOTIONS = {  # code -> canonical name (see pipeline.ingest.corpora.CANONICAL_EMOTIONS)
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "kids", "02": "dogs"}
EXTENSIONS = {".wav", ".flac", ".mp4"}

_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


class RavdessNameError(CorpusNameError):
    """A file name that is not a valid RAVDESS identifier (the message says why)."""


@dataclass(frozen=True)
class RavdessName:
    """The seven fields of one RAVDESS file name, decoded."""

    modality: str
    channel: str
    label: str
    intensity: str
    statement: str
    repetition: int
    actor: int

    @property
    def take(self) -> str:
        """Fields 2-7, shared by every file of one performance."""
        return (
            f"{code_of(CHANNELS, self.channel)}-{code_of(EMOTIONS, self.label)}-"
            f"{code_of(INTENSITIES, self.intensity)}-{code_of(STATEMENTS, self.statement)}-"
            f"{self.repetition:02d}-{self.actor:02d}"
        )

    @property
    def speaker(self) -> str:
        return f"ravdess-{self.actor:02d}"

    @property
    def gender(self) -> str:
        return "male" if self.actor % 2 else "female"


def _field(table: dict[str, str], code: str, what: str) -> str:
    if code not in table:
        raise RavdessNameError(f"unknown {what} code {code!r} (expected one of {sorted(table)})")
    return table[code]


def parse_name(path: str | PurePath) -> RavdessName:
    """Decode a RAVDESS file name; raise RavdessNameError saying which field is wrong."""
    stem = PurePath(path).stem
    match = _NAME.match(stem)
    if not match:
        raise RavdessNameError(f"not a RAVDESS name (expected MM-VV-EE-II-SS-RR-AA): {stem!r}")
    mm, vv, ee, ii, ss, rr, aa = match.groups()
    name = RavdessName(
        modality=_field(MODALITIES, mm, "modality"),
        channel=_field(CHANNELS, vv, "vocal channel"),
        label=_field(EMOTIONS, ee, "emotion"),
        intensity=_field(INTENSITIES, ii, "intensity"),
        statement=_field(STATEMENTS, ss, "statement"),
        repetition=int(rr),
        actor=int(aa),
    )
    if name.repetition not in (1, 2):
        raise RavdessNameError(f"unknown repetition code {rr!r} (expected 01 or 02)")
    if not 1 <= name.actor <= 24:
        raise RavdessNameError(f"unknown actor code {aa!r} (expected 01-24)")
    if name.label == "neutral" and name.intensity == "strong":
        raise RavdessNameError("neutral has no strong intensity in RAVDESS")
    return name


def takes(adapter: Corpus, clips: list[str], probing: Probing) -> Found:
    """RAVDESS takes and the rejects. A take's audio comes from its audio-only wav/flac or,
    failing that, from the full-AV mp4's track; its video from the full-AV or video-only mp4.
    Every candidate is probed (audio decoded in full, video opened and its first frame read)."""
    import pandas as pd  # the decoders load when takes are read, not when the corpus is named

    from pipeline.ingest import sources
    from pipeline.ingest.probing import (AUDIO_SUFFIXES, COLUMNS, VIDEO_SUFFIX, best_of, caveats, in_parallel,
                                         probe_audio, probe_video)
    from pipeline.ingest.rejected import reject
    rejects: list[dict[str, str]] = []
    audio_only: list[tuple[str, RavdessName]] = []
    videos: list[tuple[str, RavdessName]] = []
    for address in clips:
        suffix = sources.suffix(address)
        if suffix not in AUDIO_SUFFIXES + (VIDEO_SUFFIX,):
            rejects.append(reject(address, f"not a RAVDESS clip (suffix {suffix!r})"))
            continue
        try:
            name = parse_name(sources.name(address))
        except CorpusNameError as error:
            rejects.append(reject(address, str(error)))
            continue
        if (suffix == VIDEO_SUFFIX) == (name.modality == "audio"):
            rejects.append(reject(address, f"modality code says {name.modality!r}, which a {suffix} file cannot be"))
            continue
        (videos if suffix == VIDEO_SUFFIX else audio_only).append((address, name))

    audio_facts = in_parallel(probe_audio, audio_only, "probe audio", probing.silence_dbfs, probing.max_take_mb)
    with_audio = {name.take for (_, name), facts in zip(audio_only, audio_facts) if "error" not in facts}
    av_tracks = [(a, n) for a, n in videos if n.modality == "audio-video" and n.take not in with_audio]
    track_facts = in_parallel(probe_audio, av_tracks, "probe audio tracks", probing.silence_dbfs,
                              probing.max_take_mb)
    video_facts = in_parallel(probe_video, videos, "probe video")

    audio_choice = best_of(
        [(n.take, AUDIO_SUFFIXES.index(sources.suffix(a)), a, f) for (a, n), f in zip(audio_only, audio_facts)]
        + [(n.take, len(AUDIO_SUFFIXES), a, f) for (a, n), f in zip(av_tracks, track_facts)]
    )
    video_choice = best_of(
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
                    for note in caveats(facts, CORPUS, adapter.native_rates)]
    failed = {address for address, _ in failures}
    for address, name in audio_only + videos:
        if address not in used and address not in failed:
            kept = ", ".join(a for a, _ in filter(None, (audio_choice.get(name.take), video_choice.get(name.take))))
            rejects.append(reject(address, f"duplicate of take {name.take}: kept {kept}", outcome="dropped"))
    rows = [
        _row(names[take], audio_choice.get(take), video_choice.get(take))
        for take in sorted(set(audio_choice) | set(video_choice))
    ]
    return pd.DataFrame(rows, columns=COLUMNS), rejects




def _row(
    name: RavdessName, audio_source: tuple[str, dict] | None, video_source: tuple[str, dict] | None
) -> dict[str, object]:
    audio_path, audio_facts = audio_source or (None, {})
    video_path, video_facts = video_source or (None, {})
    return {
        "corpus": CORPUS,
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


ADAPTER = Corpus(CORPUS, (".wav", ".flac", ".mp4"), ("audio", "video"), tuple(EMOTIONS.values()), (48000,),
                 parse_name, speakers=tuple(f"{CORPUS}-{actor:02d}" for actor in range(1, 25)),
                 channels=tuple(CHANNELS.values()), intensities=tuple(INTENSITIES.values()), read=takes)

"""RAVDESS file names: the 7-part identifier `MM-VV-EE-II-SS-RR-AA` and what it encodes.

The take id is fields 2-7 (channel ... actor): the audio-only wav, the full-AV mp4 and the
video-only mp4 of one performance carry the same take id, so they share one fold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from pipeline.ingest.corpora import Corpus, CorpusNameError, code_of

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


ADAPTER = Corpus(CORPUS, "ravdess", (".wav", ".flac", ".mp4"), ("audio", "video"), (48000,), parse_name)

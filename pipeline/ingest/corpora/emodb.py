"""EmoDB (Berlin Database of Emotional Speech) file names: `SSTTTEV` (speaker, text, emotion, version).

Labels come from the name's emotion letter, never from third-party tables. Boredom has no
RAVDESS twin and keeps its own name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from pipeline.ingest.corpora import Corpus, CorpusNameError, code_of

CORPUS = "emodb"
EMOTIONS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fearful", "F": "happy", "T": "sad", "N": "neutral"}
GENDERS = {"03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
           "12": "male", "13": "female", "14": "female", "15": "male", "16": "female"}
NATIVE_RATES = (16000, 22050)  # recorded at 16 kHz; the common public copy was resampled to 22.05 kHz
_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z])$")


@dataclass(frozen=True)
class EmodbName:
    speaker_code: str
    text: str
    label: str
    version: str

    @property
    def take(self) -> str:
        return f"{CORPUS}-{self.speaker_code}{self.text}{code_of(EMOTIONS, self.label)}{self.version}"

    @property
    def speaker(self) -> str:
        return f"{CORPUS}-{self.speaker_code}"

    @property
    def gender(self) -> str:
        return GENDERS[self.speaker_code]


def parse_name(path: str | PurePath) -> EmodbName:
    """Decode an EmoDB file name; raise CorpusNameError saying which part is wrong."""
    stem = PurePath(path).stem
    match = _NAME.match(stem)
    if not match:
        raise CorpusNameError(f"not an EmoDB name (expected speaker, text, emotion, version as in 03a01Fa): {stem!r}")
    speaker, text, emotion, version = match.groups()
    if speaker not in GENDERS:
        raise CorpusNameError(f"unknown EmoDB speaker {speaker!r} (expected one of {sorted(GENDERS)})")
    if emotion not in EMOTIONS:
        raise CorpusNameError(f"unknown EmoDB emotion letter {emotion!r} (expected one of {sorted(EMOTIONS)})")
    return EmodbName(speaker, text, EMOTIONS[emotion], version)


ADAPTER = Corpus(CORPUS, (".wav", ".flac"), ("audio",), tuple(EMOTIONS.values()), NATIVE_RATES,
                 parse_name, speakers=tuple(f"{CORPUS}-{code}" for code in GENDERS))

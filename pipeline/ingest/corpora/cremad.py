"""CREMA-D clip names: `ActorID_Sentence_Emotion_Level` (e.g. 1001_DFA_ANG_XX.flv).

One flv carries a take's video and its audio track. The level (LO, MD, HI, or XX for
unspecified) is not RAVDESS's normal/strong scale, so it is not mapped onto it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from pipeline.ingest.corpora import Corpus, CorpusNameError, code_of

CORPUS = "cremad"
EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
LEVELS = ("LO", "MD", "HI", "XX")
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


@dataclass(frozen=True)
class CremadName:
    actor: str
    sentence: str
    label: str
    level: str

    @property
    def take(self) -> str:
        return f"{CORPUS}-{self.actor}_{self.sentence}_{code_of(EMOTIONS, self.label)}_{self.level}"

    @property
    def speaker(self) -> str:
        return f"{CORPUS}-{self.actor}"

    @property
    def gender(self) -> None:
        return None  # in the corpus's VideoDemographics.csv, not in the name


def parse_name(path: str | PurePath) -> CremadName:
    """Decode a CREMA-D clip name; raise CorpusNameError saying which part is wrong."""
    stem = PurePath(path).stem
    match = _NAME.match(stem)
    if not match:
        raise CorpusNameError(f"not a CREMA-D name (expected ActorID_Sentence_Emotion_Level): {stem!r}")
    actor, sentence, emotion, level = match.groups()
    for what, code, known in (("sentence", sentence, SENTENCES), ("emotion", emotion, EMOTIONS), ("level", level, LEVELS)):
        if code not in known:
            raise CorpusNameError(f"unknown CREMA-D {what} code {code!r} (expected one of {sorted(known)})")
    return CremadName(actor, sentence, EMOTIONS[emotion], level)


ADAPTER = Corpus(CORPUS, (".flv", ".mp4", ".wav"), ("audio", "video"), tuple(EMOTIONS.values()), (16000, 44100),
                 parse_name)

"""MEAD talking-face clip names: `Speaker_view_emotion_level<L>_<NNN>` (e.g. M030_front_angry_level3_001.mp4).

The views (front, left_30, down, ...) are cameras filming one performance at once, so the take
leaves the view out: two views of a performance are one take, never split across folds. The
level (1-3) is MEAD's own intensity scale, not RAVDESS's normal/strong, so it is not mapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from pipeline.ingest.corpora import Corpus, CorpusNameError, code_of

CORPUS = "mead"
EMOTIONS = {"angry": "angry", "contempt": "contempt", "disgusted": "disgust", "fear": "fearful",
            "happy": "happy", "neutral": "neutral", "sad": "sad", "surprised": "surprised"}
VIEWS = ("front", "down", "top", "left_30", "left_60", "right_30", "right_60")
_NAME = re.compile(r"^([MW]\d{3})_(.+)_([a-z]+)_level([123])_(\d{3})$")


@dataclass(frozen=True)
class MeadName:
    speaker_code: str
    view: str
    label: str
    level: int
    number: str

    @property
    def take(self) -> str:
        return f"{CORPUS}-{self.speaker_code}_{code_of(EMOTIONS, self.label)}_level{self.level}_{self.number}"

    @property
    def speaker(self) -> str:
        return f"{CORPUS}-{self.speaker_code}"

    @property
    def gender(self) -> str:
        return "male" if self.speaker_code.startswith("M") else "female"


def parse_name(path: str | PurePath) -> MeadName:
    """Decode a MEAD clip name; raise CorpusNameError saying which part is wrong."""
    stem = PurePath(path).stem
    match = _NAME.match(stem)
    if not match:
        raise CorpusNameError(f"not a MEAD name (expected Speaker_view_emotion_levelL_NNN): {stem!r}")
    speaker, view, emotion, level, number = match.groups()
    if view not in VIEWS:
        raise CorpusNameError(f"unknown MEAD view {view!r} (expected one of {list(VIEWS)})")
    if emotion not in EMOTIONS:
        raise CorpusNameError(f"unknown MEAD emotion {emotion!r} (expected one of {sorted(EMOTIONS)})")
    return MeadName(speaker, view, EMOTIONS[emotion], int(level), number)


ADAPTER = Corpus(CORPUS, (".mp4",), ("audio", "video"), tuple(EMOTIONS.values()), (48000,), parse_name)

"""One module per corpus: how its file names encode take, speaker and emotion, and its `ADAPTER`
(the `Corpus` declaration `registry` collects)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CANONICAL_EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
# Emotions of other corpora with no RAVDESS twin keep their own name (CK+ contempt, EmoDB boredom).
KNOWN_LABELS = CANONICAL_EMOTIONS + ("contempt", "boredom")


def label_order(labels: set[str]) -> list[str]:
    """Canonical emotions first in their usual order, then any corpus-specific ones (sorted)."""
    return [e for e in CANONICAL_EMOTIONS if e in labels] + sorted(labels - set(CANONICAL_EMOTIONS))


def code_of(table: dict[str, str], name: str) -> str:
    """The file-name code a corpus's `{code: name}` table gives `name` (e.g. RAVDESS '05' for angry)."""
    return next(code for code, named in table.items() if named == name)


@dataclass(frozen=True)
class Corpus:
    """The contract of a corpus adapter: everything ingest, the feature tables and `evaluate`
    need to know of a corpus, declared once in its module."""

    name: str  # the key in fetch.corpora, and the prefix of its take and speaker ids
    # How files become takes: "one_file" (each file is one take), "ravdess" (a performance's
    # audio-only and full-AV files share a take), "sequences" (a folder of images is one take).
    layout: str
    suffixes: tuple[str, ...]  # the files it comes in
    carries: tuple[str, ...]  # "audio", "video": what its takes can hold
    native_rates: tuple[int, ...] = ()  # the audio's rates as recorded (another is resampled, and noted)
    # A clip's file name -> its take, speaker, label, ... (raises CorpusNameError); None where a
    # take is not one file's name (CK+'s sequences).
    parse_name: Callable[[str], Any] | None = None


class CorpusNameError(ValueError):
    """A file name that does not follow its corpus's naming scheme (the message says why)."""

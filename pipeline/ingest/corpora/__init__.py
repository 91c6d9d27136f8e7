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
    need to know of a corpus, declared once in its module (as its `ADAPTER`, which `registry`
    finds there)."""

    name: str  # the key in fetch.corpora, and the prefix of its take and speaker ids
    suffixes: tuple[str, ...]  # the files it comes in
    carries: tuple[str, ...]  # "audio", "video": what its takes can hold
    emotions: tuple[str, ...]  # the labels its takes can carry
    native_rates: tuple[int, ...] = ()  # the audio's rates as recorded (another is resampled, and noted)
    # A clip's file name -> its take, speaker, label, ... (raises CorpusNameError); None where a
    # take is not one file's name (CK+'s sequences).
    parse_name: Callable[[str], Any] | None = None
    speakers: tuple[str, ...] = ()  # its speaker ids, where the corpus fixes them (a hold-out must name one)
    channels: tuple[str, ...] = ()  # its vocal channels (RAVDESS: speech, song); none: not coded
    intensities: tuple[str, ...] = ()  # its intensities; none: not coded
    # Its files -> (takes, rejects) (`ingest.probing.Found`), called as read(adapter, files, probing);
    # None: each file is one take, named by parse_name (`ingest.probing.one_file_takes`).
    # Its reader loads its decoders when it reads, not when the corpus is named (`avemotion --help`).
    read: Callable[[Corpus, list[str], Any], tuple[Any, list[dict[str, str]]]] | None = None


class CorpusNameError(ValueError):
    """A file name that does not follow its corpus's naming scheme (the message says why)."""

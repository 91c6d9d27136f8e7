"""One module per corpus: how its file names encode take, speaker and emotion."""

CANONICAL_EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
# Emotions of other corpora with no RAVDESS twin keep their own name (CK+ contempt, EmoDB boredom).
KNOWN_LABELS = CANONICAL_EMOTIONS + ("contempt", "boredom")


def label_order(labels: set[str]) -> list[str]:
    """Canonical emotions first in their usual order, then any corpus-specific ones (sorted)."""
    return [e for e in CANONICAL_EMOTIONS if e in labels] + sorted(labels - set(CANONICAL_EMOTIONS))


def code_of(table: dict[str, str], name: str) -> str:
    """The file-name code a corpus's `{code: name}` table gives `name` (e.g. RAVDESS '05' for angry)."""
    return next(code for code, named in table.items() if named == name)


class CorpusNameError(ValueError):
    """A file name that does not follow its corpus's naming scheme (the message says why)."""

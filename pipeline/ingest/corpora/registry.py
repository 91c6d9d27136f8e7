"""Every corpus the project reads, by name: each module's `ADAPTER` (`corpora.Corpus`).

Adding a corpus: a module beside these (its name parser and labels, ending in its ADAPTER), its
line here, and its folder under fetch.corpora in params.yaml.
"""

from __future__ import annotations

from pipeline.ingest.corpora import Corpus, ckplus, cremad, emodb, mead, ravdess
from pipeline.checks import SettingError

ADAPTERS: dict[str, Corpus] = {m.ADAPTER.name: m.ADAPTER for m in (ravdess, ckplus, emodb, cremad, mead)}


def adapter(name: str) -> Corpus:
    """The adapter of corpus `name` (an unknown name refused with the known ones)."""
    if name not in ADAPTERS:
        raise SettingError(f"unknown corpus {name!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[name]


def named_clips() -> dict[str, Corpus]:
    """The corpora whose clip names carry take, speaker and label (a feature table's rows can be keyed by them)."""
    return {name: a for name, a in ADAPTERS.items() if a.parse_name is not None}

"""Every corpus the project reads, by name: the `ADAPTER` (`corpora.Corpus`) of each module of this
package, found there: adding a corpus is its module (its names, labels and takes, ending in its
ADAPTER) and its folder under fetch.corpora in params.yaml, no line elsewhere.
"""

from __future__ import annotations

import importlib
import pkgutil

from pipeline.ingest import corpora
from pipeline.ingest.corpora import Corpus
from pipeline.checks import SettingError

ADAPTERS: dict[str, Corpus] = {
    module.ADAPTER.name: module.ADAPTER
    for module in (importlib.import_module(f"{corpora.__name__}.{found.name}")
                   for found in sorted(pkgutil.iter_modules(corpora.__path__), key=lambda m: m.name))
    if isinstance(getattr(module, "ADAPTER", None), Corpus)
}


def adapter(name: str) -> Corpus:
    """The adapter of corpus `name` (an unknown name refused with the known ones)."""
    if name not in ADAPTERS:
        raise SettingError(f"unknown corpus {name!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[name]


def named_clips() -> dict[str, Corpus]:
    """The corpora whose clip names carry take, speaker and label (a feature table's rows can be keyed by them)."""
    return {name: a for name, a in ADAPTERS.items() if a.parse_name is not None}


def declared(what: str) -> tuple[str, ...]:
    """Every value the corpora declare for `what` (channels, intensities, emotions), in first-seen order."""
    return tuple(dict.fromkeys(value for a in ADAPTERS.values() for value in getattr(a, what)))

"""Build the take manifest: each corpus's takes from its scanned files (its adapter's `takes`) or
its table, then the selection and the copies under two names.

One row per take, whatever corpus it comes from; every file that cannot be used, and every
file used with a caveat (stereo, unusual rate), gets a row in the rejects table naming the
file and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.ingest.corpora import KNOWN_LABELS, Corpus, registry, table
from pipeline.ingest.probing import COLUMNS, MAX_TAKE_MB, NULLABLE, Found, Probing, one_file_takes, probed_takes
from pipeline.ingest import rejected
from pipeline.checks import SettingError


@dataclass(frozen=True)
class Selection:
    """Which takes the experiment uses (everything else is counted, not rejected): the channels and
    intensities any corpus declares (a corpus that codes none keeps every take), the emotions, and
    the speakers held out of everything, of any corpus (`<corpus>-<speaker>`, as the manifest names them)."""

    channels: tuple[str, ...]
    emotions: tuple[str, ...]
    intensities: tuple[str, ...]
    holdout_speakers: tuple[str, ...]

    def __post_init__(self) -> None:
        for field, given in (("channels", self.channels), ("intensities", self.intensities)):
            known = registry.declared(field)
            unknown = sorted(set(given) - set(known))
            if unknown or not given:
                raise SettingError(f"ingest.{field}: unknown or empty {unknown or list(given)}; "
                                 f"choose from {list(known)}")
        if not self.emotions or not all(isinstance(e, str) and table.NAME.fullmatch(e) for e in self.emotions):
            raise SettingError(f"ingest.emotions: {list(self.emotions)}: give emotion names, e.g. {list(KNOWN_LABELS)}")
        for speaker in self.holdout_speakers:
            corpus = speaker.split("-")[0] if isinstance(speaker, str) else None
            declared = registry.ADAPTERS[corpus].speakers if corpus in registry.ADAPTERS else ()
            if corpus is None or "-" not in speaker or (declared and speaker not in declared):
                raise SettingError(f"ingest.holdout_speakers: {speaker!r} is no speaker id; give <corpus>-<speaker> "
                                 "as the manifest names them, e.g. [ravdess-21, ravdess-22, ravdess-23, ravdess-24]")

    @classmethod
    def everything(cls) -> Selection:
        """Every take of every corpus: no channel, intensity or emotion left out, no speaker held out."""
        return cls(registry.declared("channels"), KNOWN_LABELS, registry.declared("intensities"), ())


def build(
    corpora: dict[str, list[str]], selection: Selection, silence_dbfs: float,
    max_take_mb: float = MAX_TAKE_MB, described: dict[str, table.TableSpec] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Takes of every corpus from its scanned files ({corpus: files}) and of every corpus a table
    describes ({corpus: its table}): (manifest of the selected takes, rejects table)."""
    unknown = sorted(set(corpora) - set(registry.ADAPTERS))
    if unknown:
        raise SettingError(f"unknown corpora {unknown}; known: {sorted(registry.ADAPTERS)}")
    twice = sorted(set(corpora) & set(described or {}))
    if twice:
        raise SettingError(f"corpora {twice} are given both as folders and as tables: name the tables otherwise")
    probing = Probing(silence_dbfs, max_take_mb)
    found = [table_takes(corpus, spec, probing) for corpus, spec in (described or {}).items()]
    found += [_read(registry.adapter(corpus), files, probing) for corpus, files in corpora.items()]
    rejects = [row for _, corpus_rejects in found for row in corpus_rejects]
    takes = pd.concat([t for t, _ in found], ignore_index=True) if found else pd.DataFrame(columns=COLUMNS)
    unknown = sorted(set(selection.emotions) - set(KNOWN_LABELS) - set(takes["label"]))
    if unknown:  # a typo; a label a table keeps under its own name may be selected
        raise SettingError(f"ingest.emotions: unknown {unknown}; choose from {list(KNOWN_LABELS)} or a label "
                         "a table keeps under its own name")
    takes, copies = _without_copies(_select(takes.astype(NULLABLE), selection))
    return takes, rejected.table(rejects + copies)


def _read(adapter: Corpus, files: list[str], probing: Probing) -> Found:
    """A corpus's takes among its files, by its own reader (one take a file where it has none)."""
    return (adapter.read or one_file_takes)(adapter, files, probing)


def table_takes(corpus: str, spec: table.TableSpec, probing: Probing) -> Found:
    """Takes of a corpus described by a table (`corpora.table`) and the rejects: its bad rows, then
    what probing its files finds."""
    named, problems = table.rows(corpus, spec)
    takes, probed = probed_takes(corpus, named, (), probing)
    return takes, [rejected.reject(path, reason) for path, reason in problems] + probed


def _without_copies(takes: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The takes, but a take whose audio or video is another's under a different name is dropped
    and listed when it names another speaker or emotion: it would sit in two folds, or teach a label
    it does not carry. A copy under the same speaker and emotion (RAVDESS ships one: actor 07's two
    repetitions of 03-01-03-01-02) stays in that speaker's fold whatever the split: kept, noted."""
    rejects, first, keep = [], {}, []
    for row in takes.itertuples():
        contents = [h for h in (row.audio_hash, row.video_hash) if isinstance(h, str)]
        earlier = next((first[h] for h in contents if h in first), None)
        path = row.audio_path if isinstance(row.audio_path, str) else row.video_path
        if earlier is None:
            first.update(dict.fromkeys(contents, row))
        elif (earlier.speaker, earlier.label) == (row.speaker, row.label):
            rejects.append(rejected.reject(path, f"same content as take {earlier.take} (same speaker and emotion, "
                                                 "so always in the same fold)", "kept"))
        else:
            rejects.append(rejected.reject(path, f"same content as take {earlier.take} under another speaker or "
                                                 "emotion: dropped", "dropped"))
        keep.append(earlier is None or rejects[-1]["outcome"] == "kept")
    return takes[keep].reset_index(drop=True), rejects


def _select(takes: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """The selected takes; channel, intensity and hold-out filters apply where a corpus has them."""
    chosen = (
        (takes["channel"].isna() | takes["channel"].isin(selection.channels))
        & takes["label"].isin(selection.emotions)
        & (takes["intensity"].isna() | takes["intensity"].isin(selection.intensities))
        & ~takes["speaker"].isin(selection.holdout_speakers)
    )
    return takes[chosen].sort_values("take").reset_index(drop=True)

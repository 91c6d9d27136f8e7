"""Build the take manifest from scanned files: parse names, probe, resolve duplicates, select.

One row per take, whatever corpus it comes from; every file that cannot be used, and every
file used with a caveat (stereo, unusual rate), gets a row in the rejects table naming the
file and the reason.
"""

from __future__ import annotations

import glob
import sys
from dataclasses import dataclass

import cv2
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from pipeline import audio, sources
from pipeline.corpora import KNOWN_LABELS, ckplus, ravdess

AUDIO_SUFFIXES = (".wav", ".flac")  # preference order when one take exists in several files
NATIVE_RATE = 48000
REJECT_COLUMNS = ["path", "reason", "outcome"]


@dataclass(frozen=True)
class Selection:
    """Which takes the experiment uses (everything else is counted, not rejected)."""

    channels: tuple[str, ...]
    emotions: tuple[str, ...]
    intensities: tuple[str, ...]
    holdout_actors: tuple[int, ...]

    def __post_init__(self) -> None:
        for field, given, known in (
            ("channels", self.channels, ravdess.CHANNELS.values()),
            ("emotions", self.emotions, KNOWN_LABELS),
            ("intensities", self.intensities, ravdess.INTENSITIES.values()),
        ):
            unknown = sorted(set(given) - set(known))
            if unknown or not given:
                raise ValueError(f"ingest.{field}: unknown or empty {unknown or given}; choose from {list(known)}")


def _probe(address: str, silence_dbfs: float) -> dict[str, object]:
    """Decode one clip in full; return its facts, or the reason it is unusable."""
    try:
        decoded = audio.decode(address)
    except audio.AudioError as error:
        return {"error": str(error)}
    level = audio.peak_dbfs(decoded.samples)
    if level < silence_dbfs:
        return {"error": f"silent: peak level {level:.1f} dBFS is below {silence_dbfs} dBFS"}
    return {
        "duration_s": decoded.duration_s,
        "sample_rate": decoded.sample_rate,
        "channels": decoded.channels,
        "peak_dbfs": level,
    }


def _caveats(facts: dict[str, object]) -> list[str]:
    notes = []
    if facts["channels"] != 1:
        notes.append(f"{facts['channels']} channels: downmixed to mono")
    if facts["sample_rate"] != NATIVE_RATE:
        notes.append(f"sample rate {facts['sample_rate']} Hz (RAVDESS is {NATIVE_RATE} Hz): resampled")
    return notes


def build(
    corpora: dict[str, list[str]], selection: Selection, silence_dbfs: float, n_jobs: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Takes of every corpus from its scanned files ({corpus: files}): (manifest of the selected
    takes, rejects table)."""
    unknown = sorted(set(corpora) - set(CORPORA))
    if unknown:
        raise ValueError(f"unknown corpora {unknown}; known: {sorted(CORPORA)}")
    tables, rejects = [], []
    for corpus, files in corpora.items():
        takes, corpus_rejects = (
            ravdess_takes(files, silence_dbfs, n_jobs) if corpus == ravdess.CORPUS else ckplus_takes(files)
        )
        tables.append(takes)
        rejects += corpus_rejects
    takes = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=_COLUMNS)
    return _select(takes.astype(_NULLABLE), selection), reject_table(rejects)


def ravdess_takes(clips: list[str], silence_dbfs: float, n_jobs: int = 1) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """RAVDESS audio takes (every file decoded in full) and the rejects."""
    rejects: list[dict[str, str]] = []
    named: list[tuple[str, ravdess.RavdessName]] = []
    for address in clips:
        if sources.suffix(address) not in AUDIO_SUFFIXES:
            rejects.append(reject(address, f"not an audio clip (suffix {sources.suffix(address)!r})"))
            continue
        try:
            named.append((address, ravdess.parse_name(sources.name(address))))
        except ravdess.RavdessNameError as error:
            rejects.append(reject(address, str(error)))

    probes = list(tqdm(
        Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_probe)(address, silence_dbfs) for address, _ in named),
        total=len(named), desc="probe audio", unit="clip",
    ))
    rows = []
    for (address, name), facts in zip(named, probes):
        if "error" in facts:
            rejects.append(reject(address, str(facts["error"])))
            continue
        rejects += [reject(address, note, outcome="kept") for note in _caveats(facts)]
        rows.append(_row(address, name, facts))
    takes, duplicates = _resolve_duplicates(pd.DataFrame(rows, columns=_COLUMNS))
    return takes, rejects + duplicates


def ckplus_takes(files: list[str]) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """CK+ image sequences (every frame read once) and the rejects."""
    found, problems = ckplus.sequences(files)
    rejects = [reject(path, reason) for path, reason in problems]
    rows = []
    for sequence in tqdm(found, desc="probe CK+ sequences", unit="sequence"):
        frames = sorted(glob.glob(sequence.pattern))
        unreadable = [f for f in frames if cv2.imread(f, cv2.IMREAD_GRAYSCALE) is None]
        if unreadable:
            rejects += [reject(f, f"unreadable image: sequence {sequence.take} left out") for f in unreadable]
            continue
        rows.append({
            "corpus": ckplus.CORPUS, "take": sequence.take, "speaker": sequence.speaker, "label": sequence.label,
            "video_path": sequence.pattern, "n_frames": sequence.n_frames,
        })
    return pd.DataFrame(rows, columns=_COLUMNS), rejects


_COLUMNS = [
    "corpus", "take", "speaker", "gender", "label", "channel", "intensity", "statement",
    "repetition", "actor", "audio_path", "video_path", "duration_s", "sample_rate", "channels", "n_frames",
]
_NULLABLE = {"repetition": "Int64", "actor": "Int64", "sample_rate": "Int64", "channels": "Int64", "n_frames": "Int64"}
CORPORA = (ravdess.CORPUS, ckplus.CORPUS)


def _row(address: str, name: ravdess.RavdessName, facts: dict[str, object]) -> dict[str, object]:
    return {
        "corpus": ravdess.CORPUS,
        "take": name.take,
        "speaker": name.speaker,
        "gender": name.gender,
        "label": name.label,
        "channel": name.channel,
        "intensity": name.intensity,
        "statement": name.statement,
        "repetition": name.repetition,
        "actor": name.actor,
        "audio_path": address,
        "video_path": None,
        "duration_s": facts["duration_s"],
        "sample_rate": facts["sample_rate"],
        "channels": facts["channels"],
    }


def reject(path: str, reason: str, outcome: str = "rejected") -> dict[str, str]:
    """One row of a rejects table: the file, why, and what became of it."""
    return {"path": path, "reason": reason, "outcome": outcome}


def reject_table(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Rows from `reject` as a table (with its columns even when empty)."""
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)


def print_rejects(rejects: pd.DataFrame) -> None:
    """Name every rejected or caveated file on stderr as the stage runs."""
    for row in rejects.itertuples():
        print(f"{row.outcome}: {row.path}: {row.reason}", file=sys.stderr)


def _resolve_duplicates(takes: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Keep one file per take: the preferred format (wav, then flac), then the first path."""
    preference = takes["audio_path"].map(lambda a: AUDIO_SUFFIXES.index(sources.suffix(a)))
    ordered = takes.assign(_preference=preference).sort_values(["take", "_preference", "audio_path"])
    first = ~ordered["take"].duplicated()
    kept = ordered[first].set_index("take")["audio_path"]
    rejects = [
        reject(row.audio_path, f"duplicate of take {row.take}: kept {kept[row.take]}", outcome="dropped")
        for row in ordered[~first].itertuples()
    ]
    return ordered[first].drop(columns="_preference").reset_index(drop=True), rejects


def _select(takes: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """The selected takes; channel, intensity and hold-out filters apply where a corpus has them."""
    chosen = (
        (takes["channel"].isna() | takes["channel"].isin(selection.channels))
        & takes["label"].isin(selection.emotions)
        & (takes["intensity"].isna() | takes["intensity"].isin(selection.intensities))
        & ~(takes["corpus"].eq(ravdess.CORPUS) & takes["actor"].isin(selection.holdout_actors))
    )
    return takes[chosen].sort_values("take").reset_index(drop=True)

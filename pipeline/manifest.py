"""Build the take manifest from scanned clips: parse names, probe audio, resolve duplicates, select.

One row per take; every file that cannot be used, and every file used with a caveat
(stereo, unusual rate), gets a row in the rejects table naming the file and the reason.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from pipeline import audio, sources
from pipeline.corpora import ravdess

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
            ("emotions", self.emotions, ravdess.EMOTIONS.values()),
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
    clips: list[str], selection: Selection, silence_dbfs: float, n_jobs: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (manifest of the selected takes, rejects table)."""
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
    takes = pd.DataFrame(rows, columns=_COLUMNS)
    takes, duplicates = _resolve_duplicates(takes)
    rejects += duplicates
    return _select(takes, selection), reject_table(rejects)


_COLUMNS = [
    "corpus", "take", "speaker", "gender", "label", "channel", "intensity", "statement",
    "repetition", "actor", "audio_path", "video_path", "duration_s", "sample_rate", "channels",
]


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
    chosen = (
        takes["channel"].isin(selection.channels)
        & takes["label"].isin(selection.emotions)
        & takes["intensity"].isin(selection.intensities)
        & ~takes["actor"].isin(selection.holdout_actors)
    )
    return takes[chosen].sort_values("take").reset_index(drop=True)

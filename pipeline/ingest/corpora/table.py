"""Your own labelled clips: a table (CSV, TSV or Parquet) of file, speaker and emotion per clip.

The practitioner's convention (nkululeko's and audformat's): a folder of clips and one table
describing them. A `file` is an audio file, a video, or a folder of images (one sequence, as
in CK+), relative to the table's folder or absolute; a relative one may not leave that folder,
through `..` or a link. The corpus's name (its key under fetch.tables) prefixes its take and
speaker ids, so its speakers never meet another corpus's in one fold. Every row that cannot be
used is a reject with the reason, and the other rows are kept.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import checks
from pipeline.ingest import sources
from pipeline.ingest.corpora import KNOWN_LABELS
from pipeline.checks import SettingError

if TYPE_CHECKING:
    import pandas as pd

SUFFIXES = (".csv", ".tsv", ".parquet")
REQUIRED = ("file", "speaker", "emotion")
OPTIONAL = ("take", "gender", "channel", "intensity", "modality")  # used when the table has them
VALUES = {"gender": ("male", "female"), "channel": ("speech", "song"), "intensity": ("normal", "strong"),
          "modality": ("audio", "video", "audio-video")}
NAME = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class TableSpec:
    """One `fetch.tables` entry: where the table is and how to read it."""

    path: str
    # role -> the table's column for it, for the roles named differently there (e.g. {emotion: label})
    columns: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # the table's label -> a canonical emotion
    unmapped: str = "drop"  # a label neither mapped nor known: "keep" under its own name, or "drop" (a reject)

    def __post_init__(self) -> None:
        if isinstance(self.labels, dict):  # a table's cells are text: `1: happy` and `Calm: neutral` match `1`, `calm`
            object.__setattr__(self, "labels", {_key(raw): label for raw, label in self.labels.items()})
        checks.check("fetch.tables", self, [
            ("path", f"a CSV, TSV or Parquet file ({', '.join(SUFFIXES)})",
             lambda s: isinstance(s.path, str) and Path(s.path).suffix.lower() in SUFFIXES),
            ("columns", f"a map from roles ({', '.join(REQUIRED + OPTIONAL)}) to column names",
             lambda s: isinstance(s.columns, dict) and set(s.columns) <= set(REQUIRED + OPTIONAL)
             and all(isinstance(c, str) and c for c in s.columns.values())),
            ("labels", f"a map from the table's labels to emotions ({', '.join(KNOWN_LABELS)})",
             lambda s: isinstance(s.labels, dict) and set(map(str, s.labels.values())) <= set(KNOWN_LABELS)),
            ("unmapped", "keep or drop", lambda s: s.unmapped in ("keep", "drop")),
        ])

    def column(self, role: str) -> str:
        return self.columns.get(role, role)

    @classmethod
    def from_params(cls, name: str, block: dict) -> TableSpec:
        if not (isinstance(name, str) and NAME.fullmatch(name)):
            raise SettingError(f"fetch.tables: {name!r} is not allowed as a corpus name; it must be lower-case "
                             "letters, digits and underscores ([a-z0-9_]+)")
        return checks.from_block(f"fetch.tables.{name}", cls, block)


@dataclass(frozen=True)
class Row:
    """One usable row: a take with where its audio and video are (None: not used)."""

    take: str
    speaker: str
    label: str
    audio: str | None
    video: str | None  # a video file, or a glob over a sequence's images
    gender: str | None = None
    channel: str | None = None
    intensity: str | None = None


class TableError(ValueError):
    """A table that cannot be read at all (the message names the file and why)."""


def read_table(path: str) -> pd.DataFrame:
    """The table's cells as text (empty cells ""), whatever its format."""
    import pandas as pd  # loaded when a table is read, not when the corpora are named (`avemotion --help`)

    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
            return frame.astype(object).where(frame.notna(), "").astype(str)
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise TableError(f"{path}: cannot be read as a {suffix[1:].upper()} table ({error})") from None


def files(spec: TableSpec) -> list[str]:
    """The clip files the table names that exist (what `fetch` fingerprints beside the table)."""
    try:
        frame = read_table(spec.path)
    except TableError:
        return []
    column = spec.column("file")
    named = frame[column] if column in frame else []
    return sorted({str(p) for cell in named if cell and (p := _joined(spec.path, cell)).is_file()})


def _joined(table: str, cell: str) -> Path:
    return Path(cell) if os.path.isabs(cell) else Path(os.path.dirname(table) or ".") / cell


def take_ids(table: str, addresses: list[str]) -> dict[str, str]:
    """Each clip's take id: its path from the table's folder without the suffix (`p5/01`), so numbered
    files in per-speaker folders stay apart; clips given by absolute paths elsewhere, from the
    folder all of those share."""
    folder = os.path.abspath(os.path.dirname(table) or ".")
    elsewhere = {a for a in map(os.path.abspath, addresses) if os.path.commonpath([a, folder]) != folder}
    shared = os.path.dirname(next(iter(elsewhere))) if len(elsewhere) == 1 else (
        os.path.commonpath(list(elsewhere)) if elsewhere else folder)
    ids = {}
    for address in addresses:
        whole = os.path.abspath(address)
        path = Path(os.path.relpath(whole, shared if whole in elsewhere else folder))
        ids[address] = (path.with_suffix("") if path.suffix and not os.path.isdir(whole) else path).as_posix()
    return ids


def _where(table: str, cell: str) -> tuple[str | None, str | None]:
    """(address, None) of a row's file, or (None, why it cannot be used)."""
    if not cell:
        return None, "empty file cell"
    path = _joined(table, cell)
    if not os.path.isabs(cell):
        folder = os.path.realpath(os.path.dirname(table) or ".")
        if ".." in Path(os.path.normpath(cell)).parts:
            return None, f"{cell!r} climbs out of the table's folder through '..'"
        if os.path.commonpath([folder, os.path.realpath(path)]) != folder:
            return None, f"{cell!r} leads out of the table's folder through a link"
    if not path.exists():
        return None, "no such file"
    return str(path), None


def _tracks(address: str, modality: str) -> tuple[str | None, str | None, str | None]:
    """(audio, video, why not) of a row's file: audio files carry a voice, videos both (unless the
    modality column says one), a folder of images a face (a glob over its most common image type)."""
    path = Path(address)
    if path.is_dir():
        counts = {s: len(list(path.glob(f"*{s}"))) for s in sources.IMAGE_SUFFIXES}
        suffix = max(counts, key=counts.get)
        if not counts[suffix]:
            return None, None, "a folder with no images"
        return None, str(path / f"*{suffix}"), None
    suffix = path.suffix.lower()
    if suffix in sources.AUDIO_SUFFIXES:
        heard, seen = address, None
    elif suffix in sources.VIDEO_SUFFIXES:
        heard, seen = address, address
    else:
        return None, None, (f"suffix {suffix!r} is neither audio ({', '.join(sources.AUDIO_SUFFIXES)}) nor video "
                            f"({', '.join(sources.VIDEO_SUFFIXES)}), nor is it a folder of images")
    if modality == "audio":
        seen = None
    elif modality == "video":
        heard = None
    if heard is None and seen is None:
        return None, None, f"modality {modality!r}, which a {suffix} file does not carry"
    return heard, seen, None


def _key(raw: object) -> str:
    """A label as matched: text, case and surrounding spaces ignored (as for the built-in labels)."""
    return str(raw).strip().lower()


def _label(raw: str, spec: TableSpec) -> tuple[str | None, str | None]:
    """(emotion, None) of a table's label, or (None, why it is left out)."""
    if _key(raw) in spec.labels:
        return spec.labels[_key(raw)], None
    label = raw.strip().lower()
    if label in KNOWN_LABELS:
        return label, None
    if not raw:
        return None, "empty emotion cell"
    if spec.unmapped == "drop":
        return None, f"label {raw!r} maps to no emotion (add it to labels, or set unmapped: keep)"
    if not NAME.fullmatch(label):
        return None, f"label {raw!r} is kept under its own name, which must be [a-z0-9_]+"
    return label, None


def rows(name: str, spec: TableSpec) -> tuple[list[tuple[str, Row]], list[tuple[str, str]]]:
    """([(the row's file address, Row)], [(path, reason)]) of every row of the table. An unreadable
    table, or one missing a required column, is one reject naming the table."""
    try:
        frame = read_table(spec.path)
    except TableError as error:
        return [], [(spec.path, str(error).removeprefix(f"{spec.path}: "))]
    missing = [spec.column(role) for role in REQUIRED if spec.column(role) not in frame]
    if missing:
        return [], [(spec.path, f"no column {', '.join(map(repr, missing))} (columns: {', '.join(frame.columns)}; "
                                f"name others under fetch.tables.{name}.columns)")]
    out: list[tuple[str, Row]] = []
    rejects: list[tuple[str, str]] = []
    seen_files: dict[str, int] = {}
    for number, cells in enumerate(frame.to_dict("records"), start=2):  # line 1 is the header
        cell = {role: str(cells.get(spec.column(role), "")).strip() for role in REQUIRED + OPTIONAL}
        if "\\" in cell["file"] and not _joined(spec.path, cell["file"]).exists():  # a table written on Windows
            cell["file"] = cell["file"].replace("\\", "/")
        where = f"{spec.path} line {number}"
        address, why = _where(spec.path, cell["file"])
        label, why_label = _label(cell["emotion"], spec)
        wrong = [f"{role} {cell[role]!r}: expected one of {', '.join(allowed)} or empty"
                 for role, allowed in VALUES.items() if cell[role] and cell[role] not in allowed]
        why = why or why_label or ("empty speaker cell" if not cell["speaker"] else None) or "; ".join(wrong)
        if not why:  # a take named twice (two cameras of one performance) is dropped once probed, as for any corpus
            real = os.path.realpath(address)
            if real in seen_files:
                why = f"duplicate of line {seen_files[real]} (the same file)"
            seen_files.setdefault(real, number)
        if why:
            rejects.append((f"{where}: {cell['file']}" if cell["file"] else where, why))
            continue
        audio, video, why = _tracks(address, cell["modality"])
        if why:
            rejects.append((f"{where}: {cell['file']}", why))
            continue
        out.append((address, Row(cell["take"], f"{name}-{cell['speaker']}", label, audio, video,
                                 cell["gender"] or None, cell["channel"] or None, cell["intensity"] or None)))
    ids = take_ids(spec.path, [address for address, _ in out])
    return [(address, dataclasses.replace(row, take=f"{name}-{row.take or ids[address]}")) for address, row in out], rejects

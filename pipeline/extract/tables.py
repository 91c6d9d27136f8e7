"""Features measured by other tools (OpenFace, Py-Feat, an extractor run elsewhere), read as a
modality of their own.

Two formats: clip-level tables (CSV or Parquet, one row per clip, a column naming the clip,
numeric feature columns), and OpenFace `FeatureExtraction` per-frame CSVs, one per clip named
after it. Per-frame rows are filtered (`success`, `confidence`) and pooled over the clip with the
project's own functionals; their 68 landmarks (the iBUG scheme dlib uses too) go through the
project's own face geometry. Nothing here raises for one bad file, row or value: each becomes a
reject row (file, reason, outcome) and the rest is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np
import pandas as pd

from pipeline.extract import face
from pipeline.ingest import rejected
from pipeline.extract.batch import extract
from pipeline.ingest.corpora import CorpusNameError, registry
from pipeline.errors import ClipError
from pipeline.extract.functionals import pool, pooled_names
from pipeline.checks import SettingError

FORMATS = ("table", "openface")
KINDS = ("voice", "face")
TABLE_SUFFIXES = (".csv", ".parquet")
# Each corpus's name parser: a clip named as the corpus names its files joins that file's take.
MEDIA_SUFFIXES = re.compile(r"\.(wav|flac|mp4|flv|mov|avi|mkv|csv)$", re.IGNORECASE)


class TableError(ClipError):
    """A whole feature file that cannot be used (the message says why)."""


@dataclass(frozen=True)
class ExternalSource:
    """One source of externally measured features (filled from `external_features.<name>`)."""

    name: str
    kind: str  # which side of "voice + face" it stands for
    corpus: str
    format: str
    path: str  # a file, or a folder searched at any depth
    clip_column: str = "clip"  # tables: the column naming each clip
    columns: tuple[str, ...] = ()  # tables: the feature columns required (empty: every numeric one)
    min_confidence: float = 0.8  # openface: frames below this tracking confidence are dropped
    functionals: tuple[str, ...] = ("mean", "std", "min", "max", "range", "p10", "p50", "p90")

    def __post_init__(self) -> None:
        for what, given, known in (("kind", self.kind, KINDS), ("format", self.format, FORMATS),
                                   ("corpus", self.corpus, tuple(registry.named_clips()))):
            if given not in known:
                raise SettingError(f"external_features.{self.name}.{what}: {given!r} is not one of {list(known)}")


def source_from(name: str, params: dict) -> ExternalSource:
    """The ExternalSource of `external_features.<name>` (openface sources pool with the face
    features' functionals, so both face branches describe a clip the same way)."""
    sources = params.get("external_features") or {}
    if name not in sources:
        raise SettingError(f"external_features has no source {name!r} (it has: {', '.join(sources) or 'none'})")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in sources[name].items()}
    return ExternalSource(name=name, functionals=tuple(params["face_features"]["functionals"]), **values)


def _stem(clip: str) -> str:
    """A clip's file name without its folder and media suffix."""
    return MEDIA_SUFFIXES.sub("", PurePath(str(clip).strip()).name)


def take_of(corpus: str, clip: str) -> str:
    """The take a clip name belongs to (e.g. RAVDESS `01-…`, `02-…` and `03-…` names of one
    performance give one take); raise CorpusNameError if it is not a `corpus` name."""
    return registry.named_clips()[corpus].parse_name(_stem(clip)).take


def clip_key(corpus: str, clip: str) -> str:
    """What joins a user's clip to a measured row: its take when the name is a `corpus` name, else
    its file name without the suffix."""
    try:
        return take_of(corpus, clip)
    except CorpusNameError:
        return _stem(clip)


def _listed(columns: list[str]) -> str:
    """The first few of many column names, for a message."""
    return ", ".join(columns[:5]) + (" ..." if len(columns) > 5 else "")


def source_files(path: str | Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The file itself, or every file with one of `suffixes` under a folder (sorted)."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such file or folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


SEPARATORS = (",", ";", "\t")


def separator(path: Path) -> str:
    """The CSV's field separator, from its header line: `,`, or `;` (spreadsheets in locales with a
    decimal comma write it) or a tab when the header holds one of those and no comma."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    return next((s for s in SEPARATORS if s in header), ",")


DECIMAL_COMMA = re.compile(r"^([+-]?\d+),(\d+(?:[eE][+-]?\d+)?)$")


def read_frame(path: Path) -> pd.DataFrame:
    """A CSV (`,`, `;` or tab separated, a UTF-8 byte-order mark ignored; column names stripped:
    OpenFace writes `frame, face_id, ...`; in a `;` table a decimal comma, `0,25`, is a decimal
    point, as the spreadsheet that wrote it meant) or Parquet table, all values as read;
    TableError when the file is empty or cannot be parsed."""
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            sep = separator(path)
            frame = pd.read_csv(path, sep=sep, skipinitialspace=True, dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")
            if sep == ";":
                frame = frame.apply(lambda column: column.str.replace(DECIMAL_COMMA, r"\1.\2", regex=True))
    except pd.errors.EmptyDataError:
        raise TableError("empty file: no header and no rows") from None
    except (pd.errors.ParserError, OSError, ValueError, UnicodeDecodeError) as error:
        raise TableError(f"unreadable table ({str(error).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise TableError("no rows under the header")
    return frame


INDEX_NAME = re.compile(r"^(|index|unnamed: \d+)$", re.IGNORECASE)
# What names a clip rather than measures it: the fields of the corpora's file names and the usual
# label columns, alone or as an id, code or number (`emotion`, `actor_id`, `label_code`).
NAME_FIELD = re.compile(r"^(modality|vocal_?channel|channel|emotion|intensity|statement|repetition|actor|speaker|"
                        r"subject|gender|sex|label|class|target|category|take|clip|file|filename|path|id|row)"
                        r"([ _-]?(id|code|no|num|number|name|label|index|idx))?$", re.IGNORECASE)
# OpenFace 2's documented output columns (FeatureExtraction): a table holding them is OpenFace's,
# and only these are measurements of the face (frame, timestamp, confidence, success are not).
OPENFACE_MEASUREMENT = re.compile(r"^(AU\d\d_[rc]|gaze_[01]_[xyz]|gaze_angle_[xy]|eye_lmk_[xyXYZ]_\d+|"
                                  r"pose_[TR][xyz]|[xyXYZ]_\d+|p_(scale|r[xyz]|t[xy]|\d+))$")
MIN_ROWS_FOR_IDENTIFIERS = 10  # fewer distinct whole numbers than this can be measurements by chance


def identifier(name: str, values: pd.Series) -> str | None:
    """Why a column names or numbers the rows instead of measuring them, or None. Each of these
    predicts the emotion of unseen speakers in a table sorted or filtered by take: the column is
    unnamed or `index` (pandas' `to_csv(index=True)`), named as a clip-name field (`emotion`,
    `actor`), whole numbers strictly rising or falling in table order (a row id from any start, an
    index with gaps after filtering), or distinct whole numbers on every row (a shuffled table's
    old index)."""
    if INDEX_NAME.match(name.strip()):
        return "a row index (unnamed or 'index')"
    if NAME_FIELD.match(name.strip()):
        return "named as a field of the clips' names or labels, not a measurement"
    column = values.to_numpy(dtype=np.float64)
    whole = len(column) >= 3 and np.isfinite(column).all() and np.array_equal(column, np.round(column))
    if not whole:
        return None
    steps = np.diff(column)
    if (steps > 0).all() or (steps < 0).all():
        return "a row index (whole numbers rising or falling in table order)"
    if len(column) >= MIN_ROWS_FOR_IDENTIFIERS and len(np.unique(column)) == len(column):
        return "a row identifier (a different whole number on every row)"
    return None


def openface_extras(columns: list[str]) -> list[str]:
    """The columns of an OpenFace table (one with action-unit columns) that are not OpenFace's
    measurements; none for another producer's table."""
    if not any(re.match(r"^AU\d\d_[rc]$", c) for c in columns):
        return []
    return [c for c in columns if not OPENFACE_MEASUREMENT.match(c)]


def label_constant(features: pd.DataFrame, labels: pd.Series) -> list[str]:
    """Columns that hold one value per label (each label with 2+ rows has a single value, and
    labels differ): the label itself, encoded. `features` and `labels` are aligned by row."""
    counts = labels.value_counts()
    repeated = labels.isin(counts.index[counts >= 2]).to_numpy()
    if (counts >= 2).sum() < 2:
        return []
    part = features[repeated].groupby(labels[repeated].to_numpy())
    return [c for c in features.columns if (part[c].nunique(dropna=False) == 1).all() and part[c].first().nunique() > 1]


def numeric(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Columns as float64 and, per cell, True where a non-empty value is not a number."""
    values = frame.apply(lambda column: pd.to_numeric(column.replace("", np.nan), errors="coerce"))
    text = values.isna() & frame.notna() & frame.astype(str).ne("")
    return values.astype(np.float64), text


@dataclass
class Rows:
    """Clip-level feature rows read from a source: one per clip name, before matching takes."""

    clips: list[str]
    where: list[str]  # the file (and row) each came from, for reject messages
    X: np.ndarray  # (clips, features)
    names: list[str]
    rejects: list[dict[str, str]]


def _first_problem(values: pd.DataFrame, text: pd.DataFrame) -> pd.Series:
    """Per row: why it cannot be used (a text cell, else a missing or non-finite value), or ''."""
    bad_text = text.idxmax(axis=1).where(text.any(axis=1))
    non_finite = ~np.isfinite(values.to_numpy())
    bad_value = pd.Series(np.asarray(values.columns)[non_finite.argmax(axis=1)], index=values.index)
    reasons = pd.Series("", index=values.index)
    reasons[non_finite.any(axis=1)] = [
        f"column {c} is {'empty' if np.isnan(values.at[i, c]) else values.at[i, c]}, not a finite number"
        for i, c in bad_value[non_finite.any(axis=1)].items()
    ]
    reasons[bad_text.notna()] = [f"column {c} holds text, not a number" for c in bad_text.dropna()]
    return reasons


def table_rows(source: ExternalSource) -> Rows:
    """Every clip row of every table under `source.path`; unusable files, columns and rows as rejects.

    The feature columns are `source.columns`, or else every column of the first readable table
    that holds numbers (a column with text and no number is left out and reported); a table
    missing any of them is refused.
    """
    rejects: list[dict[str, str]] = []
    clips, where, blocks = [], [], []
    names: list[str] | None = list(source.columns) or None
    for path in source_files(source.path, TABLE_SUFFIXES):
        try:
            frame = read_frame(path)
        except TableError as error:
            rejects.append(rejected.reject(str(path), str(error)))
            continue
        if source.clip_column not in frame.columns:
            rejects.append(rejected.reject(str(path), f"no clip-name column {source.clip_column!r} "
                                                      f"(columns: {', '.join(frame.columns[:8])}...)"))
            continue
        features = frame.drop(columns=[source.clip_column])
        values, text = numeric(features)
        numbers = [c for c in features.columns if not (text[c].any() and values[c].isna().all())]
        why = {c: reason for c in numbers if (reason := identifier(c, values[c]))}
        why |= {c: "not one of OpenFace's measurements (an OpenFace table)" for c in openface_extras(numbers)
                if c not in why}
        indexes = list(why)
        rejects += [rejected.reject(str(path), f"column {c!r} is {reason}: left out", "dropped")
                    for c, reason in why.items()]
        if names is None:
            words = [c for c in features.columns if text[c].any() and values[c].isna().all() and c not in indexes]
            rejects += [rejected.reject(str(path), f"column {c!r} holds text, not numbers: left out", "dropped")
                        for c in words]
            names = [c for c in features.columns if c not in words + indexes]
        elif listed := [c for c in names if c in indexes]:
            rejects.append(rejected.reject(str(path), f"columns {_listed(listed)} of external_features columns name "
                                                      "or number the rows, not measure them: the table is refused"))
            continue
        if not names:  # e.g. every value text: decimal commas in a comma-separated file
            rejects.append(rejected.reject(str(path), "no column of numbers to use as features"))
            names = None  # the next table may have them
            continue
        missing = [c for c in names if c not in features.columns]
        if missing:
            rejects.append(rejected.reject(str(path), f"missing feature columns {_listed(missing)} "
                                                      f"({len(missing)} of {len(names)})"))
            continue
        reasons = _first_problem(values[names], text[names])
        clip_names = frame[source.clip_column].astype(str).str.strip()
        for row in np.flatnonzero(reasons.ne("").to_numpy()):
            rejects.append(rejected.reject(str(path), f"row {row + 1} (clip {clip_names.iat[row]!r}): {reasons.iat[row]}"))
        good = reasons.eq("").to_numpy()
        clips += clip_names[good].tolist()
        where += [f"{path} row {row + 1}" for row in np.flatnonzero(good)]
        blocks.append(values.loc[good, names].to_numpy())
    names = names or []
    X = np.vstack(blocks) if blocks else np.empty((0, len(names)))
    return Rows(clips, where, X, names, rejects)


OPENFACE_POINTS = [f"{axis}_{i}" for axis in ("x", "y") for i in range(face.N_POINTS)]
ACTION_UNIT = re.compile(r"^AU\d\d_[rc]$")


def openface_names(action_units: list[str], functionals: tuple[str, ...]) -> list[str]:
    """Columns of `openface_features`: the project's face features of the landmarks, then the
    action units pooled over the clip."""
    return face.feature_names(face.FaceSettings(functionals=functionals)) + pooled_names(action_units, functionals)


def openface_frames(frame: pd.DataFrame, action_units: list[str], min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks `(frames, 68, 2)` and action units `(frames, n)` of one clip's per-frame table,
    NaN on frames OpenFace did not track (`success` 0) or tracked with low `confidence`."""
    required = ["success", "confidence", *OPENFACE_POINTS, *action_units]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise TableError(f"missing OpenFace columns {_listed(missing)}")
    values, text = numeric(frame[required])
    if "frame" in frame.columns:  # FaceLandmarkVidMulti writes a row per face: keep each frame's most confident
        best = values.assign(frame=numeric(frame[["frame"]])[0]["frame"]).sort_values("confidence", ascending=False)
        keep = best.drop_duplicates("frame").index.sort_values()
        values, text = values.loc[keep].reset_index(drop=True), text.loc[keep].reset_index(drop=True)
    if text.any().any():
        column = text.any().idxmax()
        raise TableError(f"column {column} holds text, not numbers (row {int(text[column].to_numpy().argmax()) + 1})")
    tracked = (values["success"] == 1) & (values["confidence"] >= min_confidence)
    tracked &= np.isfinite(values[required[2:]].to_numpy()).all(axis=1)
    if not tracked.any():
        raise TableError(f"no frame of {len(values)} tracked with success 1 and confidence >= {min_confidence}")
    points = values[OPENFACE_POINTS].to_numpy(copy=True).reshape(len(values), 2, face.N_POINTS).transpose(0, 2, 1)
    points[~tracked.to_numpy()] = np.nan
    units = values[action_units].to_numpy(copy=True)
    units[~tracked.to_numpy()] = np.nan
    return points, units


@dataclass(frozen=True)
class OpenFaceSettings:
    action_units: tuple[str, ...]
    min_confidence: float
    functionals: tuple[str, ...]


def openface_features(address: str, settings: OpenFaceSettings) -> np.ndarray:
    """One clip's vector from its OpenFace per-frame CSV (what the batch runner calls per clip)."""
    points, units = openface_frames(read_frame(Path(address)), list(settings.action_units), settings.min_confidence)
    own = face.clip_features(points, face.FaceSettings(functionals=settings.functionals))
    return np.concatenate([own, pool(units[~np.isnan(units).any(axis=1)], settings.functionals)])


def openface_rows(source: ExternalSource) -> Rows:
    """One row per per-frame CSV under `source.path` (the clip is the file name); a file that
    cannot be used (unreadable, missing columns, no tracked frame) is a reject."""
    files = source_files(source.path, (".csv",))
    if not files:
        return Rows([], [], np.empty((0, 0)), [], [])
    action_units = _action_units(files)
    settings = OpenFaceSettings(tuple(action_units), source.min_confidence, source.functionals)
    names = openface_names(action_units, source.functionals)
    X, failures = extract(openface_features, [str(f) for f in files], settings, len(names),
                          f"{source.name} per-frame CSVs")
    good = [i for i in range(len(files)) if i not in failures]
    return Rows([files[i].stem for i in good], [str(files[i]) for i in good], X[good], names,
                [rejected.reject(str(files[i]), reason) for i, reason in failures.items()])


def _action_units(files: list[Path]) -> list[str]:
    """The action-unit columns of the first readable file: every clip is pooled over the same ones."""
    for path in files:
        try:
            header = pd.read_csv(path, nrows=0, skipinitialspace=True).columns
        except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, UnicodeDecodeError):
            continue
        return sorted(c.strip() for c in header if ACTION_UNIT.match(c.strip()))
    return []


def read_rows(source: ExternalSource) -> Rows:
    """The source's clip rows, whatever its format."""
    return table_rows(source) if source.format == "table" else openface_rows(source)


def lookup(rows: Rows, corpus: str, columns: list[str]) -> dict[str, np.ndarray]:
    """`clip_key` -> the row's values in `columns` order (the first row of a clip wins); a source
    lacking any of `columns` cannot feed the models trained on them."""
    missing = [c for c in columns if c not in rows.names]
    if missing and rows.clips:
        raise TableError(f"the measured features lack {len(missing)} columns the models were trained on "
                         f"({_listed(missing)})")
    order = [rows.names.index(c) for c in columns]
    found: dict[str, np.ndarray] = {}
    for clip, values in zip(rows.clips, rows.X):
        found.setdefault(clip_key(corpus, clip), values[order])
    return found


def without_label_constant(features: pd.DataFrame, takes: pd.DataFrame, source: ExternalSource
                           ) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """`features` (`take` + columns, from `match_takes`) without the columns that hold one value per
    emotion of the manifest's `takes`, and a reject naming each (outcome "dropped")."""
    labels = features["take"].map(takes.loc[takes["corpus"] == source.corpus].set_index("take")["label"])
    leaking = label_constant(features.drop(columns="take"), labels)
    return features.drop(columns=leaking), [
        rejected.reject(source.path, f"column {c!r} holds one value per emotion: it encodes the label, not a "
                                     "measurement: left out", "dropped") for c in leaking]


def match_takes(rows: Rows, corpus: str, known: set[str]) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Rows joined to takes: (`take` + feature columns, rejects). A clip is a `corpus` file name or
    a take id of `known`; one that is neither, whose take is not among `known`, or whose take an
    earlier row already gave, is refused."""
    rejects, takes, keep = [], [], []
    first: dict[str, str] = {}
    for i, (clip, where) in enumerate(zip(rows.clips, rows.where)):
        try:
            take = clip if clip in known else take_of(corpus, clip)  # a take id names its take too
        except CorpusNameError as error:
            rejects.append(rejected.reject(where, f"clip {clip!r}: {error}"))
            continue
        if take not in known:
            rejects.append(rejected.reject(where, f"clip {clip!r}: take {take} is not in the manifest (not selected "
                                                  "by ingest, held out, or no file of it was found)", "dropped"))
        elif take in first:
            rejects.append(rejected.reject(where, f"clip {clip!r}: duplicate of take {take} (kept {first[take]})",
                                           "dropped"))
        else:
            first[take] = where
            takes.append(take)
            keep.append(i)
    table = pd.concat([pd.DataFrame({"take": takes}), pd.DataFrame(rows.X[keep], columns=rows.names)], axis=1)
    return table, rejects

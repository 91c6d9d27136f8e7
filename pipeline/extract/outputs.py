"""What every feature stage writes: the table (with a record of the settings that made it), its
rejects (with the face stage's notes on clips with few faces) and its training copies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline import io, paths
from pipeline.extract.batch import extract
from pipeline.ingest import rejected


def extract_and_write(
    modality: str, takes: pd.DataFrame, path_column: str, features_of: Callable[[str, Any], np.ndarray],
    settings: Any, names: list[str], notes: Callable[[pd.DataFrame], list[dict[str, str]]] | None = None,
    speeds: tuple[float, ...] = (), made_with: Any = None,
) -> pd.DataFrame:
    """features/<modality>.parquet (one row per take that has a `path_column` and did not fail;
    `made_with` the settings it records, `settings` themselves unless they carry more),
    features/<modality>_rejects.parquet (failures, plus any `notes` on the kept rows) and
    features/<modality>_copies.parquet (with `speeds`, `features_of` gives a clip's row and then
    one per speed-perturbed copy: those are this table's rows, one per take and speed)."""
    takes = takes[takes[path_column].notna()].reset_index(drop=True)
    addresses = takes[path_column].tolist()
    shape = (1 + len(speeds), len(names)) if speeds else len(names)
    found, failures = extract(features_of, addresses, settings, shape, f"{modality} features", cached=True)
    ok = np.ones(len(takes), dtype=bool)
    ok[list(failures)] = False
    kept = takes.loc[ok, ["take"]].reset_index(drop=True)
    features = pd.concat([kept, pd.DataFrame(found[ok, 0] if speeds else found[ok], columns=names)], axis=1)
    rows = [rejected.reject(addresses[i], reason) for i, reason in failures.items()]
    rows += notes(features.assign(path=takes.loc[ok, path_column].to_numpy())) if notes else []
    copies = []
    for i, speed in enumerate(speeds):
        values = found[ok, 1 + i]
        failed = np.isnan(values).all(axis=1)  # a copy the extractor could not measure
        rows += [rejected.reject(path, f"its copy at speed {speed} could not be measured: no training copy at that "
                                 "speed", "kept") for path in takes.loc[ok, path_column][failed]]
        copies.append(pd.concat([kept[~failed].reset_index(drop=True).assign(speed=speed),
                                 pd.DataFrame(values[~failed], columns=names)], axis=1))
    rejects = rejected.table(rows)
    rejected.printed(rejects)
    write_table(features, modality, made_with or settings)
    io.write_parquet(rejects, paths.feature_rejects(modality))
    write_copies(modality, copies, names)
    print(f"{modality}_features: {len(features)} takes x {len(names)} features, {len(failures)} rejected"
          + (f", {len(speeds)} speed-perturbed copies of each" if speeds else ""))
    return features


RECORD = "extraction"  # the key of the settings' record in a feature table's metadata


def record(settings: Any) -> dict[str, Any]:
    """What a feature table keeps of the settings dataclass that made it (plain JSON; rebuilt by
    `extractors.rebuild`)."""
    return {"settings_type": type(settings).__name__, "settings": dataclasses.asdict(settings)}


def face_notes(features: pd.DataFrame, warn_below: float) -> list[dict[str, str]]:
    """A `kept` reject row for each clip with no face, or a face in under `warn_below` of its frames."""
    return [
        rejected.reject(
            row.path,
            "no face detected in any sampled frame: features missing" if row.face_fraction == 0
            else f"face found in only {row.face_fraction:.0%} of {int(row.frames_sampled)} sampled frames",
            outcome="kept",
        )
        for row in features[["path", "face_fraction", "frames_sampled"]].itertuples()
        if row.face_fraction < warn_below
    ]


def write_table(features: pd.DataFrame, modality: str, settings: Any) -> None:
    """features/<modality>.parquet, with the `record` of `settings` in its metadata (pandas keeps a
    frame's `attrs` there): the train stage copies the metadata into every model, so `predict`
    and `evaluate` extract what the model was trained on."""
    features.attrs[RECORD] = record(settings)
    io.write_parquet(features, paths.features(modality))


def write_copies(modality: str, copies: list[pd.DataFrame], names: list[str]) -> None:
    """features/<modality>_copies.parquet: take, speed, the features (no rows: no copies). Every
    feature stage writes it, so every train stage can depend on its modality's."""
    empty = pd.DataFrame({"take": pd.Series(dtype=str), "speed": pd.Series(dtype=float),
                          **{name: pd.Series(dtype=float) for name in names}})
    io.write_parquet(pd.concat([empty, *copies], ignore_index=True), paths.feature_copies(modality))


def write_by_voice(rows: np.ndarray, index: pd.MultiIndex, columns: dict[str, list[str]],
                   path_of: Callable[[str], Any]) -> None:
    """Rows measured by several voices side by side (`degraded.measured_rows`; `columns`: each
    voice's feature names, in that order), split into one table per voice at `path_of(voice)`:
    the `index` levels, then its features."""
    start = 0
    for voice, names in columns.items():
        table = pd.DataFrame(rows[:, start: start + len(names)], index=index, columns=names).reset_index()
        io.write_parquet(table, path_of(voice))
        start += len(names)

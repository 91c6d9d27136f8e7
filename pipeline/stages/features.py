"""What the feature stages share: extract per clip in parallel, write the table and its rejects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline import io, paths
from pipeline.ingest import manifest
from pipeline.extract.batch import extract


def extract_and_write(
    modality: str, takes: pd.DataFrame, path_column: str, features_of: Callable[[str, Any], np.ndarray],
    settings: Any, names: list[str], notes: Callable[[pd.DataFrame], list[dict[str, str]]] | None = None,
) -> pd.DataFrame:
    """features/<modality>.parquet (one row per take that has a `path_column` and did not fail)
    and features/<modality>_rejects.parquet (failures, plus any `notes` on the kept rows)."""
    takes = takes[takes[path_column].notna()].reset_index(drop=True)
    addresses = takes[path_column].tolist()
    matrix, failures = extract(features_of, addresses, settings, len(names), f"{modality} features")
    ok = np.ones(len(takes), dtype=bool)
    ok[list(failures)] = False
    features = pd.concat(
        [takes.loc[ok, ["take"]].reset_index(drop=True), pd.DataFrame(matrix[ok], columns=names)], axis=1
    )
    rows = [manifest.reject(addresses[i], reason) for i, reason in failures.items()]
    rows += notes(features.assign(path=takes.loc[ok, path_column].to_numpy())) if notes else []
    rejects = manifest.reject_table(rows)
    manifest.print_rejects(rejects)
    io.write_parquet(features, paths.features(modality))
    io.write_parquet(rejects, paths.feature_rejects(modality))
    print(f"{modality}_features: {len(features)} takes x {len(names)} features, {len(failures)} rejected")
    return features

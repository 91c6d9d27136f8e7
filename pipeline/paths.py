"""Where each artifact lives, relative to the project root (the layout dvc.yaml declares)."""

from __future__ import annotations

from pathlib import Path

SOURCES = Path("data/sources.json")
MANIFEST = Path("data/manifest.parquet")
REJECTS = Path("data/rejects.parquet")


def features(modality: str) -> Path:
    return Path("features") / f"{modality}.parquet"


def feature_rejects(modality: str) -> Path:
    return Path("features") / f"{modality}_rejects.parquet"


def model_stem(modality: str, learner: str, normalisation: str) -> Path:
    """`models/<modality>/<learner>-<normalisation>`: add .joblib, .oof.parquet, .search.parquet, .json."""
    return Path("models") / modality / f"{learner}-{normalisation}"

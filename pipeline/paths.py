"""Where each artifact lives, relative to the project root (the layout dvc.yaml declares)."""

from __future__ import annotations

from pathlib import Path

SOURCES = Path("data/sources.json")
CONTENT_HASHES = Path("data/.content_hashes.json")  # fetch's cache of file hashes (not a DVC output)
MANIFEST = Path("data/manifest.parquet")
REJECTS = Path("data/rejects.parquet")


def features(modality: str) -> Path:
    return Path("features") / f"{modality}.parquet"


def feature_copies(modality: str) -> Path:
    """Perturbed copies of the takes (extra training rows): take, speed, the features."""
    return Path("features") / f"{modality}_copies.parquet"


CONDITIONS = Path("features/conditions")  # the conditions stage's folder


def condition_features(modality: str) -> Path:
    """A voice modality's features of sampled takes under each recording condition: take, condition, the features."""
    return CONDITIONS / f"{modality}.parquet"


AUGMENTED = Path("features/augmented")  # the augment stage's folder


def augmented_features(modality: str) -> Path:
    """A voice modality's features of every take's augmented copies: take, copy, the features."""
    return AUGMENTED / f"{modality}.parquet"


def feature_rejects(modality: str) -> Path:
    return Path("features") / f"{modality}_rejects.parquet"


def model_stem(modality: str, learner: str, normalisation: str) -> Path:
    """`models/learners/<modality>/<learner>-<normalisation>`: add .joblib, .oof.parquet, .conditions.parquet,
    .inner.parquet, .search.parquet, .json."""
    return Path("models/learners") / modality / f"{learner}-{normalisation}"


def variant_stem(variant: str) -> Path:
    """`models/variants/<variant>`: one learner retrained on a subset of the takes (same files as a learner)."""
    return Path("models/variants") / variant


def run_log(output: str | Path) -> Path:
    """`logs/<output>.json`: wall and fit times of the stage that wrote `output`. Kept out of every
    hashed or committed output (git ignores logs/), so a rerun on an unchanged checkout changes no
    committed file; `avemotion info` shows them."""
    return Path("logs") / f"{output}.json"


FUSION = Path("models/fusion")
FINGERPRINTS = Path("models/fingerprints.parquet")  # each voiced take's audio fingerprint (`extract.fingerprint`)
LEARNING_CURVE = Path("models/learning_curve.csv")
RUN = Path("models/run.json")  # what the run trained, fused and deploys: all the commands read of params (`learn.run`)
FUSED_RUN = FUSION / "run.json"  # the same, before a rule is deployed: what the cross_corpus stages score


def cross_corpus_record(key: str) -> Path:
    """`models/cross_corpus/<key>.json`: the cross_corpus stage's record for `cross_corpus.<key>`."""
    return Path("models/cross_corpus") / f"{key}.json"


def novelty_stem(modality: str) -> Path:
    """`models/novelty/<modality>`: .joblib (`learn.novelty.Model`), .oof.parquet (held-out scores), .json
    (its threshold and the share flagged)."""
    return Path("models/novelty") / modality


def fusion_stem(group: str) -> Path:
    """`models/fusion/<group>`: add .json, .oof.parquet, .joblib."""
    return FUSION / group

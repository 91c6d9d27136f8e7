"""One learner's training table, ready for `evaluation`: manifest rows joined with a modality's
features, outer folds, (normalised) matrix, labels, speakers and training copies; the takes a
comparison variant keeps (`compare` params, `CompareSettings`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import checks, paths
from pipeline.ingest.corpora import label_order
from pipeline.learn import evaluation, search
from pipeline.learn.normalisation import NORMALISATIONS, normalise
from pipeline.checks import SettingError


def load_table(modality: str, outer_folds: int, seed: int) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """Manifest rows joined with their features (takes whose features failed drop out), with
    each take's outer fold (dealt over the whole manifest, so every modality shares it); the
    feature columns; the feature table's metadata (the record of the settings that made it)."""
    takes = pd.read_parquet(paths.MANIFEST)
    takes["fold"] = takes["speaker"].map(evaluation.speaker_folds(takes, outer_folds, seed))
    features = pd.read_parquet(paths.features(modality))
    names = [c for c in features.columns if c != "take"]
    return takes.merge(features, on="take", how="inner"), names, dict(features.attrs)


SUBSET_COLUMNS = {"channels": "channel", "emotions": "label", "intensities": "intensity"}


@dataclass(frozen=True)
class CompareSettings:
    """The `compare` block: one learner trained again on each variant's takes."""

    modality: str
    learner: str
    normalisation: str
    variants: dict[str, dict[str, list[str]]]

    def __post_init__(self) -> None:
        checks.check("compare", self, [
            ("normalisation", f"one of {', '.join(NORMALISATIONS)}", lambda c: c.normalisation in NORMALISATIONS),
            ("variants", "a mapping of names to selections ({channels: [speech]}, ...)",
             lambda c: isinstance(c.variants, dict) and all(isinstance(v, dict) for v in c.variants.values())),
        ])

    @classmethod
    def from_params(cls, params: dict) -> CompareSettings:
        return checks.from_block("compare", cls, {**params["compare"], "variants": params["compare"].get("variants") or {}})

    @property
    def run(self) -> tuple[str, str, str]:
        return self.modality, self.learner, self.normalisation


def subset(table: pd.DataFrame, variant: dict[str, list[str]]) -> pd.DataFrame:
    """The takes a comparison variant keeps, e.g. {channels: [speech]} or {emotions: [...]}."""
    unknown = set(variant) - set(SUBSET_COLUMNS)
    if unknown:
        raise SettingError(f"a variant selects by {', '.join(SUBSET_COLUMNS)}; not by {', '.join(sorted(unknown))}")
    keep = np.ones(len(table), dtype=bool)
    for key, values in variant.items():
        keep &= table[SUBSET_COLUMNS[key]].isin(values).to_numpy()
    if not keep.any():
        raise SettingError(f"the variant {variant} keeps no take")
    return table[keep].reset_index(drop=True)


@dataclass
class Inputs:
    """One learner's training table, ready for `evaluation`: what train and learning_curve share."""

    settings: evaluation.TrainSettings
    spec: search.SearchSpec
    table: pd.DataFrame  # manifest rows joined with their features, with `fold`
    feature_names: list[str]
    table_metadata: dict[str, Any]  # the feature table's: the record of its settings, for the model
    classes: list[str]
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    fold: np.ndarray
    copies: evaluation.Copies  # perturbed copies of the takes: extra training rows (often none)
    probes: evaluation.Probes  # sampled takes heard under other recording conditions: scored, never trained on
    probe_rows: pd.DataFrame  # the probes' take, condition, speaker, label and fold


def inputs(params: dict, modality: str, learner: str, normalisation: str, variant: str | None = None,
           heard: bool = False) -> Inputs:
    """The checked settings and search spec, the (normalised) feature matrix, labels, speakers and
    outer folds of one learner (of a comparison variant's takes, with `variant`); with `heard`, its
    takes heard under other recording conditions as probes."""
    settings = checks.from_block("train", evaluation.TrainSettings, params["train"])
    spec = search.SearchSpec.from_params(learner, params)
    table, feature_names, metadata = load_table(modality, settings.outer_folds, settings.seed)
    if variant is not None:
        table = subset(table, CompareSettings.from_params(params).variants[variant])
    speakers = table["speaker"].nunique()
    if speakers < settings.outer_folds:
        raise SystemExit(f"train.outer_folds: {settings.outer_folds} folds need as many speakers; the {modality} "
                         f"takes{f' of variant {variant}' if variant else ''} have {speakers}")
    classes = label_order(set(table["label"]))
    groups = table["speaker"].to_numpy()
    X = normalise(normalisation, table[feature_names].to_numpy(dtype=np.float64), groups)
    y = table["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    copies = copies_of(table, modality, feature_names, normalisation,
                       normalisation in settings.augmented)
    probe_rows, probes = probes_of(table, modality, feature_names, normalisation, heard)
    return Inputs(settings, spec, table, feature_names, metadata, classes, X, y, groups, table["fold"].to_numpy(),
                  copies, probes, probe_rows)


def copies_of(table: pd.DataFrame, modality: str, feature_names: list[str], normalisation: str,
              augmented: bool = False) -> evaluation.Copies:
    """The copies of the table's takes: speed-perturbed (features/<modality>_copies.parquet) and, with
    `augmented`, heard off the studio (features/augmented/<modality>.parquet); none without the files.
    Speaker normalisation treats a speaker's copies at one speed, or of one draw, as a speaker of
    their own (a different voice, or channel)."""
    found = []
    if paths.feature_copies(modality).exists():
        speed = pd.read_parquet(paths.feature_copies(modality))
        found.append(speed.assign(voice="@" + speed.pop("speed").astype(str)))
    if augmented and paths.augmented_features(modality).exists():
        drawn = pd.read_parquet(paths.augmented_features(modality))
        drawn = drawn[drawn[feature_names].notna().any(axis=1)]  # a copy left with nothing to measure trains nothing
        found.append(drawn.assign(voice="@copy" + drawn.pop("copy").astype(str)))
    if not found:
        return evaluation.Copies(np.empty((0, len(feature_names))), np.empty(0, dtype=int))
    copies = pd.concat(found, ignore_index=True).merge(table[["take", "speaker"]].reset_index(names="row"), on="take")
    voices = (copies["speaker"] + copies["voice"]).to_numpy()
    X = normalise(normalisation, copies[feature_names].to_numpy(dtype=np.float64), voices)
    return evaluation.Copies(X, copies["row"].to_numpy(), int(copies["voice"].str.startswith("@copy").sum()))


def probes_of(table: pd.DataFrame, modality: str, feature_names: list[str], normalisation: str, heard: bool = True,
              ) -> tuple[pd.DataFrame, evaluation.Probes]:
    """The table's takes heard under each recording condition (features/conditions/<modality>.parquet;
    none without it or `heard`): their rows and features. Speaker normalisation standardises a
    speaker's takes under one condition with their own statistics (a speaker heard through one channel)."""
    path = paths.condition_features(modality)
    if not (heard and path.exists()):
        return pd.DataFrame(columns=["take", "condition", "speaker", "label", "fold"]), evaluation.Probes(
            np.empty((0, len(feature_names))), np.empty(0, dtype=int))
    heard = pd.read_parquet(path).merge(table[["take", "speaker", "label", "fold"]], on="take")
    voices = (heard["speaker"] + "@" + heard["condition"]).to_numpy()
    X = normalise(normalisation, heard[feature_names].to_numpy(dtype=np.float64), voices)
    return heard[["take", "condition", "speaker", "label", "fold"]], evaluation.Probes(X, heard["fold"].to_numpy())


def training_content(table: pd.DataFrame) -> list[str]:
    """The content hashes (decoded audio, video file) of every take trained on: `evaluate` refuses a
    take with one of them under another name without reading the training corpus again."""
    return sorted({h for c in ("audio_hash", "video_hash") if c in table for h in table[c].dropna()})

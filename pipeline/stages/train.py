"""Stages `train@<modality>-<learner>-<normalisation>` and `compare@<variant>`: nested
speaker-grouped evaluation, then the final refit.

Usage: python -m pipeline.stages.train MODALITY LEARNER NORMALISATION [--variant NAME]
Reads data/manifest.parquet and features/<modality>.parquet; with --variant, keeps only the
takes that `compare.variants.NAME` selects (channels, emotions, intensities). Writes, beside
the stem models/learners/<modality>/<learner>-<normalisation> (`paths.model_stem`) or
models/variants/<NAME>: .joblib (model refit on all takes, with each feature's training range),
.oof.parquet (out-of-fold class probabilities of every take), .inner.parquet (inner
out-of-fold probabilities of each outer training part, for fusion), .search.parquet (every
candidate of every search), .json (figures, chosen hyperparameters); the times go to
logs/<stem>.json (`paths.run_log`), which git ignores.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import checks, compute, io, paths, progress
from pipeline.learn import evaluation, learners, metrics, search
from pipeline.learn.normalisation import NORMALISATIONS, normalise
from pipeline.ingest.corpora import label_order


def load_table(modality: str, outer_folds: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Manifest rows joined with their features (takes whose features failed drop out), with
    each take's outer fold (dealt over the whole manifest, so every modality shares it)."""
    takes = pd.read_parquet(paths.MANIFEST)
    takes["fold"] = takes["speaker"].map(evaluation.speaker_folds(takes, outer_folds, seed))
    features = pd.read_parquet(paths.features(modality))
    return takes.merge(features, on="take", how="inner"), [c for c in features.columns if c != "take"]


SUBSET_COLUMNS = {"channels": "channel", "emotions": "label", "intensities": "intensity"}


def subset(table: pd.DataFrame, variant: dict[str, list[str]]) -> pd.DataFrame:
    """The takes a comparison variant keeps, e.g. {channels: [speech]} or {emotions: [...]}."""
    unknown = set(variant) - set(SUBSET_COLUMNS)
    if unknown:
        raise ValueError(f"a variant selects by {', '.join(SUBSET_COLUMNS)}; not by {', '.join(sorted(unknown))}")
    keep = np.ones(len(table), dtype=bool)
    for key, values in variant.items():
        keep &= table[SUBSET_COLUMNS[key]].isin(values).to_numpy()
    if not keep.any():
        raise ValueError(f"the variant {variant} keeps no take")
    return table[keep].reset_index(drop=True)


@dataclass
class Inputs:
    """One learner's training table, ready for `evaluation`: what train and learning_curve share."""

    settings: evaluation.TrainSettings
    spec: search.SearchSpec
    table: pd.DataFrame  # manifest rows joined with their features, with `fold`
    feature_names: list[str]
    classes: list[str]
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    fold: np.ndarray
    copies: evaluation.Copies  # perturbed copies of the takes: extra training rows (often none)


def inputs(params: dict, modality: str, learner: str, normalisation: str, variant: str | None = None) -> Inputs:
    """The checked settings and search spec, the (normalised) feature matrix, labels, speakers and
    outer folds of one learner (of a comparison variant's takes, with `variant`)."""
    settings = checks.from_block("train", evaluation.TrainSettings, params["train"])
    spec_params = params["learners"][learner]
    checks.only_known(f"learners.{learner}", spec_params, ["n_iter", "space", "grid", "fixed", "halving"])
    spec = search.SearchSpec(
        learner=learner, space=spec_params.get("space"), n_iter=spec_params.get("n_iter"),
        grid=spec_params.get("grid") or {}, fixed=spec_params.get("fixed") or {}, halving=spec_params.get("halving"),
    )
    table, feature_names = load_table(modality, settings.outer_folds, settings.seed)
    if variant is not None:
        checks.only_known("compare", params["compare"], ["modality", "learner", "normalisation", "variants"])
        table = subset(table, params["compare"]["variants"][variant])
    speakers = table["speaker"].nunique()
    if speakers < settings.outer_folds:
        raise SystemExit(f"train.outer_folds: {settings.outer_folds} folds need as many speakers; the {modality} "
                         f"takes{f' of variant {variant}' if variant else ''} have {speakers}")
    classes = label_order(set(table["label"]))
    groups = table["speaker"].to_numpy()
    X = normalise(normalisation, table[feature_names].to_numpy(dtype=np.float64), groups)
    y = table["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    copies = copies_of(table, modality, feature_names, normalisation)
    return Inputs(settings, spec, table, feature_names, classes, X, y, groups, table["fold"].to_numpy(), copies)


def copies_of(table: pd.DataFrame, modality: str, feature_names: list[str], normalisation: str) -> evaluation.Copies:
    """The copies (features/<modality>_copies.parquet; none without the file) of the table's takes.
    Speaker normalisation treats a speaker's copies at one speed as a speaker of their own (a
    different voice)."""
    if not paths.feature_copies(modality).exists():
        return evaluation.Copies(np.empty((0, len(feature_names))), np.empty(0, dtype=int))
    copies = pd.read_parquet(paths.feature_copies(modality)).merge(
        table[["take", "speaker"]].reset_index(names="row"), on="take")
    voices = (copies["speaker"] + "@" + copies["speed"].astype(str)).to_numpy()
    X = normalise(normalisation, copies[feature_names].to_numpy(dtype=np.float64), voices)
    return evaluation.Copies(X, copies["row"].to_numpy())


def training_content(table: pd.DataFrame) -> list[str]:
    """The content hashes (decoded audio, video file) of every take trained on: `evaluate` refuses a
    take with one of them under another name without reading the training corpus again."""
    return sorted({h for c in ("audio_hash", "video_hash") if c in table for h in table[c].dropna()})


def main(modality: str, learner: str, normalisation: str, variant: str | None) -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    data = inputs(params, modality, learner, normalisation, variant)
    settings, table, classes, groups, y, fold = data.settings, data.table, data.classes, data.groups, data.y, data.fold
    stem = paths.model_stem(modality, learner, normalisation) if variant is None else paths.variant_stem(variant)
    started = time.perf_counter()
    with compute.engine(where), progress.bar(desc=f"train {stem}", unit="fit", total=0) as bar:
        trained = evaluation.train(
            data.spec, data.X, y, groups, fold, len(classes), inner_k=settings.inner_folds, scoring=settings.scoring,
            seed=settings.seed, permutation_check=settings.permutation_check, progress=bar, copies=data.copies,
        )
    seconds = time.perf_counter() - started

    figures = metrics.figures(y, trained.probabilities, classes, groups, fold)
    columns = [f"p_{c}" for c in classes]
    oof = table[["take", "corpus", "speaker", "label", "channel", "intensity", "fold"]]
    oof = pd.concat([oof, pd.DataFrame(trained.probabilities, columns=columns)], axis=1)
    oof["predicted"] = [classes[i] for i in trained.probabilities.argmax(axis=1)]
    inner = pd.DataFrame({"take": table["take"].to_numpy()[trained.inner_take], "fold": trained.inner_fold})
    inner = pd.concat([inner, pd.DataFrame(trained.inner_probabilities, columns=columns)], axis=1)
    io.write_joblib(
        {"model": trained.model, "classes": classes, "features": data.feature_names, "modality": modality,
         "learner": learner, "normalisation": normalisation, "best_params": trained.final_params,
         "feature_range": pd.DataFrame(data.X).agg(["min", "max"]).to_numpy(),  # to flag clips unlike any take
         "content": training_content(table)},
        f"{stem}.joblib",
    )
    io.write_parquet(oof, f"{stem}.oof.parquet")
    io.write_parquet(inner, f"{stem}.inner.parquet")
    io.write_parquet(trained.search_log.drop(columns="mean_fit_s"), f"{stem}.search.parquet")
    io.write_json(
        {**figures, "learner": learner, "modality": modality, "normalisation": normalisation, "variant": variant,
         "folds": [{k: v for k, v in f.items() if k != "fit_seconds"} for f in trained.folds],
         "training_copies": len(data.copies.of),
         "final_params": {k: evaluation.to_plain(v) for k, v in trained.final_params.items()}},
        f"{stem}.json",
    )
    io.write_json({"seconds": seconds, "fold_fit_seconds": [f["fit_seconds"] for f in trained.folds],
                   "search_mean_fit_s": trained.search_log["mean_fit_s"].tolist()}, paths.run_log(stem))
    print(f"{stem}: accuracy {figures['accuracy']:.3f}, UAR {figures['uar']:.3f} "
          f"(outer folds, {len(np.unique(groups))} speakers), {seconds:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Nested speaker-grouped training of one learner.")
    parser.add_argument("modality")
    parser.add_argument("learner", choices=learners.LEARNERS)
    parser.add_argument("normalisation", choices=list(NORMALISATIONS))
    parser.add_argument("--variant", help="a key of compare.variants: train on the takes it selects")
    args = parser.parse_args()
    main(args.modality, args.learner, args.normalisation, args.variant)

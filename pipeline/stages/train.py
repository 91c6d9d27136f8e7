"""Stages `train@<modality>-<learner>-<normalisation>` and `compare@<variant>`: nested
speaker-grouped evaluation, then the final refit.

Usage: python -m pipeline.stages.train [MODALITY LEARNER NORMALISATION] | --variant [NAME]
(under `dvc repro` the names are the stage's item: dvc.yaml puts no params name into a command)
Reads data/manifest.parquet and features/<modality>.parquet; with --variant, keeps only the
takes that `compare.variants.NAME` selects (channels, emotions, intensities). Writes, beside
the stem models/learners/<modality>/<learner>-<normalisation> (`paths.model_stem`) or
models/variants/<NAME>: .joblib (model refit on all takes, with the feature table's metadata: the settings
its features were made with, which predict and evaluate extract with),
.oof.parquet (out-of-fold class probabilities of every take), .conditions.parquet (those of the
sampled takes under each recording condition, features/conditions/, by the same fold models), .inner.parquet (inner
out-of-fold probabilities of each outer training part, for fusion), .search.parquet (every
candidate of every search), .json (figures, chosen hyperparameters); the times go to
logs/<stem>.json (`paths.run_log`), which git ignores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from pipeline import compute, entry, io, paths, progress
from pipeline.learn import dataset, evaluation, learners, metrics, records
from pipeline.learn.normalisation import NORMALISATIONS


def main(modality: str, learner: str, normalisation: str, variant: str | None) -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    data = dataset.inputs(params, modality, learner, normalisation, variant, heard=variant is None)
    settings, table, classes, groups, y, fold = data.settings, data.table, data.classes, data.groups, data.y, data.fold
    stem = paths.model_stem(modality, learner, normalisation) if variant is None else paths.variant_stem(variant)
    started = time.perf_counter()
    with compute.engine(where), progress.bar(desc=f"train {stem}", unit="fit", total=0) as bar:
        trained = evaluation.train(
            data.spec, data.X, y, groups, fold, len(classes), inner_k=settings.inner_folds, scoring=settings.scoring,
            seed=settings.seed, permutation_check=settings.permutation_check, progress=bar, copies=data.copies,
            probes=data.probes,
        )
    seconds = time.perf_counter() - started

    figures = metrics.figures(y, trained.probabilities, classes, groups, fold)
    columns = [f"p_{c}" for c in classes]
    oof = table[["take", "corpus", "speaker", "label", "channel", "intensity", "fold"]]
    oof = pd.concat([oof, pd.DataFrame(trained.probabilities, columns=columns)], axis=1)
    oof["predicted"] = [classes[i] for i in trained.probabilities.argmax(axis=1)]
    inner = pd.DataFrame({"take": table["take"].to_numpy()[trained.inner_take], "fold": trained.inner_fold})
    inner = pd.concat([inner, pd.DataFrame(trained.inner_probabilities, columns=columns)], axis=1)
    io.write_joblib(records.LearnerFile(
        trained.model, classes, data.feature_names, modality, learner, normalisation, trained.final_params,
        dataset.training_content(table), data.table_metadata).saved(), f"{stem}.joblib")
    io.write_parquet(oof, f"{stem}.oof.parquet")
    if variant is None:
        heard = pd.concat([data.probe_rows.reset_index(drop=True),
                           pd.DataFrame(trained.probe_probabilities, columns=columns)], axis=1)
        io.write_parquet(heard, f"{stem}.conditions.parquet")
    io.write_parquet(inner, f"{stem}.inner.parquet")
    io.write_parquet(trained.search_log.drop(columns="mean_fit_s"), f"{stem}.search.parquet")
    io.write_json(
        {**figures, "learner": learner, "modality": modality, "normalisation": normalisation, "variant": variant,
         "folds": [{k: v for k, v in f.items() if k != "fit_seconds"} for f in trained.folds],
         "training_copies": len(data.copies.of), "augmented_copies": data.copies.augmented,
         "final_params": {k: evaluation.to_plain(v) for k, v in trained.final_params.items()}},
        f"{stem}.json",
    )
    io.write_json({"seconds": seconds, "fold_fit_seconds": [f["fit_seconds"] for f in trained.folds],
                   "search_mean_fit_s": trained.search_log["mean_fit_s"].tolist(), "fit_cache": trained.fit_cache},
                  paths.run_log(stem))
    cached = trained.fit_cache
    print(f"{stem}: accuracy {figures['accuracy']:.3f}, UAR {figures['uar']:.3f} "
          f"(outer folds, {len(np.unique(groups))} speakers), {seconds:.0f} s; "
          f"{cached['hits']} of {cached['hits'] + cached['fits']} search fits from the fit cache")


def start(names: list[str], variant: str | None) -> None:
    """Train the learner `names` (or the DVC stage's item) or, with `variant`, the compare block's
    learner on that variant's takes."""
    if variant is None:
        modality, learner, normalisation = entry.item(names, 3)
    else:
        (variant,) = entry.item([variant] if variant else [], 1)
        compare = io.load_params()["compare"]
        modality, learner, normalisation = (compare[k] for k in ("modality", "learner", "normalisation"))
    if learner not in learners.LEARNERS or normalisation not in NORMALISATIONS:
        raise entry.SettingError(f"learner {learner!r} / normalisation {normalisation!r}: known learners "
                                 f"{', '.join(learners.LEARNERS)}; normalisations {', '.join(NORMALISATIONS)}")
    main(modality, learner, normalisation, variant)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Nested speaker-grouped training of one learner.")
    parser.add_argument("names", nargs="*", metavar="MODALITY LEARNER NORMALISATION",
                        help="what to train (default: the item of the DVC stage train@<modality>-<learner>-<normalisation>)")
    parser.add_argument("--variant", nargs="?", const="",
                        help="a key of compare.variants (alone: the DVC stage compare@<variant>'s): the compare "
                             "block's learner on the takes it selects")
    args = parser.parse_args()
    entry.run(start, args.names, args.variant)

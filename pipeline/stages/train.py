"""Stage `train@<modality>-<learner>-<normalisation>`: nested speaker-grouped evaluation, then the final refit.

Usage: python -m pipeline.stages.train MODALITY LEARNER NORMALISATION
Reads data/manifest.parquet and features/<modality>.parquet; writes, beside the stem
models/<modality>/<learner>-<normalisation> (`paths.model_stem`): .joblib (model refit on all
takes), .oof.parquet (out-of-fold class probabilities of every take), .search.parquet (every
candidate of every search), .json (figures, chosen hyperparameters, timing).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline import evaluation, io, paths
from pipeline.normalisation import NORMALISATIONS, normalise
from pipeline.corpora import label_order


def load_table(modality: str) -> tuple[pd.DataFrame, list[str]]:
    """Manifest rows joined with their features (takes whose features failed drop out)."""
    takes = pd.read_parquet(paths.MANIFEST)
    features = pd.read_parquet(paths.features(modality))
    return takes.merge(features, on="take", how="inner"), [c for c in features.columns if c != "take"]


def main(modality: str, learner: str, normalisation: str) -> None:
    params = io.load_params()
    train, spec_params = params["train"], params["learners"][learner]
    table, feature_names = load_table(modality)
    classes = label_order(set(table["label"]))
    groups = table["speaker"].to_numpy()
    X = normalise(normalisation, table[feature_names].to_numpy(dtype=np.float64), groups)
    y = table["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    spec = evaluation.SearchSpec(
        learner=learner, space=spec_params["space"], n_iter=spec_params["n_iter"],
        grid=spec_params["grid"], fixed=spec_params.get("fixed") or {},
    )
    common = dict(inner_k=train["inner_folds"], scoring=train["scoring"], seed=train["seed"], n_jobs=train["n_jobs"])
    started = time.perf_counter()
    stem = paths.model_stem(modality, learner, normalisation)
    with tqdm(total=train["outer_folds"] + 1, desc=f"train {stem}", unit="fold") as bar:
        cv = evaluation.cross_validate(
            spec, X, y, groups, len(classes), outer_k=train["outer_folds"],
            permutation_check=train["permutation_check"], progress=bar, **common,
        )
        final_search = evaluation.nested_search(spec, X, y, groups, **common)
        model = evaluation.fit_best(spec, final_search.best_params, X, y, train["seed"])
        bar.update(1)
    seconds = time.perf_counter() - started

    figures = evaluation.metrics(y, cv.probabilities, classes, groups, cv.fold)
    oof = table[["take", "corpus", "speaker", "label", "channel", "intensity"]].assign(fold=cv.fold)
    oof = pd.concat([oof, pd.DataFrame(cv.probabilities, columns=[f"p_{c}" for c in classes])], axis=1)
    oof["predicted"] = [classes[i] for i in cv.probabilities.argmax(axis=1)]
    io.write_joblib(
        {"model": model, "classes": classes, "features": feature_names, "modality": modality,
         "learner": learner, "normalisation": normalisation, "best_params": final_search.best_params},
        f"{stem}.joblib",
    )
    io.write_parquet(oof, f"{stem}.oof.parquet")
    io.write_parquet(
        pd.concat([cv.search_log, final_search.log.assign(fold="final")], ignore_index=True).astype({"fold": str}),
        f"{stem}.search.parquet",
    )
    io.write_json(
        {**figures, "learner": learner, "modality": modality, "normalisation": normalisation,
         "folds": cv.folds, "seconds": seconds,
         "final_params": {k: evaluation.to_plain(v) for k, v in final_search.best_params.items()}},
        f"{stem}.json",
    )
    print(f"{stem}: accuracy {figures['accuracy']:.3f}, UAR {figures['uar']:.3f} "
          f"(outer folds, {len(np.unique(groups))} speakers), {seconds:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Nested speaker-grouped training of one learner.")
    parser.add_argument("modality")
    parser.add_argument("learner", choices=["svm", "rf", "xgb"])
    parser.add_argument("normalisation", choices=list(NORMALISATIONS))
    args = parser.parse_args()
    main(args.modality, args.learner, args.normalisation)

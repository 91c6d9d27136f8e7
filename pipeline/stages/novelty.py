"""Stages `novelty@<modality>`: how unlike the training takes a clip may be before `predict` flags it.

Usage: python -m pipeline.stages.novelty [MODALITY]
(under `dvc repro` the modality is the stage's item). Reads data/manifest.parquet and
features/<modality>.parquet (and its perturbed copies, fitted on, never scored; and its takes under
other recording conditions, features/conditions/, scored by their fold's model). Writes
models/novelty/<modality>.joblib (`learn.novelty.Model`, fitted on every take, with the threshold
calibrated on held-out speakers' takes), .oof.parquet (each take's score by the model of the other
folds' speakers), .conditions.parquet (the heard takes' scores, alike) and .json (the threshold, the share of each outer fold's takes it flags with the
other folds' threshold).
"""

from __future__ import annotations

import argparse

import pandas as pd

from pipeline import checks, entry, io, paths
from pipeline.learn import dataset, evaluation, novelty, records


def main(modality: str) -> None:
    params = io.load_params()
    settings = novelty.Settings.from_params(params)
    train = checks.from_block("train", evaluation.TrainSettings, params["train"])
    table, names, _ = dataset.load_table(modality, train.outer_folds, train.seed)
    copies = dataset.copies_of(table, modality, names, "none", "none" in train.augmented)
    heard_rows, heard = dataset.probes_of(table, modality, names, "none")
    fold = table["fold"].to_numpy()
    model, scores, heard_scores, record = novelty.calibrated(
        novelty.Rows(table[names].to_numpy(dtype=float), fold), settings, novelty.Rows(copies.X, fold[copies.of]),
        novelty.Rows(heard.X, heard.fold))
    stem = paths.novelty_stem(modality)
    io.write_joblib(records.NoveltyFile(model, modality, names).saved(), f"{stem}.joblib")
    io.write_parquet(pd.DataFrame({"take": table["take"], "score": scores}), f"{stem}.oof.parquet")
    io.write_parquet(heard_rows[["take", "condition"]].assign(score=heard_scores), f"{stem}.conditions.parquet")
    io.write_json({"modality": modality, **record}, f"{stem}.json")
    print(f"novelty {modality}: {record['held_out_flagged']:.1%} of held-out speakers' takes flagged "
          f"(target {settings.flag_rate:.0%}), threshold {record['threshold']:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Calibrate the novelty flag of one modality.")
    parser.add_argument("modality", nargs="?", help="default: the item of the DVC stage novelty@<modality>")
    args = parser.parse_args()
    entry.run(lambda: main(*entry.item([args.modality] if args.modality else [], 1)))

"""Stages `importance@<modality>-<learner>` and `importance_wide@…`: permutation importance of one
learner on the outer folds.

Usage: python -m pipeline.stages.importance [MODALITY LEARNER]   (under `dvc repro`, the stage's item)
The learner is refit on every outer training part with the point that fold's nested search chose
(read from its train record, plain features, as deployed; the very models `train` refit, served
by the fit cache), and each feature family (`extract.families`) is shuffled across the fold's test
speakers' takes, `importance.repeats` times (`learn.importance`). Writes
models/importance/<modality>/<learner>.csv: per fold and family, the fall in accuracy and in each
emotion's recall. One stage per learner: an edit of one learner's block measures that learner again,
no other.
"""

from __future__ import annotations

import sys

from pipeline import compute, entry, io, paths, progress
from pipeline.extract import extractors, families
from pipeline.learn import dataset, importance


def main(modality: str, learner: str) -> None:
    params = io.load_params()
    settings = importance.ImportanceSettings.from_params(params)
    data = dataset.inputs(params, modality, learner, "none")
    family = families.FAMILY_OF[extractors.recorded_way(data.table_metadata)]
    record = io.read_json(f"{paths.model_stem(modality, learner, 'none')}.json")
    chosen = {f["fold"]: f["best_params"] for f in record["folds"]}
    with compute.engine(compute.from_params(params.get("compute"))), progress.bar(
            desc=f"importance {modality} {learner}", unit="fold", total=len(chosen)) as bar:
        table = importance.outer_folds(
            data.spec, data.X, data.y, data.fold, chosen, len(data.classes),
            families.families(data.feature_names, family), settings.repeats, data.settings.seed, data.copies, bar)
    table = table.rename(columns={f"recall_{k}": f"recall_{c}" for k, c in enumerate(data.classes)})
    io.write_text(table.to_csv(index=False, float_format="%.6f"), importance.record_path(modality, learner))
    shuffled = table[table["family"] != importance.BASELINE]
    top = shuffled.groupby("family")["accuracy"].mean().nlargest(3)
    print(f"importance {modality} {learner}: " + ", ".join(f"{name} {100 * d:+.1f} points" for name, d in top.items()))


if __name__ == "__main__":
    entry.run(lambda: main(*entry.item(sys.argv[1:], 2)))

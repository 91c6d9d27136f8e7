"""Stage `importance`: permutation importance of each measured modality's learners on the outer folds.

Usage: python -m pipeline.stages.importance
For each modality of `importance.modalities`, each learner `run` trains on it is refit on every
outer training part with the point that fold's nested search chose (read from its train record,
plain features, as deployed), and each feature family (`extract.families`) is shuffled across the
fold's test speakers' takes, `importance.repeats` times (`learn.importance`). Writes
models/importance/<modality>.csv: per learner, fold and family, the fall in accuracy and in each
emotion's recall.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline import compute, entry, io, paths, progress
from pipeline.extract import extractors, families
from pipeline.learn import dataset, importance, runplan


def measured(params: dict, modality: str, learners: tuple[str, ...], repeats: int, bar: Any) -> pd.DataFrame:
    """One modality's table: every learner's outer folds."""
    family = families.FAMILY_OF[extractors.way_of(modality, params)]
    found = []
    for learner in learners:
        data = dataset.inputs(params, modality, learner, "none")
        record = io.read_json(f"{paths.model_stem(modality, learner, 'none')}.json")
        table = importance.outer_folds(
            data.spec, data.X, data.y, data.fold, {f["fold"]: f["best_params"] for f in record["folds"]},
            len(data.classes), families.families(data.feature_names, family), repeats,
            data.settings.seed, data.copies, bar)
        table = table.rename(columns={f"recall_{k}": f"recall_{c}" for k, c in enumerate(data.classes)})
        found.append(table.assign(learner=learner))
    table = pd.concat(found, ignore_index=True)
    return table[["learner", *[c for c in table.columns if c != "learner"]]]


def main() -> None:
    params = io.load_params()
    settings = importance.ImportanceSettings.from_params(params)
    trained = runplan.plan(params).learners
    untrained = [m for m in settings.modalities if m not in trained]
    if untrained:
        raise SystemExit(f"importance.modalities: {', '.join(untrained)} is not trained by `run` (it trains "
                         f"{', '.join(trained)})")
    folds = params["train"]["outer_folds"]
    with compute.engine(compute.from_params(params.get("compute"))), progress.bar(
            desc="importance", unit="fold", total=folds * sum(len(trained[m]) for m in settings.modalities)) as bar:
        for modality in settings.modalities:
            table = measured(params, modality, trained[modality], settings.repeats, bar)
            io.write_text(table.to_csv(index=False, float_format="%.6f"), importance.record_path(modality))
            shuffled = table[table["family"] != importance.BASELINE]
            top = shuffled.groupby("family")["accuracy"].mean().nlargest(3)
            print(f"importance {modality}: " + ", ".join(f"{name} {100 * d:+.1f} points" for name, d in top.items()))


if __name__ == "__main__":
    entry.run(main)

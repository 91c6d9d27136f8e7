"""Stage `fuse`: late fusion of the trained models' probabilities, evaluated on the same outer folds.

Usage: python -m pipeline.stages.fuse
Groups (from `run`, `fusion.groups`): the learners of one modality (an ensemble per modality
and normalisation), the learners of every voice modality together (audio+compare2016), and those
with every learner of each face modality (audio+compare2016+au) on the corpora that have takes in both. For each
group and rule (`fuse.rules`), the figures come from outer-fold probabilities fused by a rule
fitted on inner out-of-fold rows of that fold's training part only. Writes
models/fusion/<group>.json (figures, members, fallback counts), .oof.parquet (fused
out-of-fold probabilities), .conditions.parquet (the sampled takes under each recording condition,
fused by each fold's rule) and .joblib (each rule refitted on every take's outer out-of-fold
probabilities, for predict/evaluate), groups.json naming the groups (none with one learner
and one modality: the stage still has its output), and run.json: the run record with no rule
deployed yet (`learn.run`), what the cross_corpus stages score every rule of.
"""

from __future__ import annotations

import pandas as pd
from joblib import Parallel, delayed

from pipeline import compute, entry, io, paths
from pipeline.learn import fusion, run


def main() -> None:
    params = io.load_params()
    trained = run.Run.of_params(params, deployed=False)  # fuse.deploy: no refit for it
    rules, groups = trained.rules, trained.groups
    where = compute.from_params(params.get("compute"))
    trained.write(paths.FUSED_RUN)
    io.write_json({"groups": [g.slug for g in groups]}, paths.FUSION / "groups.json")  # the output, even with none
    stems = dict.fromkeys(stem for g in groups for stem in g.stems)  # a learner sits in several groups: read once
    oof = {stem: pd.read_parquet(f"{stem}.oof.parquet") for stem in stems}
    inner = {stem: pd.read_parquet(f"{stem}.inner.parquet") for stem in stems}
    heard = {stem: pd.read_parquet(f"{stem}.conditions.parquet") for stem in stems}
    with compute.engine(where):  # the groups are independent: fused side by side
        results = Parallel()(delayed(fusion.fuse_group)(group, [oof[s] for s in group.stems],
                                                        [inner[s] for s in group.stems], rules,
                                                        [heard[s] for s in group.stems]) for group in groups)
    for group, result in zip(groups, results):
        stem = paths.fusion_stem(group.slug)
        if result is None:
            io.write_json(fusion.describe(group), f"{stem}.json")
            print(f"{group.name}: no corpus has takes in more than one of {', '.join(group.modalities)}")
            continue
        figures, table, deployable, heard_table = result
        io.write_json(figures, f"{stem}.json")
        io.write_parquet(table, f"{stem}.oof.parquet")
        io.write_parquet(heard_table, f"{stem}.conditions.parquet")
        io.write_joblib(deployable.saved(), f"{stem}.joblib")
        print(f"{group.name}: " + ", ".join(f"{r} {figures['rules'][r]['accuracy']:.3f}" for r in figures["rules"]))

if __name__ == "__main__":
    entry.run(main)

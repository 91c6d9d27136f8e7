"""Stage `calibrate`: prediction sets and calibration of each deployed decision on new speakers.

Usage: python -m pipeline.stages.calibrate
For each fusion group (`fusion.groups`), its `fuse.deploy` rule's out-of-fold probabilities on
the takes carrying all its modalities: the conformal threshold that predict's sets use, the
coverage those sets reach on speakers the threshold never saw (fold by fold), and the
reliability of the decision's confidence (`conformal`). Writes models/conformal.json, and
models/run.json: the run record the commands answer with (`learn.run`). No model is refitted:
everything comes from the fuse stage's outer-fold tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import entry, io, paths
from pipeline.learn import conformal, run


def main() -> None:
    params = io.load_params()
    settings = conformal.Settings.from_params(params)
    record = run.Run.of_params(params)
    deploy = record.deploy
    decisions = {}
    for group in record.groups:
        table = Path(f"{paths.fusion_stem(group.slug)}.oof.parquet")
        if not table.exists():  # no corpus carried its modalities together
            continue
        oof = pd.read_parquet(table)
        rows = oof[(oof["rule"] == deploy) & (oof["carried"] == "+".join(group.modalities))]
        classes = [c.removeprefix("p_") for c in oof.columns if c.startswith("p_")]
        P = rows[[f"p_{c}" for c in classes]].to_numpy()
        y = np.array([classes.index(label) for label in rows["label"]])
        name = f"{group.name} ({deploy})"
        decisions[name] = {"classes": classes} | conformal.decision(P, y, rows["fold"].to_numpy(), settings)
        measured = decisions[name]["coverage"]
        print(f"{name}: {measured['coverage']:.1%} of held-out takes in their {settings.coverage:.0%} set, "
              f"{measured['mean_size']:.2f} emotions a set, ECE {decisions[name]['reliability']['ece']:.3f}")
    io.write_json({"coverage": settings.coverage, "flagged_coverage": settings.flagged_coverage, "rule": deploy,
                   "decisions": decisions}, conformal.PATH)
    record.write()


if __name__ == "__main__":
    entry.run(main)

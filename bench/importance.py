"""Benchmark: permutation importance through the row span (`learn.importance.Shuffles`: the front
applied once, a family's share added to the span coordinates) against the whole model answering
every shuffled copy, on the same fold, families and shuffles, measured in the same run.

One outer fold of a feature table: the learner refit on the fold's training part at one point,
then `importance.drops` on the fold's test takes both ways. Printed: the seconds of each, their
ratio, and whether the two tables agree (every family's fall in accuracy and recall).

Usage: python bench/importance.py [--modality compare2016] [--learner logreg] [--point clf__C=0.01]
(in a workspace whose feature tables exist, e.g. after `dvc repro`)
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np

from train_scaling import REPO  # noqa: F401  (puts the project on the path, runs from its root)

from pipeline import io  # noqa: E402
from pipeline.extract import extractors, families  # noqa: E402
from pipeline.learn import dataset, importance, learners  # noqa: E402


def timed_drops(shuffles: importance.Shuffles, y: np.ndarray, n_classes: int, by_family: dict, repeats: int,
                seed: int) -> tuple[float, object]:
    started = time.perf_counter()
    table = importance.drops(shuffles, y, n_classes, by_family, repeats, np.random.default_rng(seed))
    return time.perf_counter() - started, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modality", default="compare2016")
    parser.add_argument("--learner", default="logreg")
    parser.add_argument("--point", default="clf__C=0.01", help="the learner's point, name=value")
    args = parser.parse_args()
    params = io.load_params()
    data = dataset.inputs(params, args.modality, args.learner, "none")
    name, value = args.point.split("=")
    train, test = data.fold != 0, data.fold == 0
    started = time.perf_counter()
    model = learners.build(args.learner, data.settings.seed, data.spec.fixed).set_params(**{name: float(value)})
    model.fit(data.X[train], data.y[train])
    print(f"{args.modality} {args.learner} ({args.point}): fold 0, {train.sum()} training takes x {data.X.shape[1]} "
          f"features, fitted in {time.perf_counter() - started:.1f} s; {test.sum()} test takes")
    by_family = families.families(data.feature_names, families.FAMILY_OF[extractors.recorded_way(data.table_metadata)])
    repeats = params["importance"]["repeats"]
    whole_s, whole = timed_drops(importance.Shuffles(SimpleNamespace(predict=model.predict), data.X[test]),
                                 data.y[test], len(data.classes), by_family, repeats, 0)
    span_s, span = timed_drops(importance.Shuffles(model, data.X[test]), data.y[test], len(data.classes), by_family,
                               repeats, 0)
    numbers = [c for c in whole.columns if c != "family"]
    differ = np.abs(whole[numbers].to_numpy() - span[numbers].to_numpy()).max()
    print(f"  {len(by_family)} families x {repeats} shuffles: whole model {whole_s:.1f} s, through the span "
          f"{span_s:.1f} s, ratio {span_s / whole_s:.3f}; largest difference between the tables {differ:.2g}")


if __name__ == "__main__":
    main()

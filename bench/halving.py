"""Benchmark: successive halving of the random candidates (`learners.<name>.halving`) against
the plain search, on the same table, folds and candidates, measured in the same run.

For each learner: the whole work of a train stage (`evaluation.train`) with params.yaml's
search, once without halving and once with it; printed: seconds of each and their ratio, the
outer-fold accuracy and UAR of each (the honest figures: what halving costs or gains), and in
how many outer folds the chosen point differs.

Usage: python bench/halving.py [--learners rf xgb] [--size 2034] [--workers 2]
"""

from __future__ import annotations

import argparse
import copy

import numpy as np

from train_scaling import run, subset  # the same runner, on the same stratified subsets

from pipeline import compute, io  # noqa: E402  (train_scaling puts the project on the path)
from pipeline.learn import metrics  # noqa: E402  (train_scaling puts the project on the path)
from pipeline.ingest.corpora import label_order  # noqa: E402
from pipeline.learn.dataset import load_table  # noqa: E402


def outer_figures(trained, labels: np.ndarray) -> tuple[float, float]:
    """Outer-fold accuracy and UAR (the probabilities' columns follow `label_order`, as in `run`)."""
    classes = label_order(set(labels))
    y = np.array([classes.index(label) for label in labels])
    predicted = trained.probabilities.argmax(axis=1)
    return float(np.mean(predicted == y)), metrics.uar(y, predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", nargs="+", default=["rf", "xgb"])
    parser.add_argument("--size", type=int, default=2034, help="audio takes (stratified by speaker and emotion)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    params = io.load_params()
    table, names, _ = load_table("audio", params["train"]["outer_folds"], params["train"]["seed"])
    table = subset(table, args.size, params["train"]["seed"])
    where = compute.Compute(n_jobs=args.workers)
    print(f"{len(table)} audio takes x {len(names)} features; {args.workers} local worker processes")
    for learner in args.learners:
        settings = {}
        for halving in (None, params["learners"][learner].get("halving") or 3):
            settings[halving] = copy.deepcopy(params)
            settings[halving]["learners"][learner]["halving"] = halving
        run(learner, subset(table, 250, 0), names, settings[None], where)  # warm-up: worker start-up not timed
        results = {}
        for halving, setting in settings.items():
            seconds, fits, _, trained = run(learner, table, names, setting, where)
            accuracy, uar = outer_figures(trained, table["label"].to_numpy())
            results[halving] = (seconds, trained)
            print(f"  {learner} {'plain' if halving is None else f'halving {halving}':10s}: {seconds:6.1f} s, "
                  f"{fits} fits, outer accuracy {accuracy:.3f}, UAR {uar:.3f}")
        (plain_s, plain), (halved_s, halved) = results.values()
        differ = sum(a["best_params"] != b["best_params"] for a, b in zip(plain.folds, halved.folds))
        print(f"  {learner}: time ratio halving/plain {halved_s / plain_s:.2f}; the chosen point differs in "
              f"{differ} of {len(plain.folds)} outer folds")

if __name__ == "__main__":
    main()

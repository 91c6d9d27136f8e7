"""Benchmark: training time of each learner against the number of takes; local vs Dask.

Each measurement is the whole work of a train stage (`evaluation.train`: the outer folds, the
randomized then grid search on inner folds, the refits, the permutation check) with the
learner's search space from params.yaml, on stratified subsets of features/audio.parquet
(run `dvc repro audio_features` first) that keep every speaker, so the folds keep their shape.
Printed: seconds and the mean seconds per fit at each size, the growth exponents of the
time and of the time per fit (least squares on log-log), the same work on local processes vs a Dask
LocalCluster with as many workers (ratio, and a check that the numbers are identical), and
on-paper estimates for CREMA-D (7,442 clips) and a 100k-clip corpus on N Dask workers.

Usage: python bench/train_scaling.py [--sizes 250 500 1000 2034] [--learners svm rf xgb]
       [--n-iter N] [--dask-size 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.chdir(REPO)

from pipeline import compute, io  # noqa: E402
from pipeline.learn import evaluation, learners, search  # noqa: E402
from pipeline.ingest.corpora import label_order  # noqa: E402
from pipeline.learn.dataset import load_table  # noqa: E402

TARGETS = {"CREMA-D": 7442, "100k clips": 100_000}


class FitCounter:
    """Stands in for a progress bar: counts the fits `evaluation.train` sends out."""

    def __init__(self) -> None:
        self.total = 0

    def update(self, _: int) -> None:
        pass

    def refresh(self) -> None:
        pass


def subset(table: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """`size` takes drawn evenly from every speaker x emotion cell (seeded)."""
    if size >= len(table):
        return table
    fraction = size / len(table)
    return table.groupby(["speaker", "label"], group_keys=False).sample(frac=fraction, random_state=seed) \
        .reset_index(drop=True)


@contextmanager
def pipelines_from(build: Callable) -> Iterator[None]:
    """`learners.build` replaced by `build` in this process only (worker processes import the
    project's own), restored afterwards: how a benchmark runs a stand-in pipeline."""
    project_build = learners.build
    learners.build = build
    try:
        yield
    finally:
        learners.build = project_build


def run(learner: str, table: pd.DataFrame, names: list[str], params: dict, where: compute.Compute):
    """(seconds, fits, mean fit seconds, trained) of one learner's nested training on `table`."""
    spec_params, train = params["learners"][learner], params["train"]
    spec = search.SearchSpec(learner, spec_params["space"], spec_params["n_iter"], spec_params["grid"],
                                 spec_params.get("fixed") or {}, spec_params.get("halving"))
    classes = label_order(set(table["label"]))
    y = table["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    counter = FitCounter()
    started = time.perf_counter()
    with compute.engine(where):
        trained = evaluation.train(spec, table[names].to_numpy(np.float64), y, table["speaker"].to_numpy(),
                                   table["fold"].to_numpy(), len(classes), train["inner_folds"], train["scoring"],
                                   train["seed"], train["permutation_check"], progress=counter)
    seconds = time.perf_counter() - started
    return seconds, counter.total, float(trained.search_log["mean_fit_s"].mean()), trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2034])
    parser.add_argument("--learners", nargs="+", default=["svm", "rf", "xgb"])
    parser.add_argument("--n-iter", type=int, help="randomized candidates per search (default: params.yaml's)")
    parser.add_argument("--dask-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    params = io.load_params()
    if args.n_iter:
        for learner in args.learners:
            params["learners"][learner]["n_iter"] = args.n_iter
    table, names, _ = load_table("audio", params["train"]["outer_folds"], params["train"]["seed"])
    local = compute.Compute(n_jobs=args.workers)
    print(f"{len(table)} audio takes x {len(names)} features, {table['speaker'].nunique()} speakers; "
          f"{os.cpu_count()} cores, {args.workers} local worker processes")
    for learner in args.learners:
        print(f"-- {learner} (n_iter {params['learners'][learner]['n_iter']})")
        run(learner, subset(table, args.sizes[0], 0), names, params, local)  # warm-up: worker start-up not timed
        sizes, seconds, per_fit = [], [], []
        for size in args.sizes:
            part = subset(table, size, params["train"]["seed"])
            took, fits, fit_s, _ = run(learner, part, names, params, local)
            sizes.append(len(part))
            seconds.append(took)
            per_fit.append(fit_s)
            print(f"  {len(part):5d} takes: {took:7.1f} s, {fits} fits, {fit_s:6.3f} s per search fit")
        growth = np.polyfit(np.log(sizes), np.log(seconds), 1)[0]
        exponent = np.polyfit(np.log(sizes), np.log(per_fit), 1)[0]
        print(f"  growth: time ~ takes^{growth:.2f}, time per fit ~ takes^{exponent:.2f}")
        for target, n in TARGETS.items():
            here = seconds[-1] * (n / sizes[-1]) ** exponent  # the same fits, each grown as measured
            print(f"  on paper, {target} ({n:,} takes, same search): {minutes(here)} on {args.workers} local "
                  f"workers; {minutes(here * args.workers / 16)} on 16 Dask workers, "
                  f"{minutes(here * args.workers / 64)} on 64 (if the fits spread evenly)")
        part = subset(table, args.dask_size, params["train"]["seed"])
        local_s, _, _, mine = run(learner, part, names, params, local)
        dask_s, _, _, theirs = run(learner, part, names, params,
                                   compute.Compute(backend="dask", local_workers=args.workers))
        same = np.array_equal(mine.probabilities, theirs.probabilities)
        print(f"  {len(part)} takes: local {local_s:.1f} s, Dask LocalCluster ({args.workers} workers, start-up "
              f"included) {dask_s:.1f} s: ratio Dask/local {dask_s / local_s:.2f}; identical out-of-fold "
              f"probabilities: {same}")


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"

if __name__ == "__main__":
    main()

"""Benchmark: one learner's whole train stage through a real Dask scheduler with 1 and with 2 worker
processes (`dask scheduler` / `dask worker` on 127.0.0.1, as README's recipe across machines), in
the same run, on the project's feature table: the ratio says what a second worker buys.

Printed: seconds with each worker count, their ratio, and whether the out-of-fold probabilities
are identical (they must be: where the fits run changes no result).

Usage: python bench/dask_workers.py [--learner svm] [--modality audio]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from train_scaling import run  # the same runner as the other training benchmarks

from pipeline import compute, io  # noqa: E402  (train_scaling puts the project on the path)
from pipeline.stages.train import load_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).parent / "dask")


def cluster(port: int, workers: int) -> list[subprocess.Popen]:
    """A scheduler and `workers` single-threaded worker processes on 127.0.0.1."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": str(REPO)}
    started = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                **quiet)]
    started += [subprocess.Popen([DASK, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--no-dashboard"],
                                 **quiet) for _ in range(workers)]
    time.sleep(5)  # the workers register with the scheduler
    return started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default="svm")
    parser.add_argument("--modality", default="audio")
    parser.add_argument("--port", type=int, default=8786)
    args = parser.parse_args()
    params = io.load_params()
    table, names = load_table(args.modality, params["train"]["outer_folds"], params["train"]["seed"])
    print(f"{args.modality}: {len(table)} takes x {len(names)} features, learner {args.learner}")
    results = {}
    for workers in (1, 2):
        started = cluster(args.port + workers, workers)
        try:
            where = compute.Compute(backend="dask", scheduler=f"tcp://127.0.0.1:{args.port + workers}")
            seconds, fits, _, trained = run(args.learner, table, names, params, where)
        finally:
            for process in started:
                process.kill()
                process.wait()
        results[workers] = (seconds, trained.probabilities)
        print(f"  {workers} worker(s): {seconds:6.1f} s, {fits} fits")
    (one, p1), (two, p2) = results[1], results[2]
    print(f"  2 workers / 1 worker: time ratio {two / one:.2f}; out-of-fold probabilities identical: "
          f"{np.array_equal(p1, p2, equal_nan=True)}")


if __name__ == "__main__":
    main()

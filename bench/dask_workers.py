"""Benchmark: one learner's whole train stage through a real Dask scheduler with 1 and with 2 worker
processes (`dask scheduler` / `dask worker` on 127.0.0.1, as README's recipe across machines), in
the same run, on the project's feature table: the ratio says what a second worker buys.

Printed: seconds with each worker count, their ratio, and how far the out-of-fold probabilities
of the two runs are apart (where the fits run must change no guess).

Usage: python bench/dask_workers.py [--learner svm] [--modality audio]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from train_scaling import run  # the same runner as the other training benchmarks

from pipeline import compute, io  # noqa: E402  (train_scaling puts the project on the path)
from pipeline.learn.dataset import load_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cluster(port: int, workers: int) -> list[subprocess.Popen]:
    """A scheduler and `workers` single-threaded worker processes on 127.0.0.1."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": str(REPO)}
    started = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                **quiet)]
    started += [subprocess.Popen([DASK, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--no-dashboard"],
                                 **quiet) for _ in range(workers)]
    time.sleep(10)  # the workers register with the scheduler
    return started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default="svm")
    parser.add_argument("--modality", default="audio")
    args = parser.parse_args()
    params = io.load_params()
    table, names, _ = load_table(args.modality, params["train"]["outer_folds"], params["train"]["seed"])
    print(f"{args.modality}: {len(table)} takes x {len(names)} features, learner {args.learner}")
    results = {}
    for workers in (1, 2):
        port = free_port()
        started = cluster(port, workers)
        try:
            where = compute.Compute(backend="dask", scheduler=f"tcp://127.0.0.1:{port}", connect_timeout_s=60)
            seconds, fits, _, trained = run(args.learner, table, names, params, where)
        finally:
            for process in started:
                process.kill()
                process.wait()
        results[workers] = (seconds, trained.probabilities)
        print(f"  {workers} worker(s): {seconds:6.1f} s, {fits} fits")
    (one, p1), (two, p2) = results[1], results[2]
    print(f"  2 workers / 1 worker: time ratio {two / one:.2f}; out-of-fold probabilities: largest difference "
          f"{np.nanmax(np.abs(p1 - p2)):.2g}, {int((p1.argmax(1) != p2.argmax(1)).sum())} of {len(p1)} guesses differ")


if __name__ == "__main__":
    main()

"""Benchmark: the cold `dvc repro`, as a new user meets it: a fresh `git clone` of this repository
beside ../shared (no DVC cache, no fit or feature cache), then `dvc repro`, timed. Prints and, with
--record, writes: the wall time, each stage's (from the moment DVC starts it to the next one's start),
the CPU time of every process it ran, the largest one's peak memory, the commit, and the outputs whose content differs from those the committed dvc.lock records
(none: a fresh clone reproduces the committed run byte for byte; code edits since it change only
the lock's code hashes).

Usage: python bench/cold_run.py [--into FOLDER] [--record FILE]   (from the repository's root)
       FOLDER (default ../cold-run) must sit beside ../shared; it is replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml


def run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, env={**os.environ, "DVC_NO_ANALYTICS": "1"}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def timed_repro(clone: Path) -> dict[str, float]:
    """`dvc repro` in `clone`; the seconds from each stage's start to the next one's (the last: to the end)."""
    started: dict[str, float] = {}
    unbuffered = {**os.environ, "DVC_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}  # each line when it is written
    with subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=clone, env=unbuffered,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as repro:
        tail = []
        for line in repro.stdout:
            tail = [*tail[-40:], line]
            if stage := re.match(r"Running stage '([^']+)'", line):
                started[stage.group(1)] = time.perf_counter()
    if repro.returncode != 0:
        raise SystemExit(f"dvc repro failed:\n{''.join(tail)}")
    ends = [*list(started.values())[1:], time.perf_counter()]
    return {stage: round(end - start, 1) for (stage, start), end in zip(started.items(), ends)}


def outputs(lock: dict) -> dict[str, str | None]:
    """Each output of a dvc.lock and the hash of its content."""
    return {out["path"]: out.get("md5") for stage in lock["stages"].values() for out in stage.get("outs", [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=Path("..") / "cold-run")
    parser.add_argument("--record", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    here = Path.cwd()
    clone = args.into.resolve()
    if clone.exists():
        shutil.rmtree(clone)
    run(["git", "clone", "-q", str(here), str(clone)], here)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout
    started = time.perf_counter()
    stages = timed_repro(clone)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    committed = subprocess.run(["git", "show", "HEAD:dvc.lock"], cwd=clone, capture_output=True, text=True).stdout
    before, after = outputs(yaml.safe_load(committed)), outputs(yaml.safe_load((clone / "dvc.lock").read_text()))
    figures = {"commit": commit.strip(), "wall_s": round(wall), "cpu_s": round(usage.ru_utime + usage.ru_stime),
               "peak_process_gb": round(usage.ru_maxrss / 2**20, 2), "cores": os.cpu_count(),
               "outputs_unlike_committed": sorted(path for path in before.keys() | after.keys()
                                                  if before.get(path) != after.get(path)),
               "stage_seconds": dict(sorted(stages.items(), key=lambda item: -item[1]))}
    print(json.dumps(figures, indent=2))
    if args.record:
        args.record.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()

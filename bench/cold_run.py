"""Benchmark: the cold `dvc repro`, as a new user meets it: a fresh `git clone` of this repository
beside ../shared (no DVC cache, no fit or feature cache), then `dvc repro`, timed. Prints and, with
--record, writes: the wall time, the CPU time of every process it ran, the largest one's peak
memory, the commit, and whether the clone's dvc.lock and reports/ came out byte-identical to the
committed ones (what a fresh clone must reproduce).

Usage: python bench/cold_run.py [--into FOLDER] [--record FILE]   (from the repository's root)
       FOLDER (default ../cold-run) must sit beside ../shared; it is replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, env={**os.environ, "DVC_NO_ANALYTICS": "1"}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


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
    run([sys.executable, "-m", "dvc", "repro"], clone)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    figures = {"commit": commit.strip(), "wall_s": round(wall), "cpu_s": round(usage.ru_utime + usage.ru_stime),
               "peak_process_gb": round(usage.ru_maxrss / 2**20, 2), "cores": os.cpu_count(),
               "changed_files": changed.split("\n")[:-1]}
    print(json.dumps(figures, indent=2))
    if args.record:
        args.record.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()

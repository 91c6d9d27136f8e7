"""Benchmark: the edit loop on a trained workspace, as a user meets it. Each edit is made as `dvc
exp run -S` makes it (DVC's own `apply_overrides` on params.yaml), then `dvc repro` runs to the
new report, timed; printed: the wall time, the stages that ran and the search fits the fit cache
served. params.yaml is restored after each edit and `dvc repro` run again (DVC's run cache brings
the earlier outputs back; its time is printed apart), so each edit starts from the trained state.

Usage: python bench/edit_loop.py [OVERRIDE ...] [--record FILE]   (from a trained workspace's root)
       default: each learner of `run` one search candidate more, fuse.deploy, calibrate.bins
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml
from dvc.utils.hydra import apply_overrides

PARAMS = Path("params.yaml")


def defaults() -> list[str]:
    params = yaml.safe_load(PARAMS.read_text())
    learners = dict.fromkeys([*params["run"]["learners"], *params["run"].get("wide_learners", [])])
    return [*(f"learners.{name}.n_iter={params['learners'][name]['n_iter'] + 1}" for name in learners),
            "fuse.deploy=mean", f"calibrate.bins={params['calibrate']['bins'] + 2}"]


def repro() -> tuple[float, list[str]]:
    """`dvc repro`'s wall time and the stages it ran (not those restored from the run cache)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dvc", "repro"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"dvc repro failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    ran = re.findall(r"Running stage '([^']+)'", done.stdout)
    restored = set(re.findall(r"Stage '([^']+)' is cached - skipping run", done.stdout))
    return time.perf_counter() - started, [s for s in ran if s not in restored and s != "fetch"]


def fits_served(stages: list[str]) -> tuple[int, int]:
    """Search fits read from the fit cache and made, over the train stages that ran (their run logs)."""
    hits = made = 0
    for stage in stages:
        if stage.startswith(("train@", "train_wide@")):
            modality, learner, normalisation = stage.split("@")[1].split("-", 2)
            log = json.loads(Path(f"logs/models/learners/{modality}/{learner}-{normalisation}.json").read_text())
            hits, made = hits + log["fit_cache"]["hits"], made + log["fit_cache"]["fits"]
    return hits, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="edits as `dvc exp run -S` takes them (default: see above)")
    parser.add_argument("--record", type=Path, help="also write the table to this JSON file")
    args = parser.parse_args()
    overrides = args.overrides or defaults()
    original = PARAMS.read_text()
    _, stale = repro()
    if stale:
        print(f"note: the workspace was not up to date; ran {', '.join(stale)} first")
    print(f"{'edit':32s} {'to the report':>13s}  {'fits from cache':>15s}  stages that ran")
    rows = []
    try:
        for override in overrides:
            apply_overrides(str(PARAMS), [override])
            seconds, ran = repro()
            hits, made = fits_served(ran)
            PARAMS.write_text(original)
            back, _ = repro()
            print(f"{override:32s} {seconds:11.0f} s  {hits:6d} of {hits + made:6d}  {len(ran)}: {', '.join(ran)}"
                  f"  (restored in {back:.0f} s)", flush=True)
            rows.append({"edit": override, "seconds": round(seconds), "fits_from_cache": hits, "fits": hits + made,
                         "stages": ran, "restored_s": round(back)})
    finally:
        PARAMS.write_text(original)
    if args.record:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        args.record.write_text(json.dumps({"commit": commit, "edits": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: the `fuse` stage's work with the stacker's solver (`fusion.STACKER_SOLVER`) against
lbfgs, on the trained models' out-of-fold tables, measured in the same run.

Every fusion group of params.yaml's `run` (run `dvc repro fuse` first), each fused with every
rule of `fuse.rules`, in this one process (no workers, so the two runs share nothing but the
machine). Printed: seconds of each and their ratio, and how far the fused outer-fold accuracies
of the two runs lie apart for each rule (the solvers converge to the same optimum up to their
tolerances, so the choices and figures should hold).

Usage: python bench/fusion_solver.py
"""

from __future__ import annotations

import time

import pandas as pd

from train_scaling import REPO  # puts the project on the path, runs from its root

from pipeline import io  # noqa: E402
from pipeline.learn import fusion, runplan  # noqa: E402


def fuse_all(solver: str) -> tuple[float, dict[tuple[str, str], float]]:
    """Seconds to fuse every group, and each (group, rule)'s outer-fold accuracy."""
    params = io.load_params()
    groups = fusion.groups(runplan.plan(params))
    tables = {stem: (pd.read_parquet(f"{stem}.oof.parquet"), pd.read_parquet(f"{stem}.inner.parquet"))
              for group in groups for stem in group.stems}
    project_solver, fusion.STACKER_SOLVER = fusion.STACKER_SOLVER, solver
    try:
        started, accuracy = time.perf_counter(), {}
        for group in groups:
            result = fusion.fuse_group(group, [tables[s][0] for s in group.stems], [tables[s][1] for s in group.stems],
                                       params["fuse"]["rules"])
            if result is not None:
                accuracy |= {(group.slug, rule): figures["accuracy"] for rule, figures in result[0]["rules"].items()}
        return time.perf_counter() - started, accuracy
    finally:
        fusion.STACKER_SOLVER = project_solver


def main() -> None:
    (lbfgs_s, lbfgs), (own_s, own) = fuse_all("lbfgs"), fuse_all(fusion.STACKER_SOLVER)
    print(f"{REPO.name}: fusing {len({g for g, _ in own})} groups in one process: lbfgs {lbfgs_s:.1f} s, "
          f"{fusion.STACKER_SOLVER} {own_s:.1f} s, ratio {own_s / lbfgs_s:.2f}")
    for rule in sorted({r for _, r in own}):
        gaps = [abs(own[key] - lbfgs[key]) for key in own if key[1] == rule]
        print(f"  {rule:9s}: fused accuracy differs in {sum(g > 0 for g in gaps)} of {len(gaps)} groups, "
              f"by at most {100 * max(gaps):.2f} points")


if __name__ == "__main__":
    main()

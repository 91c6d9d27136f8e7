"""Benchmark: one learner's train stage with params.yaml's settings against the same with one
setting changed (a pipeline parameter of `learners.<name>.fixed`, e.g. XGBoost's histogram bins,
or one of the `train` block, e.g. train.inner_folds), on the same table and outer folds,
measured in the same run.

Printed: seconds of each and their ratio, the outer-fold accuracy and UAR of each (what the
change costs or gains, on the honest figures), and in how many outer folds the chosen point
differs. A setting is worth changing only if the time falls and the outer figures hold.

Usage: python bench/fixed_setting.py LEARNER PARAMETER VALUE [--modality audio] [--workers 2]
       e.g. python bench/fixed_setting.py xgb clf__max_bin 64
            python bench/fixed_setting.py rf train.inner_folds 4
"""

from __future__ import annotations

import argparse
import copy

import yaml

from halving import outer_figures
from train_scaling import run, subset  # the same runner as the other training benchmarks

from pipeline import compute, io  # noqa: E402  (train_scaling puts the project on the path)
from pipeline.learn.dataset import load_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("learner")
    parser.add_argument("parameter", help="a parameter of the learner's pipeline (clf__max_bin) or train.<setting>")
    parser.add_argument("value", type=yaml.safe_load, help="its new value (YAML: 32, 0.5, null, ...)")
    parser.add_argument("--modality", default="audio")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    params = io.load_params()
    table, names, _ = load_table(args.modality, params["train"]["outer_folds"], params["train"]["seed"])
    changed = copy.deepcopy(params)
    block, key = (changed["train"], args.parameter.removeprefix("train.")) if args.parameter.startswith("train.") \
        else (changed["learners"][args.learner].setdefault("fixed", {}), args.parameter)
    before = block.get(key, "the pipeline's default")
    block[key] = args.value
    where = compute.Compute(n_jobs=args.workers)
    print(f"{args.modality}: {len(table)} takes x {len(names)} features; {args.workers} local worker processes")
    run(args.learner, subset(table, 250, 0), names, params, where)  # warm-up: worker start-up not timed
    results = []
    for label, setting in ((f"{args.parameter} {before}", params), (f"{args.parameter} {args.value}", changed)):
        seconds, fits, _, trained = run(args.learner, table, names, setting, where)
        accuracy, uar = outer_figures(trained, table["label"].to_numpy())
        results.append((seconds, trained))
        print(f"  {args.learner} {label:24s}: {seconds:6.1f} s, {fits} fits, outer accuracy {accuracy:.3f}, UAR {uar:.3f}")
    (old_s, old), (new_s, new) = results
    differ = sum(a["best_params"] != b["best_params"] for a, b in zip(old.folds, new.folds))
    print(f"  time ratio changed/params.yaml {new_s / old_s:.2f}; the chosen point differs in {differ} of "
          f"{len(old.folds)} outer folds")


if __name__ == "__main__":
    main()

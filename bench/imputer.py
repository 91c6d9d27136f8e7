"""Benchmark: the project's median imputation (`pipeline/learn/imputer.py`, np.nanmedian) against
scikit-learn's SimpleImputer(strategy="median"), on the same rows, measured in the same run.

For every outer training part of a feature table (and the whole table, as the final model's),
the fit and transform of each, best of three; printed: seconds of each, their ratio, and
whether the outputs are identical. With --stage, also the whole train stage of a learner
(`evaluation.train` with params.yaml's search) with each imputer, in one process (the
stand-in pipeline is swapped in this process only), and whether its outer probabilities match.

Usage: python bench/imputer.py [--modality compare2016] [--stage logreg]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.impute import SimpleImputer

from train_scaling import pipelines_from, run  # the same runner as the other training benchmarks

from pipeline import compute, io  # noqa: E402  (train_scaling puts the project on the path)
from pipeline.learn import learners  # noqa: E402
from pipeline.learn.imputer import MedianImputer  # noqa: E402
from pipeline.learn.dataset import load_table  # noqa: E402


def best_of_three(imputer, X: np.ndarray) -> tuple[float, np.ndarray]:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        out = imputer.fit(X).transform(X)
        times.append(time.perf_counter() - started)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modality", default="compare2016")
    parser.add_argument("--stage", help="also time this learner's whole train stage with each imputer")
    args = parser.parse_args()
    params = io.load_params()
    table, names, _ = load_table(args.modality, params["train"]["outer_folds"], params["train"]["seed"])
    X, fold = table[names].to_numpy(np.float64), table["fold"].to_numpy()
    print(f"{args.modality}: {len(table)} takes x {len(names)} features")
    ratios = []
    for part in [*np.unique(fold), "all"]:
        rows = X if part == "all" else X[fold != part]
        theirs_s, theirs = best_of_three(SimpleImputer(strategy="median"), rows)
        ours_s, ours = best_of_three(MedianImputer(), rows)
        ratios.append(ours_s / theirs_s)
        print(f"  training part {'without fold ' + str(part) if part != 'all' else 'all takes':16s} ({len(rows)} rows): "
              f"SimpleImputer {theirs_s:.3f} s, MedianImputer {ours_s:.3f} s, ratio {ratios[-1]:.2f}, "
              f"identical {np.array_equal(theirs, ours, equal_nan=True)}")
    print(f"  mean time ratio MedianImputer/SimpleImputer {np.mean(ratios):.2f}")
    if args.stage:
        project_build = learners.build

        def simple_imputer(name: str, seed: int, fixed: dict | None = None):
            pipeline = project_build(name, seed)
            if "impute" in pipeline.named_steps:
                pipeline.steps[0] = ("impute", SimpleImputer(strategy="median"))
            return pipeline.set_params(**(fixed or {}))

        results = []
        for label, build in (("SimpleImputer", simple_imputer), ("MedianImputer", project_build)):
            with pipelines_from(build):
                seconds, fits, _, trained = run(args.stage, table, names, params, compute.Compute(n_jobs=1))
            results.append((seconds, trained.probabilities))
            print(f"  {args.stage} train stage with {label}: {seconds:6.1f} s, {fits} fits (one process)")
        (theirs_s, theirs), (ours_s, ours) = results
        print(f"  stage time ratio {ours_s / theirs_s:.2f}; outer probabilities identical {np.array_equal(theirs, ours)}")


if __name__ == "__main__":
    main()

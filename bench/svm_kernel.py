"""Benchmark: the RBF SVM on a precomputed kernel (`pipeline/learn/kernel.py`) against
scikit-learn's SVC computing its own RBF kernel, on the same table, folds and candidates,
measured in the same run.

The whole work of the SVM's train stage (`evaluation.train` with params.yaml's search) on the
audio features, once with the project's pipeline and once with `SVC(kernel="rbf")` in its place;
both in one process (the stand-in pipeline is swapped in this process only, so no worker pool).
Printed: seconds of each and their ratio, the outer-fold accuracy of each, how many outer
predictions differ and the largest difference between their class probabilities.

Usage: python bench/svm_kernel.py [--size 2034]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.svm import SVC

from halving import outer_figures
from train_scaling import pipelines_from, run, subset  # the same runner, on the same stratified subsets

from pipeline import compute, io  # noqa: E402  (train_scaling puts the project on the path)
from pipeline.learn import learners  # noqa: E402
from pipeline.learn.dataset import load_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2034, help="audio takes (stratified by speaker and emotion)")
    args = parser.parse_args()
    params = io.load_params()
    table, names, _ = load_table("audio", params["train"]["outer_folds"], params["train"]["seed"])
    table = subset(table, args.size, params["train"]["seed"])
    one_process = compute.Compute(n_jobs=1)
    project_build = learners.build

    def libsvm_rbf(name: str, seed: int, fixed: dict | None = None):
        """The project's SVM pipeline with scikit-learn's own RBF SVC instead of distances + KernelSVC."""
        pipeline = project_build(name, seed)
        if name == "svm":
            pipeline.steps[-2:] = [("clf", SVC(kernel="rbf", class_weight="balanced", decision_function_shape="ovo",
                                               random_state=seed))]
        return pipeline.set_params(**(fixed or {}))

    print(f"{len(table)} audio takes x {len(names)} features; one process each")
    results = {}
    for label, build in (("libsvm RBF", libsvm_rbf), ("precomputed kernel", project_build)):
        with pipelines_from(build):
            seconds, fits, _, trained = run("svm", table, names, params, one_process)
        accuracy, uar = outer_figures(trained, table["label"].to_numpy())
        results[label] = (seconds, trained)
        print(f"  {label:18s}: {seconds:6.1f} s, {fits} fits, outer accuracy {accuracy:.3f}, UAR {uar:.3f}")
    (reference_s, reference), (kernel_s, kernel) = results.values()
    differ = int(np.sum(reference.probabilities.argmax(axis=1) != kernel.probabilities.argmax(axis=1)))
    gap = float(np.abs(reference.probabilities - kernel.probabilities).max())
    print(f"  time ratio precomputed/libsvm {kernel_s / reference_s:.2f}; {differ} of {len(table)} outer predictions "
          f"differ; largest probability difference {gap:.1e}")


if __name__ == "__main__":
    main()

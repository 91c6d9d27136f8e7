"""Benchmark: what the speed-perturbed training copies of a modality cost and gain, in one run.

The modality's train stage (`evaluation.train`: outer folds, random then grid search on inner
folds, refits, permutation check, final model) with params.yaml's learner settings, once on the
takes alone and once with their copies (features/<modality>_copies.parquet, made by
`speed_copies`), on the same folds. Printed: seconds of each and their ratio, and the outer
accuracy, UAR and speech/song accuracy of each: the copies are worth their time only if the
honest figures rise.

Usage: python bench/speed_copies.py [--modality is10] [--learner logreg] [--workers 2]
       (run `dvc repro opensmile_features@is10` first)
"""

from __future__ import annotations

import argparse
import time

from train_scaling import FitCounter  # puts the project on the path

from pipeline import compute, io  # noqa: E402
from pipeline.learn import evaluation, metrics  # noqa: E402
from pipeline.learn.dataset import inputs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modality", default="is10")
    parser.add_argument("--learner", default="logreg")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    data = inputs(io.load_params(), args.modality, args.learner, "none")
    if not len(data.copies.of):
        raise SystemExit(f"features/{args.modality}_copies.parquet holds no copies: set "
                         f"opensmile_features.{args.modality}.speed_copies and run its stage")
    s = data.settings
    speech = (data.table["channel"] == "speech").to_numpy()
    print(f"{args.modality}: {len(data.y)} takes x {len(data.feature_names)} features, {len(data.copies.of)} copies; "
          f"{args.learner}, {args.workers} local worker processes")
    seconds = {}
    for label, copies in (("takes alone", None), ("with copies", data.copies)):
        started = time.perf_counter()
        with compute.engine(compute.Compute(n_jobs=args.workers)):
            trained = evaluation.train(data.spec, data.X, data.y, data.groups, data.fold, len(data.classes),
                                       s.inner_folds, s.scoring, s.seed, s.permutation_check, FitCounter(), copies)
        seconds[label] = time.perf_counter() - started
        guess = trained.probabilities.argmax(axis=1)
        right = guess == data.y
        print(f"  {label:12s}: {seconds[label]:6.1f} s, outer accuracy {right.mean():.3f}, UAR "
              f"{metrics.uar(data.y, guess):.3f}, speech {right[speech].mean():.3f}, song {right[~speech].mean():.3f}")
    print(f"  time ratio with copies / takes alone: {seconds['with copies'] / seconds['takes alone']:.2f}")


if __name__ == "__main__":
    main()

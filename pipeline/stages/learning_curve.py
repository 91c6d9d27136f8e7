"""Stage `learning_curve`: how one learner's outer-fold accuracy grows with the number of
training speakers (`learning_curve` params: modality, learner, normalisation, speakers).

Usage: python -m pipeline.stages.learning_curve
The same outer folds and test speakers as `train`; each fold trains (the same nested search)
on only n of its training speakers, for each n. With all of a fold's training speakers it is
the `train` stage of the same modality, learner and normalisation (which `run` must train):
that point is read from its out-of-fold predictions. Writes models/learning_curve.csv: one row
per fold and n (fold, speakers, takes, accuracy, uar).
"""

from __future__ import annotations

import pandas as pd

from pipeline import compute, entry, io, paths, progress
from pipeline.learn import dataset, evaluation


def main() -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    curve_of = evaluation.CurveSettings.from_params(params)
    data = dataset.inputs(params, curve_of.modality, curve_of.learner, curve_of.normalisation)
    # with all of a fold's training speakers the curve is this learner's train stage: its guesses are read
    stem = paths.model_stem(curve_of.modality, curve_of.learner, curve_of.normalisation)
    read = pd.read_parquet(f"{stem}.oof.parquet", columns=["take", "predicted"]).set_index("take")["predicted"]
    guesses = data.table["take"].map(read).map({c: i for i, c in enumerate(data.classes)}).to_numpy()
    with compute.engine(where), progress.bar(desc="learning curve", unit="fit", total=0) as bar:
        try:
            curve = evaluation.learning_curve(
                data.spec, data.X, data.y, data.groups, data.fold, sorted(set(curve_of.speakers)), len(data.classes),
                inner_k=data.settings.inner_folds, scoring=data.settings.scoring, seed=data.settings.seed, progress=bar,
                trained=guesses, copies=data.copies,
            )
        except ValueError as error:
            raise SystemExit(f"learning_curve.speakers: {error}") from None
    paths.LEARNING_CURVE.parent.mkdir(parents=True, exist_ok=True)
    io.write_text(curve.to_csv(index=False, float_format="%.6f"), paths.LEARNING_CURVE)
    means = curve.groupby("speakers")["accuracy"].mean()
    print("learning_curve: " + ", ".join(f"{n} speakers {100 * a:.1f}%" for n, a in means.items()))


if __name__ == "__main__":
    entry.run(main)

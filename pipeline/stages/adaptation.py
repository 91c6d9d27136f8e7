"""Stage `adaptation`: accuracy on a new speaker against the number k of that speaker's unlabelled
clips that speaker normalisation may use (`adaptation` params: modality, learner, clips, draws).

Usage: python -m pipeline.stages.adaptation
The same outer folds and test speakers as `train`; each fold's speaker-normalised model is refit
as `train` refit it, and scores every test speaker's takes normalised with k of them drawn at
random (the drawn ones left out), beside the plain model's out-of-fold guesses on the same takes
(`adaptation`). Writes models/adaptation.csv (a row per fold, speaker, k, draw and prior
strength), models/adaptation.json (per prior strength and k: accuracy, plain accuracy, gain; the
fewest clips that beat the plain model with the prior, which `predict --speaker` asks for), and
models/priors/<modality>.parquet for every modality of `run` (the prior predict draws a new
speaker's statistics towards: from every take the final models trained on).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import entry, io, paths, progress
from pipeline.learn import adaptation, dataset, evaluation, runplan

def main() -> None:
    params = io.load_params()
    settings = adaptation.Settings.from_params(params)
    plan = runplan.plan(params)
    for modality in plan.modalities:  # what predict --speaker draws a new speaker's statistics towards
        table, names, _ = dataset.load_table(modality, 2, 0)
        prior = adaptation.Prior.of(table[names].to_numpy(dtype=np.float64), table["speaker"].to_numpy())
        io.write_parquet(prior.table(names), adaptation.prior_path(modality))
    data = dataset.inputs(params, settings.modality, settings.learner, "speaker")
    raw = data.table[data.feature_names].to_numpy(dtype=np.float64)
    chosen = io.read_json(f"{paths.model_stem(settings.modality, settings.learner, 'speaker')}.json")["folds"]
    plain_oof = pd.read_parquet(f"{paths.model_stem(settings.modality, settings.learner, 'none')}.oof.parquet",
                                columns=["take", "predicted"]).set_index("take")["predicted"]
    plain = data.table["take"].map(plain_oof).map({c: i for i, c in enumerate(data.classes)}).to_numpy()
    fit_rows = evaluation.FitRows.of(data.X, data.copies)
    rng = np.random.default_rng(data.settings.seed)
    rows = []
    for record in progress.bar(chosen, desc="adaptation", unit="fold"):
        fold = record["fold"]
        train = fit_rows.grown(np.flatnonzero(data.fold != fold))
        model = adaptation.fold_model(settings.learner, data.settings.seed, data.spec.fixed, record["best_params"],
                                      fit_rows.X[train], data.y[fit_rows.take[train]])
        prior = adaptation.Prior.of(raw[data.fold != fold], data.groups[data.fold != fold])
        for speaker in record["test_speakers"]:
            mine = (data.groups == speaker) & (data.fold == fold)
            rows += [{"fold": fold, "speaker": speaker, **row} for row in adaptation.speaker_rows(
                model, raw[mine], data.y[mine], plain[mine], sorted(set(settings.clips)), settings.draws, rng, prior,
                settings.prior_clips)]
    curve = pd.DataFrame(rows)
    table = adaptation.summary(curve)
    chosen_prior = table.loc[float(settings.prior_clips)]
    useful = adaptation.useful_from(chosen_prior)
    io.write_text(curve.to_csv(index=False), adaptation.CURVE)
    io.write_json({"model": runplan.model_name(settings.modality, settings.learner, "speaker"),
                   "plain_model": runplan.model_name(settings.modality, settings.learner, "none"),
                   "draws": settings.draws, "prior_clips": settings.prior_clips, "useful_from": useful,
                   "curves": {str(strength): {("all" if k == adaptation.ALL else str(k)): {
                       c: float(v) for c, v in row.items()} for k, row in table.loc[strength].iterrows()}
                       for strength in table.index.levels[0]}}, adaptation.RECORD)
    print("adaptation: " + ", ".join(f"{'all' if k == adaptation.ALL else k} clips {r['accuracy']:.1%} "
                                     f"(plain {r['plain']:.1%})" for k, r in chosen_prior.iterrows())
          + f"; better than plain from {useful} clips")


if __name__ == "__main__":
    entry.run(main)

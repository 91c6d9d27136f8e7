"""Stage `conditions`: the voice features of sampled takes heard under every recording condition.

Usage: python -m pipeline.stages.conditions
Reads data/manifest.parquet and the `robustness` block: `takes_per_speaker` takes of every speaker
with a voice (seeded), each degraded by every condition of `robustness.conditions`
(`extract.conditions`; babble from `babble_speakers` speakers of the other outer folds) and
measured by each voice modality of `run` that is made from audio files, with the settings its
feature stage uses; and as recorded (condition `clean`: the reference, measured the same way).
Writes features/conditions/<modality>.parquet: take, condition, the features.
The train stages score each outer fold's model on its test takes' rows (never trained on): the
robustness section of the report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import compute, entry, io, paths
from pipeline.extract import conditions, degraded, extractors, outputs
from pipeline.extract.batch import extract
from pipeline.learn import evaluation


def sampled(takes: pd.DataFrame, per_speaker: int, seed: int) -> pd.DataFrame:
    """`per_speaker` takes of each speaker (all of a speaker with fewer), drawn seeded, in take order."""
    rng = np.random.default_rng(seed)
    chosen = [part.iloc[np.sort(rng.choice(len(part), min(per_speaker, len(part)), replace=False))]
              for _, part in takes.sort_values("take").groupby("speaker", sort=True)]
    return pd.concat(chosen).reset_index(drop=True)


def planned(chosen: pd.DataFrame, voiced: pd.DataFrame, fold_of: dict[str, int], speakers: int,
            seed: int) -> dict[str, degraded.Planned]:
    """Each chosen take with the takes its babble is made of: one take of each of `speakers`
    speakers from the other outer folds (drawn seeded per take)."""
    out = {}
    by_speaker = {s: part["audio_path"].sort_values().tolist() for s, part in voiced.groupby("speaker")}
    for index, row in enumerate(chosen.itertuples()):
        rng = np.random.default_rng([seed, index])
        others = sorted(s for s in by_speaker if fold_of[s] != fold_of[row.speaker])
        picked = rng.choice(len(others), min(speakers, len(others)), replace=False) if others else []
        babble = tuple(by_speaker[others[i]][rng.integers(len(by_speaker[others[i]]))] for i in sorted(picked))
        out[row.take] = degraded.Planned(row.audio_path, babble, index)
    return out


def main() -> None:
    params = io.load_params()
    settings = conditions.Settings.from_params(params)
    voices = extractors.from_audio(params)  # run's learner lists are not read: no rerun for them
    made_with = [extractors.from_params(m, params) for m in voices]
    columns = {m: extractors.of(s).names(s) for m, s in zip(voices, made_with)}
    width = sum(map(len, columns.values()))
    takes = pd.read_parquet(paths.MANIFEST)
    fold_of = evaluation.speaker_folds(takes, params["train"]["outer_folds"], params["train"]["seed"])
    voiced = takes[takes["audio_path"].notna()]
    chosen = sampled(voiced, settings.takes_per_speaker, settings.seed)
    heard = (conditions.Condition(conditions.CLEAN), *settings.conditions)  # the same takes as recorded, alike
    job = degraded.Job(heard, tuple(made_with),
                       planned(chosen, voiced, fold_of, settings.babble_speakers, settings.seed), settings.seed)
    names = [c.name for c in heard]
    if names and voices:
        with compute.engine(compute.from_params(params.get("compute"))):
            found, failures = extract(degraded.features_under_conditions, chosen["take"].tolist(), job,
                                      (len(names), width), "conditions")
    else:
        found, failures = np.empty((len(chosen), len(names), width)), {}
    kept = np.setdiff1d(np.arange(len(chosen)), list(failures))
    index = pd.MultiIndex.from_product([chosen["take"].to_numpy()[kept], names], names=["take", "condition"])
    outputs.write_by_voice(found[kept].reshape(len(kept) * len(names), width), index, columns,
                           paths.condition_features)
    io.write_json({"conditions": names, "modalities": voices, "takes": int(len(kept)),
                   "speakers": int(chosen["speaker"].iloc[kept].nunique())}, paths.CONDITIONS / "conditions.json")
    for i, reason in failures.items():
        print(f"conditions: {chosen['audio_path'].iloc[i]}: {reason}")
    print(f"conditions: {len(kept)} takes of {chosen['speaker'].nunique()} speakers x {len(names)} conditions, "
          f"measured by {', '.join(voices) or 'no voice modality'}")


if __name__ == "__main__":
    entry.run(main)

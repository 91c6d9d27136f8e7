"""Stage `augment`: training copies of every voiced take, heard off the studio.

Usage: python -m pipeline.stages.augment
Reads data/manifest.parquet and the `augment` block: `copies` copies of each take with audio, each
through recording effects drawn from `augment.draw` (`extract.augment`, seeded by the clip's bytes),
measured by each voice modality of `run` made from audio files, with the settings its feature stage
uses. Writes features/augmented/<modality>.parquet (take, copy, the features) and augmented.json.
The models of `train.augmented`'s normalisations train on a take's copies wherever they train on the take
(`learn.dataset`); nothing scores them. Clips are cached by content (`extract.featurecache`): a
corpus added measures only its own clips.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import compute, entry, io, paths
from pipeline.extract import augment, extractors, outputs
from pipeline.extract.batch import extract


def main() -> None:
    params = io.load_params()
    settings = augment.Settings.from_params(params)
    voices = extractors.from_audio(params)
    made_with = [extractors.from_params(m, params) for m in voices]
    columns = {m: extractors.of(s).names(s) for m, s in zip(voices, made_with)}
    width = sum(map(len, columns.values()))
    takes = pd.read_parquet(paths.MANIFEST)
    voiced = takes[takes["audio_path"].notna()].sort_values("take").reset_index(drop=True)
    if settings.copies and voices and len(voiced):
        job = augment.Job(settings.copies, settings.seed, settings.draw, tuple(made_with))
        with compute.engine(compute.from_params(params.get("compute"))):
            found, failures = extract(augment.copies_of_clip, voiced["audio_path"].tolist(), job,
                                      (settings.copies, width), "augment", cached=True)
    else:
        found, failures = np.empty((len(voiced), settings.copies, width)), {}
    kept = np.setdiff1d(np.arange(len(voiced)), list(failures))
    index = pd.MultiIndex.from_product([voiced["take"].to_numpy()[kept], range(settings.copies)], names=["take", "copy"])
    outputs.write_by_voice(found[kept].reshape(len(kept) * settings.copies, width), index, columns,
                           paths.augmented_features)
    io.write_json({"copies": settings.copies, "modalities": voices, "takes": int(len(kept)),
                   "refused": {voiced["take"].iloc[i]: reason for i, reason in sorted(failures.items())}},
                  paths.AUGMENTED / "augmented.json")
    for i, reason in failures.items():
        print(f"augment: {voiced['audio_path'].iloc[i]}: {reason}")
    print(f"augment: {settings.copies} copies of {len(kept)} takes, measured by {', '.join(voices) or 'no voice modality'}")


if __name__ == "__main__":
    entry.run(main)

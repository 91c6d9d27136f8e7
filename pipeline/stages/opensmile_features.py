"""Stage `opensmile_features@<name>`: data/manifest.parquet -> features/<name>.parquet, one of
openSMILE's standard sets (`opensmile_features.<name>`) over every take with audio.

Usage: python -m pipeline.stages.opensmile_features [NAME]   (under `dvc repro`, NAME is the stage's item)
A clip that fails is reported in features/<name>_rejects.parquet and the others go on. The
modality trains, fuses and reports like `audio` (it is a voice). With `speed_copies`, each
clip's speed-perturbed copies go to features/<name>_copies.parquet: extra training rows
(`train` adds a training take's copies to every fit that trains on it, never tests on them).
"""

from __future__ import annotations

import argparse

import pandas as pd

from pipeline import compute, entry, io, paths
from pipeline.extract import smile
from pipeline.extract.outputs import extract_and_write


def main(name: str) -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    job = smile.job_from(name, params.get("opensmile_features") or {})
    takes = pd.read_parquet(paths.MANIFEST)
    copies = bool(job.speed_copies)
    features_of = smile.file_features_and_copies if copies else smile.file_features
    with compute.engine(where):
        extract_and_write(name, takes, "audio_path", features_of, job if copies else job.settings,
                          smile.feature_names(job.settings), speeds=job.speed_copies, made_with=job.settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m pipeline.stages.opensmile_features",
                                     description="Extract one of openSMILE's standard feature sets.")
    parser.add_argument("name", nargs="*", help="a key of opensmile_features in params.yaml (default: DVC_STAGE's)")
    entry.run(lambda: main(*entry.item(parser.parse_args().name, 1)))

"""Stage `opensmile_features@<name>`: data/manifest.parquet -> features/<name>.parquet, one of
openSMILE's standard sets (`opensmile_features.<name>`) over every take with audio.

Usage: python -m pipeline.stages.opensmile_features NAME
A clip that fails is reported in features/<name>_rejects.parquet and the others go on. The
modality trains, fuses and reports like `audio` (it is a voice). With `speed_copies`, each
clip's speed-perturbed copies go to features/<name>_copies.parquet: extra training rows
(`train` adds a training take's copies to every fit that trains on it, never tests on them).
"""

from __future__ import annotations

import argparse

import pandas as pd

from pipeline import checks, compute, io, paths
from pipeline.extract import smile
from pipeline.stages.features import extract_and_write


def settings_from(name: str, params: dict) -> smile.SmileSettings:
    """The SmileSettings of `opensmile_features.<name>`."""
    return job_from(name, params).settings


def job_from(name: str, params: dict) -> smile.WithCopies:
    """The SmileSettings of `opensmile_features.<name>` and the speeds of its training copies."""
    sets = params.get("opensmile_features") or {}
    if name not in sets:
        raise ValueError(f"opensmile_features has no set {name!r} (it has: {', '.join(sets) or 'none'})")
    block = sets[name]
    checks.only_known(f"opensmile_features.{name}", block, ["feature_set", "sample_rate", "speed_copies"])
    settings = smile.SmileSettings(name=name, feature_set=block.get("feature_set"), sample_rate=block.get("sample_rate"))
    speeds = block.get("speed_copies") or []
    if not isinstance(speeds, list):
        raise ValueError(f"opensmile_features.{name}.speed_copies: {speeds!r} is not allowed; it must be a list")
    return smile.WithCopies(settings, tuple(speeds))


def main(name: str) -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    job = job_from(name, params)
    takes = pd.read_parquet(paths.MANIFEST)
    copies = bool(job.speed_copies)
    features_of = smile.file_features_and_copies if copies else smile.file_features
    with compute.engine(where):
        extract_and_write(name, takes, "audio_path", features_of, job if copies else job.settings,
                          smile.feature_names(job.settings), speeds=job.speed_copies)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m pipeline.stages.opensmile_features",
                                     description="Extract one of openSMILE's standard feature sets.")
    parser.add_argument("name", help="a key of opensmile_features in params.yaml")
    main(parser.parse_args().name)

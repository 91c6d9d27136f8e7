"""Stage `opensmile_features@<name>`: data/manifest.parquet -> features/<name>.parquet, one of
openSMILE's standard sets (`opensmile_features.<name>`) over every take with audio.

Usage: python -m pipeline.stages.opensmile_features NAME
A clip that fails is reported in features/<name>_rejects.parquet and the others go on. The
modality trains, fuses and reports like `audio` (it is a voice).
"""

from __future__ import annotations

import argparse

import pandas as pd

from pipeline import checks, compute, io, paths
from pipeline.extract import smile
from pipeline.stages.features import extract_and_write


def settings_from(name: str, params: dict) -> smile.SmileSettings:
    """The SmileSettings of `opensmile_features.<name>`."""
    sets = params.get("opensmile_features") or {}
    if name not in sets:
        raise ValueError(f"opensmile_features has no set {name!r} (it has: {', '.join(sets) or 'none'})")
    checks.only_known(f"opensmile_features.{name}", sets[name], ["feature_set", "sample_rate"])
    return smile.SmileSettings(name=name, feature_set=sets[name].get("feature_set"),
                               sample_rate=sets[name].get("sample_rate"))


def main(name: str) -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    settings = settings_from(name, params)
    takes = pd.read_parquet(paths.MANIFEST)
    with compute.engine(where):
        extract_and_write(name, takes, "audio_path", smile.file_features, settings, smile.feature_names(settings))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m pipeline.stages.opensmile_features",
                                     description="Extract one of openSMILE's standard feature sets.")
    parser.add_argument("name", help="a key of opensmile_features in params.yaml")
    main(parser.parse_args().name)

"""Stage `fingerprints`: data/manifest.parquet -> models/fingerprints.parquet, an audio fingerprint
of every take with a voice (`extract.fingerprint`).

Usage: python -m pipeline.stages.fingerprints
`evaluate` and `predict` hold a clip against them: a training take resampled, compressed or
dithered and renamed as a new speaker's is still the training take (its content hash no longer
says so). A take whose audio cannot be read again is left out and named.
"""

from __future__ import annotations

import pandas as pd
from joblib import Parallel, delayed

from pipeline import compute, entry, io, paths, progress
from pipeline.errors import ClipError
from pipeline.extract import fingerprint


def _print_of(address: str) -> fingerprint.Fingerprint | str:
    try:
        return fingerprint.of_file(address)
    except ClipError as error:
        return str(error)


def main() -> None:
    params = io.load_params()
    takes = pd.read_parquet(paths.MANIFEST, columns=["corpus", "take", "audio_path"]).dropna(subset=["audio_path"])
    with compute.engine(compute.from_params(params.get("compute"))):
        found = list(progress.bar(Parallel(return_as="generator")(delayed(_print_of)(a) for a in takes["audio_path"]),
                                  total=len(takes), desc="fingerprints", unit="take", disable=takes.empty))
    for address, failure in zip(takes["audio_path"], found):
        if isinstance(failure, str):
            print(f"fingerprints: {address}: {failure}: left out")
    kept = [i for i, f in enumerate(found) if not isinstance(f, str)]
    table = fingerprint.to_frame(takes.iloc[kept][["corpus", "take"]].reset_index(drop=True), [found[i] for i in kept])
    io.write_parquet(table, paths.FINGERPRINTS)
    print(f"fingerprints: {len(table)} takes")


if __name__ == "__main__":
    entry.run(main)

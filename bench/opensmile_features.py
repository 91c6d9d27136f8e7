"""Benchmark: the extra cost of openSMILE's feature sets per take, against the own audio features.

The own features (530 columns), openSMILE ComParE_2016 (6,373), eGeMAPSv02 (88) and IS10 (1,582),
and IS10 with the two speed-perturbed training copies of each take the default run makes
(`speed_copies: [0.9, 1.1]`), each run in their own process through the stages' batch runner (2
worker processes) on the same clips at 16 kHz; printed: wall time per take, peak memory of the
process tree, and each set's ratio to the own features measured in the same run.

Usage: python bench/opensmile_features.py [ROOT] [--limit N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import process  # bench/process.py: this script's folder is on sys.path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SETS = {"compare": "ComParE_2016", "egemaps": "eGeMAPSv02", "is10": "IS10"}
COPIES = (0.9, 1.1)
VARIANTS = ["own", *SETS, "is10+copies"]


def clips(root: str, limit: int | None) -> list[str]:
    found = sorted(str(p) for p in Path(root).rglob("*") if p.suffix.lower() in {".wav", ".flac"})
    return found[:: max(1, len(found) // limit)][:limit] if limit else found  # spread over actors and channels


def extract_all(variant: str, paths: list[str]) -> tuple[int, int]:
    from pipeline import compute
    from pipeline.extract import audio, smile
    from pipeline.extract.batch import extract

    if variant == "own":
        settings, features_of, names = audio.AudioSettings(), audio.file_features, audio.feature_names(audio.AudioSettings())
    else:
        settings = smile.SmileSettings(name=variant, feature_set=SETS[variant.removesuffix("+copies")], sample_rate=16000)
        features_of, names = smile.file_features, smile.feature_names(settings)
    shape = len(names)
    if variant.endswith("+copies"):
        settings, features_of, shape = smile.WithCopies(settings, COPIES), smile.file_features_and_copies, (3, len(names))
    with compute.engine(compute.Compute(n_jobs=2)):
        matrix, failures = extract(features_of, paths, settings, shape, variant)
    assert not failures, failures
    return matrix.shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=str(REPO.parent / "shared/data/ravdess"))
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--variant", choices=VARIANTS)
    args = parser.parse_args()
    paths = clips(args.root, args.limit)
    if args.variant:  # inside a child process: the work, best of a few runs (the machine is shared)
        times, shape = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            shape = extract_all(args.variant, paths)
            times.append(time.perf_counter() - started)
        print(json.dumps({"seconds": min(times), "shape": list(shape)}))
        return
    print(f"{len(paths)} clips under {args.root}; {os.cpu_count()} cores; 2 worker processes each")
    results = {}
    for variant in VARIANTS:
        command = [sys.executable, __file__, args.root, "--variant", variant, "--limit", str(args.limit),
                   "--repeat", str(args.repeat)]
        measured = process.run(command)
        if measured.returncode:
            raise SystemExit(f"{variant} failed")
        results[variant] = {**json.loads(measured.stdout.strip().splitlines()[-1]), "peak_mb": measured.peak_mb}
    own = results["own"]
    for variant, r in results.items():
        per_take = 1000 * r["seconds"] / len(paths)
        print(f"{variant:>12}: {r['shape'][-1]:5d} columns, {per_take:6.1f} ms per take (wall, best of {args.repeat}), "
              f"peak {r['peak_mb']:5.0f} MB; x{r['seconds'] / own['seconds']:.2f} the own features' time, "
              f"x{r['peak_mb'] / own['peak_mb']:.2f} their memory")


if __name__ == "__main__":
    main()

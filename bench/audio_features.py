"""Benchmark: the project's audio feature extraction vs a naive per-file librosa loop.

Both read every clip under the RAVDESS root (default ../shared/data/ravdess), resample to
16 kHz and compute MFCC + delta + delta-delta + RMS statistics with the same settings; the
project also runs with its full descriptor set. Each variant runs in its own process so
that its peak memory (the process and all its workers, sampled from /proc) is its own.

The comparison runs twice: on the clips as stored (the shared copy is FLAC, whose decoding
is a floor both sides pay), and on the same samples written once as 16-bit WAV in a
temporary folder, the format the corpus itself distributes.

Usage: python bench/audio_features.py [ROOT] [--limit N] [--formats flac wav]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import process  # bench/process.py: this script's folder is on sys.path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAME_AS_REFERENCE = {"descriptors": ["mfcc", "delta", "delta2", "rms"], "trim_top_db": 200.0}
STATISTICS = ("mean", "std", "min", "max", "p10", "p50", "p90")


def clips(root: str, limit: int | None) -> list[str]:
    found = sorted(str(p) for p in Path(root).rglob("*") if p.suffix.lower() in {".wav", ".flac"})
    return found[:limit] if limit else found


def as_wav(paths: list[str], root: str, directory: Path) -> Path:
    """The same samples as 16-bit WAV under `directory`, in the same folder layout."""
    import soundfile

    for path in paths:
        samples, rate = soundfile.read(path, dtype="int16", always_2d=True)
        target = directory / Path(path).relative_to(root).with_suffix(".wav")
        target.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(target, samples, rate, subtype="PCM_16")
    return directory


def reference(paths: list[str]) -> np.ndarray:
    """The naive loop: librosa.load + librosa.feature per file, then NumPy statistics."""
    import librosa

    rows = []
    for path in paths:
        y, sr = librosa.load(path, sr=16000, mono=True)
        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, n_fft=512, hop_length=160, n_mels=40, fmax=8000)
        d1 = librosa.feature.delta(mfcc, order=1)
        d2 = librosa.feature.delta(mfcc, order=2)
        rms = librosa.feature.rms(y=y, frame_length=512, hop_length=160)
        lld = np.vstack([mfcc, d1, d2, 20 * np.log10(np.maximum(rms, 1e-10))]).T
        rows.append(np.concatenate([
            lld.mean(0), lld.std(0), lld.min(0), lld.max(0), *np.percentile(lld, [10, 50, 90], axis=0)
        ]))
    return np.array(rows)


def project(paths: list[str], full: bool) -> np.ndarray:
    from pipeline import compute
    from pipeline.extract import audio
    from pipeline.extract.batch import extract

    settings = audio.AudioSettings(functionals=STATISTICS) if full else audio.AudioSettings(
        descriptors=tuple(SAME_AS_REFERENCE["descriptors"]), trim_top_db=SAME_AS_REFERENCE["trim_top_db"],
        functionals=STATISTICS,
    )
    with compute.engine(compute.Compute(n_jobs=2)):
        matrix, failures = extract(audio.file_features, paths, settings, len(audio.feature_names(settings)), "project")
    assert not failures, failures
    return matrix


def measure(variant: str, root: str, limit: int | None, repeat: int) -> dict[str, float]:
    """Run one variant in a child process: its timings and the peak memory of its process tree."""
    command = [sys.executable, __file__, root, "--variant", variant, "--repeat", str(repeat)]
    command += ["--limit", str(limit)] if limit else []
    measured = process.run(command)
    if measured.returncode:
        raise SystemExit(f"{variant} failed")
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    return {**result, "peak_mb": measured.peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=str(REPO.parent / "shared/data/ravdess"))
    parser.add_argument("--limit", type=int)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--formats", nargs="+", choices=["flac", "wav"], default=["flac", "wav"])
    parser.add_argument("--variant", choices=["reference", "project-same", "project-full"])
    args = parser.parse_args()
    paths = clips(args.root, args.limit)
    if args.variant:  # inside a child process: do the work, print what it took
        if args.variant == "reference":
            reference(paths[:1])  # numba JIT warm-up, timed apart so the loop itself is compared
        times = []
        for _ in range(args.repeat):  # the machine is shared: the best of a few runs is the steadiest
            started = time.perf_counter()
            matrix = reference(paths) if args.variant == "reference" else project(paths, args.variant == "project-full")
            times.append(time.perf_counter() - started)
        print(json.dumps({"compute_s": min(times), "first_s": times[0], "shape": list(matrix.shape)}))
        return
    print(f"{len(paths)} clips under {args.root}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-wav-") as scratch:
        for file_format in args.formats:
            root = args.root if file_format == "flac" else str(as_wav(paths, args.root, Path(scratch)))
            print(f"-- clips as {file_format.upper()} ({'as stored' if file_format == 'flac' else 'written once, untimed'})")
            report({v: measure(v, root, args.limit, args.repeat) for v in ("reference", "project-same", "project-full")},
                   args.repeat)


def report(results: dict[str, dict[str, float]], repeat: int) -> None:
    for variant, r in results.items():
        print(f"{variant:>13}: best {r['compute_s']:6.1f} s, first run {r['first_s']:6.1f} s "
              f"(of {repeat}), peak {r['peak_mb']:5.0f} MB (process tree), features {r['shape']}")
    reference_s, reference_first = results["reference"]["compute_s"], results["reference"]["first_s"]
    for variant in ("project-same", "project-full"):
        r = results[variant]
        print(f"speed-up {variant} vs naive librosa loop: {reference_s / r['compute_s']:.2f}x best-of, "
              f"{reference_first / r['first_s']:.2f}x first run (worker start-up included)")


if __name__ == "__main__":
    main()

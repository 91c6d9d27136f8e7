"""Benchmark: how long `python -m pipeline.apply.predict` takes for one clip, model loading included.

Each command runs in a fresh process, as a user would run it, from the project root with the
models `dvc repro` trained. The reference, measured in the same run, is the start-up floor
any invocation pays: the interpreter and predict's imports (`--help` no longer pays them). One audio
clip and one video with a voice and a face are timed; a batch of audio clips gives the cost
of each further clip once the models are loaded.

Usage: python bench/predict_latency.py [--audio FILE] [--video FILE] [--batch N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import process  # bench/process.py: this script's folder is on sys.path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SPEECH = DATA / "ravdess" / "Audio_Speech_Actors_01-24" / "Actor_20"


def best_of(arguments: list[str], repeat: int) -> process.Measured:
    """The fastest of `repeat` fresh runs of `python -m pipeline.apply.predict ARGUMENTS` (the machine is shared)."""
    runs = []
    for _ in range(repeat):
        measured = process.run([sys.executable, "-m", "pipeline.apply.predict", *arguments], cwd=str(REPO))
        if measured.returncode:
            raise SystemExit(f"predict {' '.join(arguments)} exited {measured.returncode}")
        runs.append(measured)
    return min(runs, key=lambda m: m.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", default=str(SPEECH / "03-01-05-02-01-01-20.flac"))
    parser.add_argument("--video", default=str(DATA / "faces" / "cremad" / "1001_DFA_ANG_XX.flv"))
    parser.add_argument("--batch", type=int, default=20, help="audio clips in the batch run")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    batch = sorted(str(p) for p in SPEECH.glob("*.flac"))[: args.batch]
    print(f"{os.cpu_count()} cores; best of {args.repeat} fresh processes each")
    floor = min((process.run([sys.executable, "-c", "import pipeline.apply.predict"], cwd=str(REPO))
                 for _ in range(args.repeat)), key=lambda m: m.seconds)
    print(f"start-up floor (interpreter + predict's imports): {floor.seconds:5.2f} s, {floor.peak_mb:4.0f} MB")
    runs = {"one audio clip": best_of([args.audio], args.repeat),
            "one video (voice + face)": best_of([args.video], args.repeat),
            f"{len(batch)} audio clips": best_of(batch, args.repeat)}
    for label, measured in runs.items():
        print(f"{label:>26}: {measured.seconds:5.2f} s wall, peak {measured.peak_mb:4.0f} MB, "
              f"{measured.seconds / floor.seconds:4.1f}x the start-up floor")
    one, many = runs["one audio clip"], runs[f"{len(batch)} audio clips"]
    print(f"each further audio clip once the models are loaded: {(many.seconds - one.seconds) / (len(batch) - 1):.2f} s; "
          f"model loading + first clip above the floor: {one.seconds - floor.seconds:.2f} s")


if __name__ == "__main__":
    main()

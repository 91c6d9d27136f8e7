"""Benchmark: memory of `avemotion predict` on long clips, against one RAVDESS take in the same run.

A 10-minute WAV (real RAVDESS speech repeated) is predicted with `--max-seconds 900`: decoded and
scored whole. A 2-hour WAV (the header of 691 MB of 16-bit 48 kHz audio, a sparse file on disk)
is refused from its header under the default `predict.max_seconds` (it used to be decoded whole:
21 GB resident before it was killed). Each runs in a fresh process from the project root with
the models `dvc repro` trained; peak memory is the process tree's.

Usage: python bench/long_clip.py [--scratch DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

import process  # bench/process.py: this script's folder is on sys.path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import write_sparse_wav  # noqa: E402  (the tests' long-clip maker)

TAKE = REPO.parent / "shared" / "data" / "ravdess" / "Audio_Speech_Actors_01-24" / "Actor_20" / "03-01-05-02-01-01-20.flac"


def ten_minutes(path: Path) -> Path:
    speech, rate = soundfile.read(TAKE, dtype="float32")
    soundfile.write(path, np.tile(speech, -(-600 * rate // len(speech)))[: 600 * rate], rate)
    return path


def predict(*arguments: str) -> process.Measured:
    return process.run([sys.executable, "-m", "pipeline.apply.predict", *arguments], cwd=str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", default=tempfile.gettempdir())
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(dir=args.scratch))
    reference = predict(str(TAKE))
    print(f"reference, one {soundfile.info(TAKE).duration:.1f} s RAVDESS take: {reference.seconds:.2f} s, "
          f"{reference.peak_mb:.0f} MB")
    for label, measured in (("10-minute WAV, --max-seconds 900", predict(str(ten_minutes(scratch / "ten.wav")),
                                                                         "--max-seconds", "900")),
                            ("2-hour WAV (691 MB), default limit", predict(str(write_sparse_wav(scratch / "two.wav", 2 * 3600))))):
        said = [line.strip() for line in measured.stdout.splitlines()[1:]]
        print(f"{label:>36}: {measured.seconds:6.2f} s, {measured.peak_mb:5.0f} MB "
              f"({measured.peak_mb / reference.peak_mb:.2f}x the reference), exit {measured.returncode}: {said[0][:60]}"
              + (f" / {said[1][:90]}" if len(said) > 1 else ""))


if __name__ == "__main__":
    main()

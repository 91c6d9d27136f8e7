"""Benchmark: how soon the `avemotion` command answers help and usage errors.

Each command runs in a fresh process, best of N. The reference, measured in the same run, is what
the command cost before its arguments were parsed ahead of the heavy imports: importing the
command modules (NumPy, SciPy, pandas, scikit-learn, OpenCV, dlib, matplotlib), which every
`avemotion --help` and every mistyped subcommand paid. The floor is the bare interpreter.

Usage: python bench/cli_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import process  # bench/process.py: this script's folder is on sys.path

REPO = Path(__file__).resolve().parents[1]
COMMAND = str(Path(sys.executable).parent / "avemotion")


def best_of(command: list[str], repeat: int) -> process.Measured:
    return min((process.run(command, cwd=str(REPO)) for _ in range(repeat)), key=lambda m: m.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    reference = best_of([sys.executable, "-c", "import pipeline.apply.predict, pipeline.apply.evaluate, "
                                               "pipeline.apply.info"], args.repeat)
    floor = best_of([sys.executable, "-c", "pass"], args.repeat)
    print(f"best of {args.repeat} fresh processes; reference (the command modules imported): "
          f"{reference.seconds:.2f} s, {reference.peak_mb:.0f} MB; bare interpreter {floor.seconds:.2f} s")
    for label, command in (("avemotion --help", [COMMAND, "--help"]), ("avemotion trian (a typo)", [COMMAND, "trian"]),
                           ("avemotion predict --help", [COMMAND, "predict", "--help"]),
                           ("avemotion --version", [COMMAND, "--version"])):
        measured = best_of(command, args.repeat)
        print(f"{label:>26}: {measured.seconds:5.2f} s, {measured.peak_mb:4.0f} MB, "
              f"ratio {measured.seconds / reference.seconds:.2f} of the reference")


if __name__ == "__main__":
    main()

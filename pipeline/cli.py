"""The `avemotion` command: what users do outside DVC, one subcommand each.

  avemotion predict CLIP...   label your own clips (python -m pipeline.apply.predict)
  avemotion evaluate ROOT     score the models on labelled takes they never saw (python -m pipeline.apply.evaluate)
  avemotion info              what the trained models are, what they were trained on, how well they did

`dvc repro` stays the way to train: these commands only read what it left in models/.

Every command's arguments are parsed here, before NumPy, OpenCV or scikit-learn are imported: help
and usage errors answer at once; the command's module is imported only to do the work.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from importlib import metadata

from pipeline.ingest.corpora import registry


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def positive_seconds(text: str) -> float:
    """argparse type: a length in seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def name_and_source(text: str) -> tuple[str, str]:
    """argparse type of --features: NAME=PATH, both given (an empty PATH would mean the project folder)."""
    name, equals, path = text.partition("=")
    if not (name and equals and path):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=PATH, e.g. au=openface/au_clip_means.csv")
    return name, path


def _features_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--features", action="append", default=[], metavar="NAME=PATH", type=name_and_source,
                        help=f"{what} measurements for external_features modality NAME: a table or a folder of "
                             "OpenFace per-frame CSVs (repeatable)")


def predict_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Predict the emotion of your own clips: one line per clip, the deployed answer first.",
        epilog="Exit codes: 0 every clip got a prediction; 1 some clip got none (unreadable, silent, too long, no face "
               "and no voice); 2 nothing could be predicted (missing or stale models, bad arguments or settings). A "
               "warning (a clip's features far outside every training take's) leaves the prediction and exit code as "
               "they are.",
    )
    parser.add_argument("paths", nargs="+", help="audio, video or image files, or folders of them")
    _features_option(parser, "the clips'")
    parser.add_argument("--max-seconds", type=positive_seconds, metavar="S",
                        help="refuse clips longer than this, unread (default: predict.max_seconds in params.yaml)")
    parser.add_argument("--speaker", metavar="NAME",
                        help="the clips are all this one speaker's: the speaker-normalised models decide, from the "
                             "statistics of all of them (refused with fewer clips than that needs to help; "
                             "reports/report.md, adaptation)")
    parser.add_argument("--json", action="store_true", help="one JSON object per clip and line, as each finishes")
    return parser


def evaluate_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Score the trained models on labelled takes they never saw.",
        epilog="Exit codes: 0 scored and written; 1 scored, but the report could not be written (the figures are "
               "printed); 2 nothing could be scored (missing or stale models, no such path, no takes of the corpus, "
               "only takes the models were trained on, --out not writable).",
    )
    parser.add_argument("root", help="a folder or zip archive of the corpus, or a table of your own clips (.csv, "
                                     ".tsv, .parquet: file, speaker, emotion; a fetch.tables entry's settings apply)")
    parser.add_argument("--corpus", default="ravdess", choices=list(registry.ADAPTERS),
                        help="how the file names under ROOT encode speaker and emotion (not used for a table; "
                             "default: %(default)s)")
    parser.add_argument("--out", default="evaluation",
                        help="folder for evaluation.md (the verdict), models.md (each model), evaluation.json and "
                             "the figures, replaced whole when the run ends, outside the folders DVC owns "
                             "(default: %(default)s)")
    parser.add_argument("--jobs", default=2, type=positive_int, help="worker processes (default: %(default)s)")
    _features_option(parser, "the takes'")
    return parser


def info_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="What the trained models are and how well they did.",
                                     epilog="Exit codes: 0 every model of params.yaml's `run` is trained; "
                                            "1 some are missing; 2 no project here, or its params.yaml is refused.")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    return parser


# name -> (its parser, the module whose `run(args)` does the work, what it does)
COMMANDS: dict[str, tuple[Callable[[str], argparse.ArgumentParser], str, str]] = {
    "predict": (predict_parser, "pipeline.apply.predict", "label your own clips (audio, video, images)"),
    "evaluate": (evaluate_parser, "pipeline.apply.evaluate", "score the models on labelled takes they never saw"),
    "info": (info_parser, "pipeline.apply.info", "what the trained models are, what they were trained on, how well "
                                                 "they did"),
}


def run_command(command: str, argv: list[str], prog: str) -> int:
    """Parse `argv` for `command`, then import its module and run it; a reader that stops early
    (`| head`) ends the output quietly."""
    make_parser, module, _ = COMMANDS[command]
    args = make_parser(prog).parse_args(argv)
    try:
        return importlib.import_module(module).run(args)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 1


def version() -> str:
    try:
        return metadata.version("avemotion")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="avemotion", description="Emotion from voice and face with the models `dvc repro` trained. "
                                      "Run from the project root (params.yaml, models/).",
        epilog="Commands:\n" + "\n".join(f"  {name:9s} {text}" for name, (_, _, text) in COMMANDS.items())
               + "\n\n`avemotion COMMAND --help` for each command's options and exit codes.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"avemotion {version()}")
    parser.add_argument("command", choices=COMMANDS, help="what to do")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the command's own arguments")
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:  # the rest verbatim: `--` before a clip named `-x.flac` reaches the command
        return run_command(argv[0], argv[1:], f"avemotion {argv[0]}")
    args = parser.parse_args(argv)
    return run_command(args.command, args.arguments, f"avemotion {args.command}")


if __name__ == "__main__":
    sys.exit(main())

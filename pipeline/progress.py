"""Progress bars that stay readable in a log.

On a terminal, tqdm's bar redraws itself in place. Written to a file (a CI log, `dvc repro >
run.log`) those redraws are carriage returns, and a long stage becomes one line of thousands of
bars; there the bar is written as a plain line at most every LOG_EVERY_S seconds, and at the end.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from tqdm import tqdm

LOG_EVERY_S = 30.0


class _Lines(io.TextIOBase):
    """A stream that writes each of tqdm's redraws as one whole line."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            self.out.write(line + "\n")
            self.out.flush()
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def bar(iterable: Any = None, **options: Any) -> tqdm:
    """tqdm(iterable, **options) on a terminal; elsewhere, its states as lines, LOG_EVERY_S apart."""
    stream = options.pop("file", None) or sys.stderr
    if stream.isatty():
        return tqdm(iterable, file=stream, **options)
    return tqdm(iterable, file=_Lines(stream), mininterval=LOG_EVERY_S, ascii=True, **options)

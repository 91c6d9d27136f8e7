"""How the report writes numbers and tables: percentages, intervals, p-values, Markdown tables.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.report import intervals


def pct(value: float) -> str:
    return "–" if value is None or np.isnan(value) else f"{100 * value:.1f}%"


def table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (index included when it is named)."""
    if frame.index.name is not None:
        frame = frame.reset_index()
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def ci(estimate: intervals.Estimate) -> str:
    return f"[{pct(estimate.low)}, {pct(estimate.high)}]"


def difference(found: dict[str, intervals.Difference]) -> dict[str, str]:
    """A paired comparison's cells: each figure's difference in points, its interval and p."""
    def p(value: float) -> str:  # no resample on the other side of zero: below the bootstrap's resolution
        return f"p < {2 / intervals.N_BOOT:.3g}" if value == 0 else f"p = {value:.3g}"

    return {f"{label} difference": f"{100 * d.value:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}], {p(d.p)}"
            for label, d in (("accuracy", found["accuracy"]), ("UAR", found["uar"]))}


def params_text(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k.removeprefix('clf__')}={v:.3g}" if isinstance(v, float) else f"{k.removeprefix('clf__')}={v}"
        for k, v in params.items()
    )


def member(stem: str) -> str:
    """`models/learners/audio/svm-none` -> `audio/svm-none`."""
    return str(Path(stem).relative_to("models/learners"))


def spread(counts: pd.Series) -> str:
    """A count per speaker as its range and median (a corpus may have a hundred speakers)."""
    if counts.min() == counts.max():
        return f"{counts.min()} each"
    return f"{counts.min()}-{counts.max()} (median {counts.median():g})"


WIDTH = 100


def wrapped(markdown: str, width: int = WIDTH) -> str:
    """Prose lines wrapped at `width` (a paragraph's line breaks render as spaces); tables, headings,
    images and blank lines as they are, a bullet's continuation indented under it."""
    out = []
    for line in markdown.splitlines():
        if len(line) <= width or line.startswith(("|", "#", "!")):
            out.append(line)
            continue
        indent = "  " if line.startswith("- ") else ""
        out += textwrap.wrap(line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    return "\n".join(out)

"""The rejects table: every file a stage could not use, or used with a caveat, with the reason
and what became of it (rejected, dropped, kept)."""

from __future__ import annotations

import sys

import pandas as pd

COLUMNS = ["path", "reason", "outcome"]


def reject(path: str, reason: str, outcome: str = "rejected") -> dict[str, str]:
    """One row of a rejects table: the file, why, and what became of it."""
    return {"path": path, "reason": reason, "outcome": outcome}


def table(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Rows from `reject` as a table (with its columns even when empty)."""
    return pd.DataFrame(rows, columns=COLUMNS)


def printed(rejects: pd.DataFrame) -> None:
    """Name every rejected or caveated file on stderr as the stage runs."""
    for row in rejects.itertuples():
        print(f"{row.outcome}: {row.path}: {row.reason}", file=sys.stderr)

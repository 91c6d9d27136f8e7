"""Atomic stage outputs: whole or absent, and readable by whoever may read the checkout."""

import os
import stat

import pandas as pd
import pytest

from pipeline import io


def test_outputs_get_the_usual_file_mode_not_the_temporary_files_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        io.write_parquet(pd.DataFrame({"take": ["a"]}), tmp_path / "table.parquet")
        io.write_json({"a": 1}, tmp_path / "out" / "figures.json")
    finally:
        os.umask(previous)
    for path in (tmp_path / "table.parquet", tmp_path / "out" / "figures.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "table.parquet"

    def fail(_):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        io._write(target, fail)
    assert list(tmp_path.iterdir()) == []

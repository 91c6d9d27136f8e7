"""Atomic writes: a stage's outputs appear whole or not at all (temporary file, then rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import yaml


@contextmanager
def _atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the body succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600: readable by its owner only
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(path: str | Path, writer: Callable[[Path], None]) -> None:
    with _atomic_path(path) as temporary:
        writer(temporary)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    _write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_json(data: Any, path: str | Path) -> None:
    _write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def write_text(text: str, path: str | Path) -> None:
    _write(path, lambda tmp: tmp.write_text(text))


def write_joblib(obj: Any, path: str | Path) -> None:
    _write(path, lambda tmp: joblib.dump(obj, tmp, compress=3))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The whole params.yaml; stage entry points take their own block from it."""
    with open(path) as handle:
        return yaml.safe_load(handle)

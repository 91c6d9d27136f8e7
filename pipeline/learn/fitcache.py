"""A content-addressed cache of scored fits: an experiment that keeps most of a search (one more
random candidate, a grid refined, one range widened) pays only for the fits it changes.

A fit's key is everything its result depends on: the learn package's code and the library
versions, the learner, its fixed settings, the candidate, the seed, the scoring, the exact
training rows, labels and test rows. Its value is what the fit returned (score, outputs on the
test rows, fit seconds), so a hit changes no result. The folder (`.fitcache/` in the project,
git-ignored; `AVEMOTION_FIT_CACHE` names another, `off` turns it off) can be removed at any time.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ENV = "AVEMOTION_FIT_CACHE"
DEFAULT = Path(".fitcache")
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "xgboost-cpu", "joblib")


def folder() -> Path | None:
    """Where this run caches its fits (None: not at all)."""
    where = os.environ.get(ENV, str(DEFAULT))
    return None if where == "off" else Path(where)


@lru_cache(maxsize=1)
def _code() -> str:
    """The learn package's source and the libraries' versions: a change to either misses every key."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none".encode())
    return digest.hexdigest()


def split_key(setting: tuple, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> str:
    """The part of a key one split's candidates share: `setting` (learner, fixed settings, seed,
    scoring, classes) and the exact rows."""
    digest = hashlib.blake2b(_code().encode(), digest_size=16)
    digest.update(repr(setting).encode())
    for array in (X_train, y_train, X_test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def key(split: str, point: dict[str, Any]) -> str:
    return hashlib.blake2b(f"{split}{sorted(point.items())!r}".encode(), digest_size=16).hexdigest()


def load(where: Path | None, name: str) -> tuple[float, float, np.ndarray] | None:
    """(score, fit seconds, outputs) of a cached fit, or None (no cache, a miss, an unreadable entry)."""
    if where is None:
        return None
    try:
        with np.load(where / name[:2] / f"{name}.npz") as saved:
            return float(saved["score"]), float(saved["fit_s"]), saved["outputs"]
    except (OSError, ValueError, KeyError):
        return None


def store(where: Path | None, name: str, score: float, fit_s: float, outputs: np.ndarray) -> None:
    """Keep one fit (written whole or not at all: parallel tasks may store at once)."""
    if where is None:
        return
    path = where / name[:2] / f"{name}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp.npz")
    try:
        np.savez(temporary, score=score, fit_s=fit_s, outputs=outputs)
        os.replace(temporary, path)
    except OSError:  # a full disk or a read-only folder costs the speed-up, never the run
        temporary.unlink(missing_ok=True)

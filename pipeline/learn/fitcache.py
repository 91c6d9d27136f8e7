"""A content-addressed cache of fits: an experiment that keeps most of a search (one more random
candidate, a grid refined, one range widened) pays only for the fits it changes, and a fold whose
search chose the same point again is not refit.

A fit's key is everything its result depends on: the code a fit runs (`search` and the modules
it imports) and the library versions, the learner, its fixed settings, the candidate, the seed, the exact training rows and
labels, and for a scored search fit the scoring and the test rows. A search fit keeps what it
returned (score, outputs on the test rows, fit seconds); a refit keeps the fitted model and its
fit seconds (the importance stage permutes the very models `train` refit). A hit changes no result. The folder (`.fitcache/` in the project,
git-ignored; `AVEMOTION_FIT_CACHE` names another, `off` turns it off) can be removed at any time.
"""

from __future__ import annotations

import hashlib
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from pipeline import contentcache

ENV = "AVEMOTION_FIT_CACHE"
DEFAULT = Path(".fitcache")
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "xgboost-cpu", "joblib")


def folder() -> Path | None:
    """Where this run caches its fits (None: not at all)."""
    return contentcache.folder(ENV, DEFAULT)


@lru_cache(maxsize=1)
def _code() -> str:
    """The source of the modules a fit runs and the libraries' versions."""
    return contentcache.code_digest(contentcache.imported_sources("pipeline.learn.search"), _LIBRARIES)


def split_key(setting: tuple, *arrays: np.ndarray) -> str:
    """The part of a key one split's candidates share: `setting` (learner, fixed settings, seed,
    scoring, classes) and the exact rows (training rows, labels, and test rows where scored)."""
    digest = hashlib.blake2b(_code().encode(), digest_size=16)
    digest.update(repr(setting).encode())
    for array in arrays:
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
        with np.load(contentcache.entry(where, name, ".npz")) as saved:
            return float(saved["score"]), float(saved["fit_s"]), saved["outputs"]
    except (OSError, ValueError, KeyError):
        return None


def store(where: Path | None, name: str, score: float, fit_s: float, outputs: np.ndarray) -> None:
    """Keep one scored search fit."""
    if where is not None:
        contentcache.write_whole(contentcache.entry(where, name, ".npz"),
                                 lambda path: np.savez(path, score=score, fit_s=fit_s, outputs=outputs))


def load_model(where: Path | None, name: str) -> tuple[Any, float] | None:
    """(fitted model, fit seconds) of a cached refit, or None."""
    if where is None:
        return None
    try:
        model, fit_s = joblib.load(contentcache.entry(where, name, ".joblib"))
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        return None
    return model, float(fit_s)


def store_model(where: Path | None, name: str, model: Any, fit_s: float) -> None:
    """Keep one refit model."""
    if where is not None:
        contentcache.write_whole(contentcache.entry(where, name, ".joblib"), lambda path: joblib.dump((model, fit_s), path))

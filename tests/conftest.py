"""Shared fixtures: real RAVDESS audio from ../shared/data, cut into small clips under tmp."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba-cache"))  # librosa's JIT, compiled once
SHARED = REPO.parent / "shared" / "data"
RAVDESS = SHARED / "ravdess"
SPEECH = RAVDESS / "Audio_Speech_Actors_01-24"


def real_take(actor: int, name: str) -> Path:
    """Path of a real RAVDESS speech take, e.g. real_take(1, '03-01-05-02-01-01-01')."""
    return SPEECH / f"Actor_{actor:02d}" / f"{name}.flac"


def write_clip(path: Path, source: Path, seconds: float = 1.5, rate: int | None = None, stereo: bool = False) -> Path:
    """Write a cut of a real clip (optionally resampled or made stereo) to `path` (wav or flac)."""
    samples, source_rate = soundfile.read(source, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    start = int(0.8 * source_rate)  # skip the leading silence of RAVDESS takes
    mono = mono[start : start + int(seconds * source_rate)]
    if rate is not None and rate != source_rate:
        from scipy.signal import resample_poly

        mono = resample_poly(mono, rate, source_rate).astype(np.float32)
    out = np.column_stack([mono, 0.5 * mono]) if stereo else mono
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, out, rate or source_rate)
    return path


@pytest.fixture
def angry_take() -> Path:
    return real_take(1, "03-01-05-02-01-01-01")

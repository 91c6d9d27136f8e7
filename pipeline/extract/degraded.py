"""The voice features of a take heard under each recording condition (`conditions`): decoded once,
degraded once per condition, measured by every voice extractor from the same degraded signal.

Babble noise is other speakers' speech: takes of speakers trained on where this take is tested
(never its own speaker, never another test speaker of its fold), summed at equal power. Each
condition's noise and room come from a generator seeded by (seed, take, condition), so the result
does not depend on which worker measured what.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.errors import ClipError
from pipeline.extract import audio, conditions, extractors

RATE = 16000  # what the voice extractors hear (they resample to their own settings' rate)


@dataclass(frozen=True)
class Planned:
    """One take to measure: its audio, the other speakers' takes its babble is made of, its index."""

    path: str
    babble: tuple[str, ...]
    index: int


@dataclass(frozen=True)
class Job:
    conditions: tuple[conditions.Condition, ...]
    settings: tuple[object, ...]  # each voice modality's extractor settings, in column order
    takes: dict[str, Planned]
    seed: int


def mono(path: str) -> np.ndarray:
    decoded = audio.decode(path)
    return audio.resample(audio.to_mono(decoded.samples), decoded.sample_rate, RATE)


def babble_of(paths: tuple[str, ...]) -> np.ndarray | None:
    """Other speakers' takes summed at equal power (each repeated to the longest)."""
    voices = [mono(p).astype(np.float64) for p in paths]
    if not voices:
        return None
    n = max(map(len, voices))
    return sum(np.resize(v, n) / np.sqrt(max(conditions.power(v), 1e-20)) for v in voices)


def measured_rows(heard: list[np.ndarray], voices: tuple[object, ...]) -> np.ndarray:
    """`(len(heard), features)`: each signal (at RATE) measured by every voice extractor in `voices`,
    side by side (a row of NaN where a signal leaves nothing to measure; ClipError if none does)."""
    rows = []
    for y in heard:
        decoded = audio.Decoded(y[:, None], RATE)
        try:
            rows.append(np.concatenate([extractors.of(s).per_voice(decoded, s) for s in voices]))
        except ClipError:
            rows.append(None)
    width = next((len(r) for r in rows if r is not None), 0)
    if not width:
        raise ClipError("no voice features under any condition")
    return np.stack([np.full(width, np.nan) if r is None else r for r in rows])


def features_under_conditions(take: str, job: Job) -> np.ndarray:
    """`(conditions, features)`: the take's voice features under each condition (a row of NaN
    where a condition leaves nothing to measure)."""
    planned = job.takes[take]
    y = mono(planned.path)
    babble = babble_of(planned.babble)
    return measured_rows([conditions.apply(y, RATE, condition, np.random.default_rng([job.seed, planned.index, k]),
                                           babble) for k, condition in enumerate(job.conditions)], job.settings)

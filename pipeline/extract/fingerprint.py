"""An audio fingerprint that survives what a training take goes through to pass as a new
speaker's: resampling, lossy codecs, dither, level changes (Haitsma & Kalker, 2002).

Each frame gives 32 bits, the signs of the energy differences between 33 log-spaced bands from
300 Hz to 2 kHz, differenced again over time: level and a fixed channel cancel out, and a codec
or a resampler moves energies far less than it moves samples. Two clips are the same recording
when few bits differ on the frames where the reference is audible (independent recordings
differ in about half). Shapes: a fingerprint is `(n_frames,)` uint32 with an `(n_frames,)` bool
mask of audible frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.extract import audio

RATE = 5000  # Hz: the bands end at 2 kHz, so every telephone, codec and resampler keeps them
FRAME = 2048  # samples at RATE (0.41 s): long frames make the bits robust
HOP = 64  # samples at RATE (12.8 ms)
N_BANDS = 33
LOW, HIGH = 300.0, 2000.0
AUDIBLE_DB = 40.0  # frames within this of the clip's loudest are compared; quieter ones are noise
# The bit error rate below which two clips are one recording. Measured on RAVDESS actors 1-3: copies
# (resampled to 44.1 kHz, MP3 at 32 kbit/s, +-1 LSB dither, 30 dB quieter) stay under 0.07; the other
# recordings of one actor saying one sentence (another emotion, intensity or repetition) lie over 0.25.
SAME_RECORDING = 0.15
MAX_SHIFT = 4  # frames either way: codecs pad and trim the start
MIN_FRAMES = 16  # fewer audible frames than this say nothing
DURATION_SLACK = 0.2  # s: a codec's padding and trimming; a copy cut much shorter is not looked for


@dataclass(frozen=True)
class Fingerprint:
    bits: np.ndarray  # (n_frames,) uint32
    audible: np.ndarray  # (n_frames,) bool


def _band_edges() -> np.ndarray:
    spectrum = np.fft.rfftfreq(FRAME, 1.0 / RATE)
    edges = np.geomspace(LOW, HIGH, N_BANDS + 1)
    return np.searchsorted(spectrum, edges)


def of_samples(samples: np.ndarray, sample_rate: int) -> Fingerprint:
    """The fingerprint of a `(n_samples, n_channels)` or `(n_samples,)` signal."""
    y = audio.resample(audio.to_mono(samples), sample_rate, RATE)
    if len(y) < FRAME + HOP:
        return Fingerprint(np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=bool))
    framed = np.lib.stride_tricks.sliding_window_view(y, FRAME)[::HOP] * np.hanning(FRAME).astype(np.float32)
    power = np.abs(np.fft.rfft(framed, axis=1)) ** 2
    edges = _band_edges()
    energy = np.add.reduceat(power, edges[:-1], axis=1)[:, :N_BANDS]
    across = energy[:, :-1] - energy[:, 1:]  # (frames, 32)
    bits = (across[1:] - across[:-1]) > 0
    packed = (bits.astype(np.uint64) << np.arange(32, dtype=np.uint64)).sum(axis=1).astype(np.uint32)
    loudness = 10 * np.log10(energy.sum(axis=1)[1:] + 1e-12)
    return Fingerprint(packed, loudness > loudness.max() - AUDIBLE_DB)


def of_file(address: str) -> Fingerprint:
    decoded = audio.decode(address)
    return of_samples(decoded.samples, decoded.sample_rate)


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.view(np.uint8).reshape(-1, 4), axis=1).sum(axis=1)


def bit_error_rate(query: Fingerprint, reference: Fingerprint) -> float:
    """The smallest share of differing bits over shifts of up to MAX_SHIFT frames, on the frames
    audible in both (1.0 when too few overlap)."""
    best = 1.0
    for shift in range(-MAX_SHIFT, MAX_SHIFT + 1):
        q0, r0 = max(0, -shift), max(0, shift)
        n = min(len(query.bits) - q0, len(reference.bits) - r0)
        if n <= 0:
            continue
        both = query.audible[q0:q0 + n] & reference.audible[r0:r0 + n]
        if both.sum() < MIN_FRAMES:
            continue
        differ = _popcount(query.bits[q0:q0 + n][both] ^ reference.bits[r0:r0 + n][both])
        best = min(best, float(differ.sum()) / (32 * both.sum()))
    return best


def to_frame(keys: pd.DataFrame, prints: list[Fingerprint]) -> pd.DataFrame:
    """A table of fingerprints: `keys`' columns with `bits` and `audible` as bytes (Parquet-ready)."""
    return keys.assign(bits=[p.bits.tobytes() for p in prints], audible=[np.packbits(p.audible).tobytes() for p in prints])


def from_frame(table: pd.DataFrame) -> list[Fingerprint]:
    """The fingerprints of a `to_frame` table, in its row order."""
    out = []
    for bits, audible in zip(table["bits"], table["audible"]):
        bits = np.frombuffer(bits, dtype=np.uint32)
        out.append(Fingerprint(bits, np.unpackbits(np.frombuffer(audible, dtype=np.uint8))[:len(bits)].astype(bool)))
    return out


def same_recording(query: Fingerprint, references: list[Fingerprint]) -> int | None:
    """The index in `references` of a recording `query` is a copy of, or None: only references of
    about the same length are compared."""
    for i, reference in enumerate(references):
        if (abs(len(reference.bits) - len(query.bits)) <= DURATION_SLACK * RATE / HOP
                and bit_error_rate(query, reference) < SAME_RECORDING):
            return i
    return None

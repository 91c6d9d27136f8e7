"""Recording conditions a clip meets outside the studio, applied to a mono signal: a codec round
trip (MP3, Opus, AAC through FFmpeg's encoders in PyAV), the telephone band with G.711 mu-law,
additive noise at a signal-to-noise ratio (white, pink, or babble of other speakers), a room's
reverberation, a level change and clipping. Pure functions of (signal, rate) and a seeded
generator, so a benchmark built from them reruns byte for byte.

The room is a statistical impulse response (Polack's model: Gaussian noise under an exponential
decay reaching -60 dB at RT60, after a direct path), not an image-method simulation:
pyroomacoustics has no wheel for this Python, and a clip's pooled features see a room through its
decay time far more than through its early reflections.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from scipy import signal as sps

from pipeline import checks
from pipeline.extract import audio

CODECS = {"mp3": ("mp3", "libmp3lame", 44100), "opus": ("ogg", "libopus", 48000), "aac": ("adts", "aac", 44100)}
NOISES = ("white", "pink", "babble")
TELEPHONE_RATE = 8000
TELEPHONE_BAND = (300.0, 3400.0)
MU = 255.0  # G.711 mu-law
CLEAN = "clean"  # the condition of no effect: the takes as recorded, measured like the others


@dataclass(frozen=True)
class Condition:
    """One named condition (a `robustness.conditions` entry); its effects applied in the order
    a recording meets them: room, noise, level, clipping, telephone line, codec."""

    name: str
    rt60: float | None = None  # seconds
    noise: str | None = None
    snr_db: float = 20.0
    gain_db: float = 0.0
    overdrive_db: float | None = None  # amplified by this much, then clipped at full scale
    telephone: bool = False
    codec: str | None = None
    bitrate: int = 32000  # bits per second

    def __post_init__(self) -> None:
        checks.check(f"robustness.conditions.{self.name}", self, [
            ("rt60", "seconds from 0.1 to 3", lambda c: c.rt60 is None or checks.is_number(c.rt60) and 0.1 <= c.rt60 <= 3),
            ("noise", f"one of {', '.join(NOISES)}", lambda c: c.noise is None or c.noise in NOISES),
            ("snr_db", "a number of dB from -10 to 60", lambda c: checks.is_number(c.snr_db) and -10 <= c.snr_db <= 60),
            ("gain_db", "a number of dB from -60 to 0", lambda c: checks.is_number(c.gain_db) and -60 <= c.gain_db <= 0),
            ("overdrive_db", "a number of dB from 1 to 40", lambda c: c.overdrive_db is None
             or checks.is_number(c.overdrive_db) and 1 <= c.overdrive_db <= 40),
            ("telephone", "true or false", lambda c: isinstance(c.telephone, bool)),
            ("codec", f"one of {', '.join(CODECS)}", lambda c: c.codec is None or c.codec in CODECS),
            ("bitrate", "bits per second from 6000 to 320000", lambda c: checks.is_int(c.bitrate)
             and 6000 <= c.bitrate <= 320000),
        ])


def apply(y: np.ndarray, rate: int, condition: Condition, rng: np.random.Generator,
          babble: np.ndarray | None = None) -> np.ndarray:
    """The mono float32 signal `y` as heard under `condition`, the same length; `babble`: other
    speakers' speech at `rate`, for babble noise."""
    out = np.asarray(y, dtype=np.float64)
    if condition.rt60 is not None:
        out = reverberate(out, rate, condition.rt60, rng)
    if condition.noise is not None:
        noise = babble if condition.noise == "babble" else coloured_noise(len(out), condition.noise, rng)
        if noise is None:
            raise ValueError("babble noise needs other speakers' speech")
        out = with_noise(out, noise, condition.snr_db)
    out = out * 10 ** (condition.gain_db / 20)
    if condition.overdrive_db is not None:
        out = np.clip(out * 10 ** (condition.overdrive_db / 20), -1.0, 1.0)
    if condition.telephone:
        out = telephone(out, rate)
    if condition.codec is not None:
        out = codec_round_trip(out, rate, condition.codec, condition.bitrate)
    return out.astype(np.float32)


def power(y: np.ndarray) -> float:
    return float(np.mean(np.square(y, dtype=np.float64)))


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise, or pink (power falling 3 dB an octave: white shaped by 1/sqrt(f))."""
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spectrum = np.fft.rfft(white)
    f = np.arange(len(spectrum), dtype=float)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


def with_noise(y: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`y` plus `noise` (repeated or cut to its length) scaled so that the clip's power over the
    noise's is `snr_db`."""
    noise = np.resize(np.asarray(noise, dtype=np.float64), len(y))
    return y + noise * np.sqrt(power(y) / (power(noise) * 10 ** (snr_db / 10)))


def reverberate(y: np.ndarray, rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """`y` in a room of reverberation time `rt60` (statistical impulse response, see the module),
    cut to its length and brought back to its power."""
    t = np.arange(int(rt60 * rate)) / rate
    response = rng.standard_normal(len(t)) * np.exp(-3 * np.log(10) * t / rt60)  # -60 dB at rt60
    response[0] = 1.0  # the direct path
    wet = sps.fftconvolve(y, response)[: len(y)]
    return wet * np.sqrt(power(y) / max(power(wet), 1e-20))


def mu_law(y: np.ndarray) -> np.ndarray:
    """8-bit G.711 mu-law: compressed, quantised to 256 levels, expanded."""
    compressed = np.sign(y) * np.log1p(MU * np.abs(np.clip(y, -1, 1))) / np.log1p(MU)
    levels = np.round((compressed + 1) / 2 * 255) / 255 * 2 - 1
    return np.sign(levels) * ((1 + MU) ** np.abs(levels) - 1) / MU


def telephone(y: np.ndarray, rate: int) -> np.ndarray:
    """A narrowband telephone line: 8 kHz, 300-3400 Hz, G.711 mu-law, back at `rate`."""
    narrow = audio.resample(y.astype(np.float32), rate, TELEPHONE_RATE).astype(np.float64)
    band = sps.butter(4, TELEPHONE_BAND, btype="bandpass", fs=TELEPHONE_RATE, output="sos")
    line = mu_law(sps.sosfilt(band, narrow))
    return _fitted(audio.resample(line.astype(np.float32), TELEPHONE_RATE, rate), len(y))


def codec_round_trip(y: np.ndarray, rate: int, codec: str, bitrate: int) -> np.ndarray:
    """`y` encoded with `codec` at `bitrate` and decoded again (at the codec's own rate in between),
    aligned on the encoder's delay and cut to its length."""
    container, encoder, coded_rate = CODECS[codec]
    x = audio.resample(np.clip(y, -1, 1).astype(np.float32), rate, coded_rate)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(encoder, rate=coded_rate, layout="mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
        frame.rate = coded_rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buffer.seek(0)
    with av.open(buffer, "r") as coded:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=coded_rate)
        chunks = [r.to_ndarray().reshape(-1) for f in coded.decode(audio=0) for r in resampler.resample(f)]
    decoded = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    delay = _delay(x, decoded)
    return _fitted(audio.resample(decoded[delay:].astype(np.float32), coded_rate, rate), len(y))


def _delay(x: np.ndarray, decoded: np.ndarray, most: int = 4096) -> int:
    """The encoder's delay (priming samples) in `decoded` against the original `x`: the lag of
    their greatest cross-correlation within `most` samples."""
    n = min(len(x), len(decoded) - most)
    if n <= 0:
        return 0
    scores = sps.correlate(decoded[: n + most], x[:n], mode="valid")
    return int(np.argmax(scores))


def _fitted(y: np.ndarray, n: int) -> np.ndarray:
    """`y` cut or zero-padded to `n` samples."""
    return np.pad(y[:n], (0, max(0, n - len(y))))


@dataclass(frozen=True)
class Settings:
    """The `robustness` block: which takes are heard under which conditions."""

    takes_per_speaker: int = 8
    babble_speakers: int = 3
    seed: int = 0
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        checks.check("robustness", self, [
            ("takes_per_speaker", "a whole number from 1 to 1000", lambda s: checks.is_int(s.takes_per_speaker)
             and 1 <= s.takes_per_speaker <= 1000),
            ("babble_speakers", "a whole number from 1 to 20", lambda s: checks.is_int(s.babble_speakers)
             and 1 <= s.babble_speakers <= 20),
            ("seed", "a whole number >= 0", lambda s: checks.is_int(s.seed) and s.seed >= 0),
        ])

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        block = dict(params["robustness"])
        named = block.pop("conditions", None) or {}
        if not isinstance(named, dict):
            raise checks.SettingError("robustness.conditions: a block of named conditions ({mp3_32k: {codec: mp3, "
                                      "bitrate: 32000}, ...})")
        if CLEAN in named:
            raise checks.SettingError(f"robustness.conditions.{CLEAN}: the name of the takes as recorded (always "
                                      "measured); name the condition otherwise")
        found = tuple(checks.from_block(f"robustness.conditions.{name}", Condition, {**(spec or {}), "name": name})
                      for name, spec in named.items())
        return checks.from_block("robustness", cls, {**block, "conditions": found})

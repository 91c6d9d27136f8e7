"""Audio: decode a clip, then frame-level descriptors and their clip-level functionals.

Everything after decoding is a pure function over NumPy arrays, vectorized over frames
(no per-frame Python loop). Shapes: a signal is `(n_samples,)` float32 mono; a
descriptor matrix is `(n_frames, n_descriptors)`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

import av
import numpy as np
import soundfile
import soxr
from scipy import fft, ndimage, signal

from pipeline import checks
from pipeline.ingest import sources
from pipeline.errors import ClipError
from pipeline.extract.functionals import check as check_functionals, pool, pooled_names
from pipeline.checks import SettingError

_AMIN = 1e-10  # floor of power before taking logs, as librosa's power_to_db


class AudioError(ClipError):
    """Audio that cannot be used, with the reason (the caller adds the file name)."""


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # (n_samples, n_channels) float32 in [-1, 1]
    sample_rate: int
    note: str | None = None  # which of several audio tracks was used, and why

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    @property
    def channels(self) -> int:
        return self.samples.shape[1]


MAX_SECONDS = 600.0  # what any clip may hold, whatever its header says: RAVDESS takes last 3-5 s
UNKNOWN_FRAMES = 2**62  # libsndfile's count for a stream that does not say its length (FLAC total samples 0)
BLOCK = 1 << 16  # frames read at a time: memory grows with what a file holds, never with what it claims
FFMPEG_ONLY = (".m4a", ".aac")  # audio files libsndfile cannot open (AAC)


def decode(address: str, max_seconds: float = MAX_SECONDS) -> Decoded:
    """Read a clip's audio in full (wav/flac, other audio files, or the audio track of a video
    container), counting what is decoded: AudioError if it is empty, truncated or corrupt, a video
    has no audio track, or it holds more than `max_seconds`, whatever its header says."""
    if sources.suffix(address) in sources.VIDEO_SUFFIXES + FFMPEG_ONLY:
        return _decode_track(address, max_seconds)
    try:
        with sources.open_clip(address) as stream:
            if stream.seek(0, 2) == 0:
                raise AudioError("empty file (0 bytes)")
            stream.seek(0)
            missing = _missing_wav_bytes(stream)
            with soundfile.SoundFile(stream) as clip:
                expected, sample_rate = clip.frames, clip.samplerate
                if expected >= UNKNOWN_FRAMES:  # libsndfile cannot read such a stream in blocks: FFmpeg can
                    return _decode_track(address, max_seconds)
                samples = _blocks(clip, int(max_seconds * sample_rate), expected)
    except (soundfile.LibsndfileError, RuntimeError, OSError, EOFError) as error:
        raise AudioError(f"unreadable audio ({getattr(error, 'error_string', error)})") from error
    if missing:
        raise AudioError(f"truncated: the WAV header promises {missing} more bytes of audio than the file holds")
    if samples.shape[0] == 0:
        raise AudioError("zero-length audio (no samples)")
    if samples.shape[0] < expected:
        raise AudioError(f"truncated: header promises {expected} frames, file holds {samples.shape[0]}")
    return Decoded(samples=_checked(samples), sample_rate=sample_rate)


def _blocks(clip: soundfile.SoundFile, limit: int, declared: int) -> np.ndarray:
    """The clip's frames `(n, channels)`, read BLOCK at a time and stopped past `limit` frames."""
    blocks, total = [], 0
    while block := len(chunk := clip.read(BLOCK, dtype="float32", always_2d=True)):
        blocks.append(chunk)
        total += block
        if total > limit:
            raise _too_long(limit / clip.samplerate, declared / clip.samplerate)
        if block < BLOCK:
            break
    return np.concatenate(blocks) if blocks else np.zeros((0, clip.channels), dtype=np.float32)


def _too_long(max_seconds: float, declared: float | None) -> AudioError:
    says = f"its header says {declared:.1f} s" if declared else "its header gives no length"
    return AudioError(f"holds more than {max_seconds:g} s of audio ({says}): not read further "
                      "(cut it, or raise the limit)")


def content_hash(decoded: Decoded) -> str:
    """A digest of the samples and their rate (not the file's bytes): a take renamed, or stored as
    WAV where training read FLAC, has the same one, so it cannot pass for a new speaker's."""
    digest = hashlib.sha256(f"{decoded.sample_rate}:{decoded.samples.shape}".encode())
    digest.update(np.ascontiguousarray(decoded.samples, dtype=np.float32).tobytes())
    return digest.hexdigest()[:32]


MAX_PEAK = 10.0  # float audio may overshoot full scale a little; 20 dB beyond it is corruption


def _checked(samples: np.ndarray) -> np.ndarray:
    """The samples, if every one is a finite number within MAX_PEAK of full scale."""
    bad = samples.size - int(np.isfinite(samples).sum())
    if bad:
        nan = int(np.isnan(samples).sum())
        raise AudioError(f"{bad} samples are not finite numbers ({nan} NaN, {bad - nan} infinite)")
    peak = float(np.abs(samples).max())
    if peak > MAX_PEAK:
        raise AudioError(f"samples reach {peak:.3g}, {20 * np.log10(peak):.0f} dB beyond full scale: corrupt float audio")
    return samples


def check_level(samples: np.ndarray, silence_dbfs: float) -> float:
    """The clip's peak level in dBFS; AudioError if it is below `silence_dbfs` (nothing to hear)."""
    level = peak_dbfs(samples)
    if level < silence_dbfs:
        raise AudioError(f"silent: peak level {level:.1f} dBFS is below {silence_dbfs} dBFS")
    return level


def _decode_track(address: str, max_seconds: float = MAX_SECONDS) -> Decoded:
    """The audio of a container FFmpeg reads (a video, e.g. RAVDESS's 48 kHz AAC, or an audio file
    libsndfile cannot read in blocks), as float32, stopped once any track holds more than
    `max_seconds`: every audio track is decoded, and of several the loudest (highest RMS) is used,
    so a silent first track (a muted camera microphone beside the lapel one) does not hide the
    voice; `note` says which."""
    try:
        with sources.open_clip(address) as stream, av.open(stream) as container:
            tracks = list(container.streams.audio)
            if not tracks:
                raise AudioError("no audio track in the video")
            declared = [float(t.duration * t.time_base) if t.duration else None for t in tracks]
            rates = [t.rate for t in tracks]
            resamplers = [av.AudioResampler(format="fltp") for _ in tracks]  # planar float: (channels, samples)
            position = {t.index: i for i, t in enumerate(tracks)}
            chunks: list[list[np.ndarray]] = [[] for _ in tracks]
            counted = [0] * len(tracks)
            for packet in container.demux(*tracks):
                i = position[packet.stream.index]
                for frame in packet.decode():
                    chunks[i] += [out.to_ndarray() for out in resamplers[i].resample(frame)]
                    counted[i] += frame.samples
                    if counted[i] > max_seconds * rates[i]:
                        raise _too_long(max_seconds, container.duration / av.time_base if container.duration else None)
            for i, resampler in enumerate(resamplers):
                chunks[i] += [out.to_ndarray() for out in resampler.resample(None)]
    except (av.FFmpegError, OSError) as error:
        raise AudioError(f"unreadable audio track ({error})") from error
    decoded = [_track(*track) for track in zip(chunks, rates, declared)]
    if len(decoded) == 1:
        return decoded[0]
    loudness = [float(np.sqrt(np.mean(np.square(d.samples, dtype=np.float64)))) for d in decoded]
    best = int(np.argmax(loudness))
    levels = ", ".join(f"track {i + 1} RMS {20 * np.log10(max(r, 1e-10)):.0f} dBFS" for i, r in enumerate(loudness))
    note = f"{len(decoded)} audio tracks: track {best + 1} used, the loudest ({levels})"
    return Decoded(decoded[best].samples, decoded[best].sample_rate, note)


def _track(chunks: list[np.ndarray], sample_rate: int, declared: float | None) -> Decoded:
    """One decoded audio track, checked: not empty, not shorter than it declares."""
    samples = np.concatenate(chunks, axis=1).T if chunks else np.zeros((0, 1), dtype=np.float32)
    if samples.shape[0] == 0:
        raise AudioError("zero-length audio (the audio track holds no samples)")
    if declared and samples.shape[0] < 0.9 * declared * sample_rate:
        raise AudioError(f"truncated: the audio track declares {declared:.2f} s, {samples.shape[0] / sample_rate:.2f} s decoded")
    return Decoded(samples=_checked(np.ascontiguousarray(samples, dtype=np.float32)), sample_rate=sample_rate)


def declared_seconds(address: str) -> float | None:
    """How long a clip says it is, from its header alone (nothing decoded): what lets a two-hour
    file be refused before it fills memory. None where the header does not say."""
    try:
        if sources.suffix(address) in sources.VIDEO_SUFFIXES:
            with sources.open_clip(address) as stream, av.open(stream) as container:
                return container.duration / av.time_base if container.duration else None
        with sources.open_clip(address) as stream:
            info = soundfile.info(stream)
            return info.frames / info.samplerate if 0 < info.frames < UNKNOWN_FRAMES else None
    except (soundfile.LibsndfileError, RuntimeError, OSError, av.FFmpegError):
        return None  # decoding will say what is wrong with it


STREAMING_SIZES = (0, 0xFFFFFFFF)


def _missing_wav_bytes(stream: BinaryIO) -> int:
    """Bytes a RIFF/WAVE `data` chunk declares beyond the end of the file (0 if whole or not WAV).

    libsndfile silently shortens a truncated WAV to what is there; this check catches it. A
    streaming writer's placeholder size (0xFFFFFFFF, or 0: "until the end of the file") promises
    nothing, and libsndfile reads such a file to its end.
    """
    start = stream.tell()
    try:
        if stream.read(12)[8:12] != b"WAVE":
            return 0
        while len(header := stream.read(8)) == 8:
            size = struct.unpack("<I", header[4:])[0]
            if header[:4] == b"data":
                if size in STREAMING_SIZES:
                    return 0
                here = stream.tell()
                end = stream.seek(0, 2)
                return max(0, here + size - end)
            stream.seek(size + size % 2, 1)
        return 0
    finally:
        stream.seek(start)


def peak_dbfs(samples: np.ndarray) -> float:
    """Peak level in dB relative to full scale (-inf for digital silence)."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a `(n_samples, n_channels)` signal into `(n_samples,)`.

    A mono clip is returned as a view: a mean over a length-1 axis costs as much as an FFT.
    """
    if samples.ndim == 1:
        return samples
    return samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1, dtype=np.float32)


def resample(y: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling with libsoxr (the resampler librosa uses); no-op when rates agree."""
    if rate_in == rate_out:
        return y
    return soxr.resample(y, rate_in, rate_out).astype(np.float32, copy=False)


def speed_perturbed(y: np.ndarray, factor: float) -> np.ndarray:
    """The signal played `factor` times faster at the same sample rate: tempo, pitch and formants
    all scaled by `factor` (Kaldi's speed perturbation), as a speaker with a shorter or longer
    vocal tract would sound. Training copies at 0.9 and 1.1 stand in for speakers a corpus lacks."""
    length = 1_000_000
    return resample(y, round(length * factor), length)


def frames(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Centred frames `(n_frames, frame_length)`: zero-padded by half a frame on each side.

    Same framing as librosa's `center=True, pad_mode="constant"`, so frame t is centred on
    sample t * hop_length and n_frames = 1 + len(y) // hop_length.
    """
    half = frame_length // 2
    padded = np.pad(y, (half, half))
    n_frames = 1 + (len(padded) - frame_length) // hop_length
    return np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length][:n_frames]


@lru_cache(maxsize=8)
def hann(n: int) -> np.ndarray:
    """Periodic Hann window (the STFT convention)."""
    return signal.get_window("hann", n, fftbins=True).astype(np.float32)


# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
_HZ_PER_MEL = 200.0 / 3
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ / _HZ_PER_MEL
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    logarithmic = _BREAK_MEL + np.log(np.maximum(hz, 1e-10) / _BREAK_HZ) / _LOG_STEP
    return np.where(hz >= _BREAK_HZ, logarithmic, hz / _HZ_PER_MEL)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= _BREAK_MEL, _BREAK_HZ * np.exp(_LOG_STEP * (mel - _BREAK_MEL)), mel * _HZ_PER_MEL)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised triangular mel filters `(n_mels, 1 + n_fft // 2)` (librosa.filters.mel's design)."""
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)
    rising = (bins[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    falling = (edges[2:, None] - bins[None, :]) / np.diff(edges)[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return (weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


def power_spectrum(frames_: np.ndarray) -> np.ndarray:
    """|FFT|^2 of Hann-windowed frames: `(n_frames, 1 + frame_length // 2)`."""
    spectrum = fft.rfft(frames_ * hann(frames_.shape[1]), axis=1)
    return spectrum.real**2 + spectrum.imag**2


def power_to_db(power: np.ndarray, top_db: float | None) -> np.ndarray:
    """10 log10(power), floored at `top_db` below the clip's maximum (librosa's rule)."""
    db = 10.0 * np.log10(np.maximum(power, _AMIN))
    return np.maximum(db, db.max() - top_db) if top_db is not None else db


@lru_cache(maxsize=8)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The first `n_out` orthonormal DCT-II basis vectors as a `(n_in, n_out)` matrix: one small
    product per clip instead of a DCT call, whose set-up dominates at 40 mel bands."""
    return fft.dct(np.eye(n_in), type=2, norm="ortho", axis=1)[:, :n_out].astype(np.float32)


def mfcc(power: np.ndarray, mel: np.ndarray, n_mfcc: int, top_db: float | None = 80.0) -> np.ndarray:
    """MFCCs `(n_frames, n_mfcc)` from a power spectrum and a mel filterbank (DCT-II, ortho)."""
    log_mel = power_to_db(power @ mel.T, top_db)
    return log_mel @ dct_matrix(mel.shape[0], n_mfcc)


@lru_cache(maxsize=16)
def _savgol_operators(width: int, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Savitzky-Golay derivative as matrices: interior taps `(width,)`, edge maps `(width//2, width)`.

    The filter is linear, so filtering the identity gives, row by row, how each output of the
    first and last half-window depends on the first and last `width` inputs ('interp' edges).
    """
    impulses = signal.savgol_filter(np.eye(width), width, polyorder=order, deriv=order, axis=0, mode="interp")
    half = width // 2
    taps = signal.savgol_coeffs(width, order, deriv=order, use="dot")
    return taps, impulses[:half], impulses[-half:]


def delta(x: np.ndarray, width: int, order: int = 1) -> np.ndarray:
    """Savitzky-Golay derivative along frames `(n_frames, d)`: librosa.feature.delta's method
    (mode 'interp'), computed as a few matrix products instead of per-call polynomial fits.

    The window shrinks to the clip's frame count (odd, at least order + 2) for short clips.
    """
    n = x.shape[0]
    width = min(width, n if n % 2 else n - 1)
    if width < order + 2:
        raise AudioError(f"too short for order-{order} deltas ({n} frames)")
    taps, left, right = _savgol_operators(width, order)
    out = ndimage.correlate1d(x, taps, axis=0)  # interior rows; the edges are replaced below
    half = width // 2
    out[:half], out[n - half :] = left @ x[:width], right @ x[-width:]
    return out


def rms(frames_: np.ndarray) -> np.ndarray:
    """Root-mean-square energy per frame `(n_frames,)` (one pass, no squared copy)."""
    return np.sqrt(np.einsum("ij,ij->i", frames_, frames_) / frames_.shape[1])


def zero_crossing_rate(frames_: np.ndarray) -> np.ndarray:
    """Fraction of adjacent samples whose sign differs, per frame `(n_frames,)`."""
    return np.mean(np.diff(np.signbit(frames_), axis=1), axis=1)


def spectral_shape(power: np.ndarray, sample_rate: int, rolloff: float = 0.85) -> np.ndarray:
    """Centroid, roll-off frequency and flatness per frame `(n_frames, 3)`; Hz for the first two."""
    n_bins = power.shape[1]
    freqs = np.linspace(0.0, sample_rate / 2, n_bins)
    magnitude = np.sqrt(power)
    total = magnitude.sum(axis=1) + _AMIN
    centroid = magnitude @ freqs / total
    cumulative = np.cumsum(power, axis=1)
    rolloff_bin = np.argmax(cumulative >= rolloff * cumulative[:, -1:], axis=1)
    log_power = np.log(power + _AMIN)
    flatness = np.exp(log_power.mean(axis=1)) / (power.mean(axis=1) + _AMIN)
    return np.column_stack([centroid, freqs[rolloff_bin], flatness])


def pitch(
    y: np.ndarray,
    sample_rate: int,
    hop_length: int,
    frame_length: int,
    fmin: float,
    fmax: float,
    span: slice = slice(None),
) -> tuple[np.ndarray, np.ndarray]:
    """F0 (Hz) and voicing strength for the frames in `span` from the normalised autocorrelation.

    Frames are centred on multiples of `hop_length` as in `frames`. The autocorrelation of
    every frame comes from one FFT pass; dividing by the window's own autocorrelation removes
    the taper's bias towards short lags. Returns two `(n_frames_in_span,)` arrays: f0
    (parabolic-interpolated peak lag) and the peak height in [0, 1].
    """
    framed = frames(y, frame_length, hop_length)[span]
    framed = framed - framed.mean(axis=1, keepdims=True)
    window = hann(frame_length)
    n_fft = fft.next_fast_len(2 * frame_length)
    acf = fft.irfft(np.abs(fft.rfft(framed * window, n_fft, axis=1)) ** 2, n_fft, axis=1)
    window_acf = fft.irfft(np.abs(fft.rfft(window, n_fft)) ** 2, n_fft)
    lag_min = max(2, int(sample_rate / fmax))
    lag_max = min(frame_length - 1, int(np.ceil(sample_rate / fmin)))
    energy = acf[:, :1] + _AMIN
    normalised = acf[:, : lag_max + 2] / energy / (window_acf[: lag_max + 2] / window_acf[0])
    # The first local peak within 10% of the highest one: multiples of the period score
    # almost as high once the window bias is removed, and must not win (octave errors).
    search = normalised[:, lag_min - 1 : lag_max + 2]
    inner = search[:, 1:-1]
    peaks = (inner >= search[:, :-2]) & (inner >= search[:, 2:]) & (inner >= 0.9 * inner.max(axis=1, keepdims=True))
    best = np.where(peaks.any(axis=1), np.argmax(peaks, axis=1), np.argmax(inner, axis=1)) + lag_min
    rows = np.arange(len(best))
    left, mid, right = normalised[rows, best - 1], normalised[rows, best], normalised[rows, best + 1]
    curvature = left - 2 * mid + right
    shift = 0.5 * (left - right) / np.where(np.abs(curvature) > 1e-6, curvature, np.inf)
    f0 = sample_rate / (best + np.clip(shift, -0.5, 0.5))
    return f0.astype(np.float64), np.clip(mid, 0.0, 1.0).astype(np.float64)


DESCRIPTOR_GROUPS = ("mfcc", "delta", "delta2", "rms", "zcr", "spectral", "pitch")


@dataclass(frozen=True)
class AudioSettings:
    """Every knob of the audio features (filled from params.yaml by the stage)."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 160
    n_mels: int = 40
    n_mfcc: int = 20
    fmin: float = 0.0
    fmax: float = 8000.0
    mel_top_db: float = 80.0
    delta_width: int = 9
    trim_top_db: float = 40.0
    pitch_frame_length: int = 1024
    pitch_fmin: float = 60.0
    pitch_fmax: float = 500.0
    voicing_threshold: float = 0.5
    descriptors: tuple[str, ...] = DESCRIPTOR_GROUPS
    functionals: tuple[str, ...] = ("mean", "std", "min", "max", "p10", "p50", "p90", "slope")

    def __post_init__(self) -> None:
        """Refuse, before any clip is read, settings that would fail on the first clip or quietly
        change what the features mean (an empty MFCC set, a mel band above Nyquist, ...)."""
        unknown = sorted(set(self.descriptors) - set(DESCRIPTOR_GROUPS))
        if unknown:
            raise SettingError(f"unknown descriptor groups {unknown}; known: {list(DESCRIPTOR_GROUPS)}")
        check_functionals(self.functionals)
        checks.check("audio_features", self, _SETTING_RULES)


def settings_from(block: dict) -> AudioSettings:
    """AudioSettings from the `audio_features` params block."""
    return checks.from_block("audio_features", AudioSettings, block)


_SETTING_RULES: list[checks.Rule] = [
    ("sample_rate", "a whole number of Hz from 4000 to 192000", lambda s: checks.is_int(s.sample_rate)
     and 4000 <= s.sample_rate <= 192000),
    ("n_fft", "a whole number >= 16", lambda s: checks.is_int(s.n_fft) and s.n_fft >= 16),
    ("hop_length", "a whole number from 1 to n_fft", lambda s: checks.is_int(s.hop_length) and 1 <= s.hop_length <= s.n_fft),
    ("n_mels", "a whole number >= 1", lambda s: checks.is_int(s.n_mels) and s.n_mels >= 1),
    ("n_mfcc", "a whole number from 1 to n_mels", lambda s: checks.is_int(s.n_mfcc) and 1 <= s.n_mfcc <= s.n_mels),
    ("fmin", "from 0 to below sample_rate / 2", lambda s: checks.is_number(s.fmin) and 0 <= s.fmin < s.sample_rate / 2),
    ("fmax", "above fmin and at most sample_rate / 2", lambda s: checks.is_number(s.fmax)
     and s.fmin < s.fmax <= s.sample_rate / 2),
    ("delta_width", "an odd whole number >= 3", lambda s: checks.is_int(s.delta_width) and s.delta_width >= 3
     and s.delta_width % 2 == 1),
    ("mel_top_db", "a positive number of dB", lambda s: checks.is_number(s.mel_top_db) and s.mel_top_db > 0),
    ("trim_top_db", "a positive number of dB", lambda s: checks.is_number(s.trim_top_db) and s.trim_top_db > 0),
    ("pitch_frame_length", "a whole number >= 64", lambda s: checks.is_int(s.pitch_frame_length)
     and s.pitch_frame_length >= 64),
    ("pitch_fmin", "a positive number of Hz", lambda s: checks.is_number(s.pitch_fmin) and s.pitch_fmin > 0),
    ("pitch_fmax", "above pitch_fmin and at most sample_rate / 2", lambda s: checks.is_number(s.pitch_fmax)
     and s.pitch_fmin < s.pitch_fmax <= s.sample_rate / 2),
    ("voicing_threshold", "a number from 0 to 1", lambda s: checks.is_number(s.voicing_threshold)
     and 0 <= s.voicing_threshold <= 1),
]


def active_span(frame_rms: np.ndarray, top_db: float) -> slice:
    """Frames from the first to the last one within `top_db` of the loudest (trims silence)."""
    level = 20.0 * np.log10(np.maximum(frame_rms, _AMIN))
    active = np.flatnonzero(level > level.max() - top_db)
    return slice(active[0], active[-1] + 1)


def descriptor_names(settings: AudioSettings) -> list[str]:
    """Column names of `descriptors`' matrix, in its column order."""
    wanted = set(settings.descriptors)
    names = [f"{group}{i:02d}" for group in ("mfcc", "delta", "delta2") if group in wanted
             for i in range(settings.n_mfcc)]
    names += ["rms_db"] if "rms" in wanted else []
    names += ["zcr"] if "zcr" in wanted else []
    names += ["centroid_hz", "rolloff_hz", "flatness"] if "spectral" in wanted else []
    names += ["f0_semitones"] if "pitch" in wanted else []
    return names


def feature_names(settings: AudioSettings) -> list[str]:
    """Names of `clip_features`' vector, in its order."""
    clip_level = ["active_duration_s"] + (["voiced_fraction"] if "pitch" in settings.descriptors else [])
    return clip_level + pooled_names(descriptor_names(settings), settings.functionals)


def descriptors(y: np.ndarray, sample_rate: int, settings: AudioSettings) -> np.ndarray:
    """Frame-level descriptors `(n_frames, len(descriptor_names(settings)))` of a mono clip at
    the target rate, trimmed to its active span.

    Unvoiced frames hold NaN in the F0 column, so its functionals describe voiced speech only.
    """
    framed = frames(y, settings.n_fft, settings.hop_length)
    power = power_spectrum(framed)
    energy = rms(framed)
    span = active_span(energy, settings.trim_top_db)
    columns: list[np.ndarray] = []
    wanted = set(settings.descriptors)
    if wanted & {"mfcc", "delta", "delta2"}:
        mel = mel_filterbank(sample_rate, settings.n_fft, settings.n_mels, settings.fmin, settings.fmax)
        cepstra = mfcc(power, mel, settings.n_mfcc, settings.mel_top_db)[span]
        columns += [cepstra] if "mfcc" in wanted else []
        try:
            columns += [delta(cepstra, settings.delta_width, 1)] if "delta" in wanted else []
            columns += [delta(cepstra, settings.delta_width, 2)] if "delta2" in wanted else []
        except AudioError as error:
            seconds = len(cepstra) * settings.hop_length / sample_rate
            raise AudioError(f"{error}: the clip has {seconds:.2f} s of sound above trim_top_db") from None
    if "rms" in wanted:
        columns.append(20.0 * np.log10(np.maximum(energy[span, None], _AMIN)))
    if "zcr" in wanted:
        columns.append(zero_crossing_rate(framed[span])[:, None])
    if "spectral" in wanted:
        columns.append(spectral_shape(power[span], sample_rate))
    if "pitch" in wanted:
        f0, voicing = pitch(
            y, sample_rate, settings.hop_length, settings.pitch_frame_length,
            settings.pitch_fmin, settings.pitch_fmax, span,
        )
        voiced = voicing >= settings.voicing_threshold
        columns.append(np.where(voiced, 12.0 * np.log2(f0 / 100.0), np.nan)[:, None])
    return np.column_stack(columns).astype(np.float64)


def clip_features(decoded: Decoded, settings: AudioSettings) -> np.ndarray:
    """One clip's feature vector, named by `feature_names(settings)`: clip-level facts, then
    the descriptors pooled by the configured functionals."""
    y = resample(to_mono(decoded.samples), decoded.sample_rate, settings.sample_rate)
    matrix = descriptors(y, settings.sample_rate, settings)
    clip_level = [matrix.shape[0] * settings.hop_length / settings.sample_rate]
    if "pitch" in settings.descriptors:
        clip_level.append(float(np.mean(~np.isnan(matrix[:, -1]))))  # F0 is the last column
    return np.concatenate([clip_level, pool(matrix, settings.functionals)])


def file_features(address: str, settings: AudioSettings) -> np.ndarray:
    """`clip_features` of the clip at `address` (what the batch runner calls per clip)."""
    return clip_features(decode(address), settings)

"""The audio fingerprint: a training take resampled, through MP3, dithered or made quieter is still
that recording; the same actor saying the same sentence again is not."""

from __future__ import annotations

import io

import av
import numpy as np
import pandas as pd
import pytest
import soundfile
import soxr

from conftest import real_take
from pipeline.apply import seen
from pipeline.extract import audio, fingerprint

ORIGINAL = "03-01-05-01-01-01-01"
# the same actor and sentence, recorded again: another repetition, intensity, emotion
OTHERS = ["03-01-05-01-01-02-01", "03-01-05-02-01-01-01", "03-01-03-01-01-01-01", "03-01-01-01-01-01-01"]


def through_mp3(y: np.ndarray, rate: int, kbps: int = 32) -> tuple[np.ndarray, int]:
    """`y` encoded as MP3 at `kbps` and decoded back (44.1 kHz), as a user's converter would."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=44100, layout="mono")
        stream.bit_rate = kbps * 1000
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=44100)
        frame = av.AudioFrame.from_ndarray(y[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for chunk in [*resampler.resample(frame), *resampler.resample(None), None]:
            for packet in stream.encode(chunk):
                out.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        flat = av.AudioResampler(format="flt", layout="mono")
        decoded = [out.to_ndarray()[0] for frame in container.decode(audio=0) for out in flat.resample(frame)]
    return np.concatenate(decoded), 44100


def copies(y: np.ndarray, rate: int) -> dict[str, tuple[np.ndarray, int]]:
    dither = np.random.default_rng(0).integers(-1, 2, len(y)) / 32768
    return {"resampled to 44.1 kHz": (soxr.resample(y, rate, 44100).astype(np.float32), 44100),
            "through MP3 at 32 kbit/s": through_mp3(y, rate),
            "+-1 LSB of dither": ((np.round(y * 32768) / 32768 + dither).astype(np.float32), rate),
            "30 dB quieter": (y * np.float32(10 ** (-30 / 20)), rate)}


@pytest.fixture(scope="module")
def references() -> list[fingerprint.Fingerprint]:
    """The original and the other recordings, through the table the fingerprints stage writes."""
    names = [ORIGINAL, *OTHERS]
    prints = [fingerprint.of_file(str(real_take(1, name))) for name in names]
    read = fingerprint.from_frame(fingerprint.to_frame(pd.DataFrame({"corpus": "ravdess", "take": names}), prints))
    assert all(np.array_equal(a.bits, b.bits) and np.array_equal(a.audible, b.audible) for a, b in zip(read, prints))
    return read


def test_copies_are_the_recording_and_other_recordings_are_not(references):
    y, rate = soundfile.read(real_take(1, ORIGINAL), dtype="float32")
    original = references[0]
    for how, (copy, copy_rate) in copies(y, rate).items():
        query = fingerprint.of_samples(copy, copy_rate)
        assert fingerprint.bit_error_rate(query, original) < 0.1, how
        assert fingerprint.same_recording(query, references) == 0, how
    for i, other in enumerate(OTHERS, start=1):
        query = references[i]
        assert fingerprint.bit_error_rate(query, original) > 0.2, other
        assert fingerprint.same_recording(query, references[:i] + references[i + 1:]) is None, other


def test_evaluate_leaves_a_re_encoded_training_take_out(tmp_path, references):
    """Renamed as a new actor's take, the copies are counted as training takes; a new recording is scored."""
    y, rate = soundfile.read(real_take(1, ORIGINAL), dtype="float32")
    rows = []
    for actor, (copy, copy_rate) in enumerate(copies(y, rate).values(), start=21):
        path = tmp_path / f"03-01-05-01-01-01-{actor}.wav"
        soundfile.write(path, copy, copy_rate)
        rows.append({"corpus": "ravdess", "take": f"01-05-01-01-01-{actor}", "audio_path": str(path)})
    rows.append({"corpus": "ravdess", "take": "01-05-01-01-01-07", "audio_path": str(real_take(7, "03-01-05-01-01-01-07"))})
    takes = pd.DataFrame(rows).assign(audio_hash=[audio.content_hash(audio.decode(r["audio_path"])) for r in rows],
                                      video_hash=None)
    training = seen.Training({("ravdess", "01-05-01-01-01-01")}, set(), references[:1], [("ravdess", "01-05-01-01-01-01")])
    fresh, n_trained, n_copied = seen.unseen(takes, training, str(tmp_path))
    assert (n_trained, n_copied) == (0, 4) and fresh["take"].tolist() == ["01-05-01-01-01-07"]


def test_a_measured_row_equal_to_a_training_row_is_a_copy():
    rng = np.random.default_rng(0)
    training_rows = rng.normal(size=(50, 35))
    rows = {"new": rng.normal(size=35), "copied": np.round(training_rows[7], 6), "exact": training_rows[3].copy()}
    assert seen.copied_rows(rows, training_rows) == {"copied", "exact"}

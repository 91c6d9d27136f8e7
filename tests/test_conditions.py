"""Each recording condition on a real RAVDESS take, with the answer known: the SNR asked for is
measured back, a codec round trip keeps the length and the speech, the telephone band holds
nothing above 4 kHz, a room decays 60 dB in its RT60, a level change is its dB."""

import numpy as np
import pytest
import soundfile
from scipy import signal as sps

from conftest import real_take
from pipeline.checks import SettingError
from pipeline.extract import audio, conditions
from pipeline.extract.conditions import Condition

RATE = 16000


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    y, rate = soundfile.read(real_take(1, "03-01-05-02-01-01-01"), dtype="float32")
    return audio.resample(y, rate, RATE)


def db(ratio: float) -> float:
    return 10 * np.log10(ratio)


@pytest.mark.parametrize("noise", ["white", "pink"])
@pytest.mark.parametrize("snr_db", [20.0, 10.0, 5.0])
def test_the_snr_asked_for_is_measured_back(speech, noise, snr_db):
    noisy = conditions.apply(speech, RATE, Condition("n", noise=noise, snr_db=snr_db), np.random.default_rng(1))
    added = noisy.astype(np.float64) - speech
    assert db(conditions.power(speech) / conditions.power(added)) == pytest.approx(snr_db, abs=0.01)


def test_pink_noise_loses_3_db_an_octave_and_babble_is_other_speech(speech):
    pink = conditions.coloured_noise(2**18, "pink", np.random.default_rng(2))
    f, density = sps.welch(pink, fs=RATE, nperseg=4096)
    octave = [density[(f >= lo) & (f < 2 * lo)].mean() for lo in (250, 500, 1000, 2000)]
    assert np.diff(db(np.array(octave))) == pytest.approx([-3.0] * 3, abs=0.5)
    other, rate = soundfile.read(real_take(2, "03-01-03-01-01-01-02"), dtype="float32")
    babble = audio.resample(other, rate, RATE)
    mixed = conditions.apply(speech, RATE, Condition("b", noise="babble", snr_db=0.0), np.random.default_rng(3), babble)
    added = mixed.astype(np.float64) - speech
    assert db(conditions.power(speech) / conditions.power(added)) == pytest.approx(0.0, abs=0.01)
    with pytest.raises(ValueError, match="babble noise needs other speakers' speech"):
        conditions.apply(speech, RATE, Condition("b", noise="babble"), np.random.default_rng(3))


@pytest.mark.parametrize("codec,bitrate", [("mp3", 32000), ("opus", 12000), ("aac", 24000)])
def test_a_codec_round_trip_keeps_the_length_and_the_speech_in_time(speech, codec, bitrate):
    coded = conditions.apply(speech, RATE, Condition("c", codec=codec, bitrate=bitrate), np.random.default_rng(0))
    assert coded.shape == speech.shape and coded.dtype == np.float32
    error = coded.astype(np.float64) - speech
    assert db(conditions.power(speech) / conditions.power(error)) > 5  # aligned: a shifted copy scores about 0 dB


def test_the_telephone_line_holds_nothing_above_4_khz_and_little_below_300_hz(speech):
    line = conditions.apply(speech, RATE, Condition("t", telephone=True), np.random.default_rng(0))
    f, before = sps.welch(speech, fs=RATE, nperseg=1024)
    _, after = sps.welch(line, fs=RATE, nperseg=1024)
    assert line.shape == speech.shape
    assert db(after[f > 4200].sum() / after.sum()) < -40 and db(before[f > 4200].sum() / before.sum()) > -30
    low = (f > 50) & (f < 150)  # filtered before mu-law, whose quantisation noise is white: a floor
    assert db(after[low].sum() / before[low].sum()) < -10
    assert len(np.unique(np.round(conditions.mu_law(np.linspace(-1, 1, 10001)), 9))) <= 256  # 8-bit G.711


def test_a_room_decays_60_db_in_its_rt60_and_keeps_the_clip_power(speech):
    impulse = np.zeros(RATE)
    impulse[0] = 1.0
    response = conditions.reverberate(impulse, RATE, 0.5, np.random.default_rng(4))
    start, end = response[1:161], response[int(0.49 * RATE): int(0.5 * RATE)]  # 10 ms at the start and at RT60
    assert db(conditions.power(end) / conditions.power(start)) == pytest.approx(-60, abs=4)
    wet = conditions.apply(speech, RATE, Condition("r", rt60=0.8), np.random.default_rng(5))
    assert conditions.power(wet) == pytest.approx(conditions.power(speech), rel=1e-4)


def test_level_and_clipping(speech):
    quiet = conditions.apply(speech, RATE, Condition("q", gain_db=-30), np.random.default_rng(0))
    assert db(conditions.power(quiet) / conditions.power(speech)) == pytest.approx(-30, abs=1e-3)
    driven = conditions.apply(speech, RATE, Condition("d", overdrive_db=12), np.random.default_rng(0))
    assert np.abs(driven).max() == 1.0 and 0.001 < np.mean(np.abs(driven) == 1.0) < 0.5


def test_the_same_seed_gives_the_same_signal_and_a_bad_setting_is_named(speech):
    room = Condition("r", rt60=0.4, noise="white", snr_db=10)
    a, b = (conditions.apply(speech, RATE, room, np.random.default_rng(7)) for _ in range(2))
    assert np.array_equal(a, b)
    with pytest.raises(SettingError, match="robustness.conditions.x.codec"):
        Condition("x", codec="flac")

"""openSMILE feature sets: known answers on tones, real speech, and the settings checks."""

import numpy as np
import pytest
import soundfile

from pipeline import audio, smile
from pipeline.stages.opensmile_features import settings_from

EGEMAPS = smile.SmileSettings(name="egemaps", feature_set="eGeMAPSv02", sample_rate=16000)


def harmonic(f0: float, rate: int = 48000, seconds: float = 1.5) -> audio.Decoded:
    """A voiced-like tone: f0 and four harmonics of falling amplitude, as (n, 1) float32."""
    t = np.arange(int(seconds * rate)) / rate
    y = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
    return audio.Decoded(y.astype(np.float32)[:, None], rate)


@pytest.mark.parametrize("f0", [110.0, 220.0])
def test_egemaps_hears_the_pitch_of_a_tone_in_semitones_from_27_5_hz(f0):
    features = dict(zip(smile.feature_names(EGEMAPS), smile.clip_features(harmonic(f0), EGEMAPS)))
    assert features["F0semitoneFrom27.5Hz_sma3nz_amean"] == pytest.approx(12 * np.log2(f0 / 27.5), abs=0.3)
    assert features["F0semitoneFrom27.5Hz_sma3nz_stddevNorm"] < 0.01  # a steady tone


def test_compare_on_real_speech_is_finite_and_reads_every_container_alike(angry_take, tmp_path):
    settings = smile.SmileSettings(name="compare", feature_set="ComParE_2016", sample_rate=16000)
    from_flac = smile.file_features(str(angry_take), settings)
    assert from_flac.shape == (len(smile.feature_names(settings)),) == (6373,)
    assert np.isfinite(from_flac).all()
    samples, rate = soundfile.read(angry_take, dtype="float32")
    soundfile.write(tmp_path / "take.wav", samples, rate, subtype="FLOAT")
    np.testing.assert_allclose(smile.file_features(str(tmp_path / "take.wav"), settings), from_flac, rtol=1e-6, atol=1e-6)
    as_recorded = smile.SmileSettings(name="compare", feature_set="ComParE_2016", sample_rate=None)
    assert not np.allclose(smile.file_features(str(angry_take), as_recorded), from_flac)  # 48 kHz: another spectrum


def test_a_clip_too_short_for_the_set_is_refused_with_the_reason():
    with pytest.raises(audio.AudioError, match=r"non-finite values \(a clip of 0.01 s is too short"):
        smile.clip_features(harmonic(220.0, seconds=0.01), EGEMAPS)


@pytest.mark.parametrize("spec, message", [
    ({"feature_set": "ComParE_2013"}, r"opensmile_features.x.feature_set: 'ComParE_2013' is not allowed; it must be one of ComParE_2016"),
    ({"feature_set": "eGeMAPSv02", "sample_rate": 16000.5}, r"opensmile_features.x.sample_rate: 16000.5 is not allowed"),
    ({"feature_set": "eGeMAPSv02", "sample_rate": 4000}, r"from 8000 to 192000"),
    ({"feature_set": "eGeMAPSv02", "level": "lld"}, r"opensmile_features.x: unknown settings level; known: feature_set, sample_rate"),
])
def test_bad_settings_are_refused_naming_the_setting(spec, message):
    with pytest.raises(ValueError, match=message):
        settings_from("x", {"opensmile_features": {"x": spec}})
    with pytest.raises(ValueError, match="opensmile_features has no set 'y' \\(it has: x\\)"):
        settings_from("y", {"opensmile_features": {"x": spec}})

"""Audio features: known answers on synthetic signals, and librosa's own results on real speech."""

import re
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from pipeline.extract import audio
from pipeline.extract.functionals import pool, pooled_names

RATE = 16000


def tone(freq: float, seconds: float = 1.0, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def named_features(decoded: audio.Decoded, settings: audio.AudioSettings) -> dict[str, float]:
    return dict(zip(audio.feature_names(settings), audio.clip_features(decoded, settings)))


def named_pool(x: np.ndarray, names: list[str], functionals: list[str]) -> dict[str, float]:
    return dict(zip(pooled_names(names, functionals), pool(x, functionals)))


@pytest.fixture
def speech(angry_take) -> np.ndarray:
    decoded = audio.decode(str(angry_take))
    return audio.resample(audio.to_mono(decoded.samples), decoded.sample_rate, RATE)


def test_mfcc_matches_librosa_on_real_speech(speech):
    librosa = pytest.importorskip("librosa")
    expected = librosa.feature.mfcc(
        y=speech, sr=RATE, n_mfcc=20, n_fft=512, hop_length=160, n_mels=40, fmin=0.0, fmax=8000.0
    ).T
    power = audio.power_spectrum(audio.frames(speech, 512, 160))
    got = audio.mfcc(power, audio.mel_filterbank(RATE, 512, 40, 0.0, 8000.0), 20)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-3 * np.abs(expected).max())


def test_deltas_and_rms_match_librosa(speech):
    librosa = pytest.importorskip("librosa")
    framed = audio.frames(speech, 512, 160)
    cepstra = audio.mfcc(audio.power_spectrum(framed), audio.mel_filterbank(RATE, 512, 40, 0.0, 8000.0), 20)
    for order in (1, 2):
        np.testing.assert_allclose(
            audio.delta(cepstra, 9, order), librosa.feature.delta(cepstra.T, width=9, order=order).T, atol=1e-3
        )
    expected_rms = librosa.feature.rms(y=speech, frame_length=512, hop_length=160)[0]
    np.testing.assert_allclose(audio.rms(framed), expected_rms, rtol=1e-4, atol=1e-7)


def test_frames_are_centred_like_librosa():
    y = np.arange(1000, dtype=np.float32)
    framed = audio.frames(y, 512, 160)
    assert framed.shape == (1 + 1000 // 160, 512)
    assert framed[0, 256] == 0.0 and framed[1, 256] == 160.0  # frame t is centred on sample t*hop
    assert np.all(framed[0, :256] == 0)


@pytest.mark.parametrize("freq", [110.0, 220.0, 330.0])
def test_pitch_of_a_sine(freq):
    f0, voicing = audio.pitch(tone(freq), RATE, 160, 1024, 60.0, 500.0)
    inner = slice(10, -10)  # away from the zero-padded edges
    np.testing.assert_allclose(np.median(f0[inner]), freq, rtol=0.01)
    assert voicing[inner].min() > 0.9


def test_rms_and_spectral_shape_of_a_sine():
    framed = audio.frames(tone(1000.0, amplitude=0.5), 512, 160)[5:-5]
    np.testing.assert_allclose(audio.rms(framed), 0.5 / np.sqrt(2), rtol=0.02)
    centroid, rolloff, flatness = audio.spectral_shape(audio.power_spectrum(framed), RATE).mean(axis=0)
    assert abs(centroid - 1000.0) < 150 and abs(rolloff - 1000.0) < 100 and flatness < 0.01
    # zero crossings: 2 per period, 1000 periods per second
    np.testing.assert_allclose(audio.zero_crossing_rate(framed), 2000.0 / RATE, rtol=0.05)


def test_white_noise_is_spectrally_flat():
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    flatness = audio.spectral_shape(audio.power_spectrum(audio.frames(noise, 512, 160)), RATE)[:, 2]
    assert np.median(flatness) > 0.4


def test_silence_is_trimmed_from_the_active_span():
    y = np.concatenate([np.zeros(RATE), tone(200.0, 1.0), np.zeros(RATE)])
    span = audio.active_span(audio.rms(audio.frames(y, 512, 160)), top_db=40.0)
    assert abs(span.start * 160 - RATE) < 600 and abs(span.stop * 160 - 2 * RATE) < 600


def test_resampling_keeps_the_pitch():
    y = audio.resample(tone(220.0, rate=44100), 44100, RATE)
    assert len(y) == RATE
    f0, _ = audio.pitch(y, RATE, 160, 1024, 60.0, 500.0)
    np.testing.assert_allclose(np.median(f0[10:-10]), 220.0, rtol=0.01)


def test_stereo_is_downmixed():
    stereo = np.column_stack([np.ones(10), np.zeros(10)]).astype(np.float32)
    np.testing.assert_allclose(audio.to_mono(stereo), 0.5)


def test_clip_features_are_named_finite_and_stable(angry_take):
    decoded = audio.decode(str(angry_take))
    settings = audio.AudioSettings()
    features = named_features(decoded, settings)
    assert len(features) == len(audio.clip_features(decoded, settings)) == 2 + (20 * 3 + 6) * 8  # duration, voiced fraction, 66 descriptors x 8
    assert "mfcc00_mean" in features and "delta2_mfcc19_slope" not in features
    assert "delta219_slope" in features and "f0_semitones_p50" in features
    assert all(np.isfinite(v) for v in features.values())
    assert 0.5 < features["voiced_fraction"] <= 1.0
    assert 1.5 < features["active_duration_s"] < decoded.duration_s
    assert features == named_features(decoded, settings)  # deterministic


def test_descriptor_groups_select_columns(angry_take):
    decoded = audio.decode(str(angry_take))
    only_mfcc = audio.AudioSettings(descriptors=("mfcc",), functionals=("mean",))
    features = named_features(decoded, only_mfcc)
    assert sorted(features) == sorted(["active_duration_s"] + [f"mfcc{i:02d}_mean" for i in range(20)])
    with pytest.raises(ValueError, match="unknown descriptor groups"):
        audio.AudioSettings(descriptors=("chroma",))


def test_functionals_of_a_ramp():
    ramp = np.linspace(0.0, 10.0, 101)[:, None]
    functionals = ["mean", "min", "max", "range", "p50", "slope"]
    expected = {"x_mean": 5.0, "x_min": 0.0, "x_max": 10.0, "x_range": 10.0, "x_p50": 5.0, "x_slope": 10.0}
    assert named_pool(ramp, ["x"], functionals) == pytest.approx(expected)
    # A NaN frame appended at the end takes the NaN-aware path: same answers, slope over valid frames.
    with_gap = np.vstack([ramp, [[np.nan]]])
    assert named_pool(with_gap, ["x"], functionals) == pytest.approx({**expected, "x_slope": 10.0 * 101 / 100})


def test_functionals_ignore_nan_frames():
    x = np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan]])
    got = named_pool(x, ["a", "b"], ["mean", "std", "slope"])
    assert got["a_slope"] == pytest.approx(2.0 / 0.5)  # 1 -> 3 over the first half of the clip
    assert got["a_mean"] == 2.0 and got["a_std"] == 1.0 and np.isnan(got["b_mean"])


def test_unvoiced_clip_has_missing_pitch_not_an_error():
    noise = np.random.default_rng(1).standard_normal(RATE).astype(np.float32)[:, None] * 0.1
    features = named_features(audio.Decoded(noise, RATE), audio.AudioSettings())
    assert features["voiced_fraction"] < 0.2


def test_a_clip_too_short_for_deltas_is_refused():
    with pytest.raises(audio.AudioError, match="too short"):
        audio.clip_features(audio.Decoded(tone(200.0, 0.01)[:, None], RATE), audio.AudioSettings())


def test_decode_refuses_zero_length_truncated_and_corrupt_files(tmp_path, angry_take):
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros((0, 1), dtype=np.float32), RATE)
    with pytest.raises(audio.AudioError, match="zero-length"):
        audio.decode(str(empty))

    whole = tmp_path / "whole.wav"
    soundfile.write(whole, tone(200.0), RATE, subtype="PCM_16")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(whole.read_bytes()[: 44 + 2 * RATE // 2])
    with pytest.raises(audio.AudioError, match="truncated"):
        audio.decode(str(truncated))

    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"not audio at all" * 100)
    with pytest.raises(audio.AudioError, match="unreadable"):
        audio.decode(str(corrupt))

    cut_flac = tmp_path / "cut.flac"
    cut_flac.write_bytes(angry_take.read_bytes()[:20000])
    with pytest.raises(audio.AudioError):
        audio.decode(str(cut_flac))


def test_percentiles_match_numpy_with_and_without_nan():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(57, 4))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, 3] = np.nan
    x[:1, 2], x[1:, 2] = 5.0, np.nan  # a single valid value
    got = named_pool(x, list("abcd"), ["p5", "p10", "p50", "p90"])
    for q in (5, 10, 50, 90):
        expected = np.nanpercentile(x[:, :3], q, axis=0)
        np.testing.assert_allclose([got[f"{c}_p{q}"] for c in "abc"], expected)
        assert np.isnan(got[f"d_p{q}"])
    with pytest.raises(ValueError, match="unknown functionals"):
        pool(x, ["p101"])


@pytest.mark.parametrize("n_frames", [3, 4, 9, 10, 57])
@pytest.mark.parametrize("order", [1, 2])
def test_delta_equals_savgol_filter_at_every_length(n_frames, order):
    from scipy.signal import savgol_filter

    x = np.random.default_rng(n_frames).normal(size=(n_frames, 3))
    width = min(9, n_frames if n_frames % 2 else n_frames - 1)
    if width < order + 2:
        with pytest.raises(audio.AudioError, match="too short"):
            audio.delta(x, 9, order)
        return
    expected = savgol_filter(x, width, polyorder=order, deriv=order, axis=0, mode="interp")
    np.testing.assert_allclose(audio.delta(x, 9, order), expected, atol=1e-10)


@pytest.mark.parametrize(("rate", "n_fft", "n_mels", "fmin", "fmax"), [(16000, 512, 40, 0.0, 8000.0), (22050, 1024, 64, 50.0, 9000.0)])
def test_mel_filterbank_matches_librosa(rate, n_fft, n_mels, fmin, fmax):
    librosa = pytest.importorskip("librosa")
    expected = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    np.testing.assert_allclose(audio.mel_filterbank(rate, n_fft, n_mels, fmin, fmax), expected, rtol=1e-5, atol=1e-8)


def test_a_streamed_wav_with_placeholder_sizes_is_read_to_its_end(tmp_path, angry_take):
    """Recorders that stream write 0xFFFFFFFF for the sizes they do not know yet: all the audio is there."""
    samples, rate = soundfile.read(angry_take, dtype="float32")
    whole = tmp_path / "whole.wav"
    soundfile.write(whole, samples, rate, subtype="PCM_16")
    data = bytearray(whole.read_bytes())
    start = data.index(b"data")
    data[4:8] = data[start + 4 : start + 8] = (0xFFFFFFFF).to_bytes(4, "little")
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(data))
    decoded = audio.decode(str(streamed))
    np.testing.assert_array_equal(decoded.samples, audio.decode(str(whole)).samples)
    assert decoded.samples.shape[0] == len(samples)


@pytest.mark.parametrize(("setting", "value", "allowed"), [
    ("fmax", -1.0, "above fmin and at most sample_rate / 2"),
    ("fmin", 9000.0, "from 0 to below sample_rate / 2"),
    ("delta_width", -9, "an odd whole number >= 3"),
    ("n_mfcc", 0, "a whole number from 1 to n_mels"),
    ("sample_rate", "sixteen", "a whole number of Hz from 4000 to 192000"),
    ("hop_length", 0, "a whole number from 1 to n_fft"),
    ("voicing_threshold", float("nan"), "a number from 0 to 1"),
])
def test_settings_that_would_fail_later_or_change_the_features_quietly_are_refused_first(setting, value, allowed):
    with pytest.raises(ValueError, match=f"audio_features.{setting}: .* is not allowed; it must be {re.escape(allowed)}"):
        audio.AudioSettings(**{setting: value})


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturbation_scales_length_and_pitch_by_the_factor(factor):
    rate = 16000
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 440.0 * t).astype(np.float32)
    played = audio.speed_perturbed(tone, factor)
    assert len(played) == pytest.approx(rate / factor, abs=1)
    spectrum = np.abs(np.fft.rfft(played * np.hanning(len(played))))
    assert np.argmax(spectrum) * rate / len(played) == pytest.approx(440.0 * factor, abs=1.5)


def unknown_length_flac(path: Path, source: Path) -> Path:
    """A real FLAC as a streaming encoder writes it: STREAMINFO's total samples 0 (unknown), MD5 zero."""
    data = bytearray(source.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # the first metadata block is STREAMINFO
    fields = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)  # rate, channels, bits; total samples 0
    data[18:26], data[26:42] = fields.to_bytes(8, "big"), bytes(16)
    path.write_bytes(bytes(data))
    return path


def test_a_flac_of_unknown_length_is_read_whole_and_counted(tmp_path, angry_take):
    """libsndfile reports 2**63-1 frames for it (`array is too big`, a 192-trillion-second clip):
    decode counts what it reads instead, and the header's length is unknown, not believed."""
    clip = unknown_length_flac(tmp_path / "stream.flac", angry_take)
    expected = audio.decode(str(angry_take))
    decoded = audio.decode(str(clip))
    np.testing.assert_array_equal(decoded.samples, expected.samples)
    assert decoded.sample_rate == 48000 and audio.content_hash(decoded) == audio.content_hash(expected)
    assert audio.declared_seconds(str(clip)) is None
    with pytest.raises(audio.AudioError, match=r"holds more than 1 s of audio \(its header gives no length\)"):
        audio.decode(str(clip), max_seconds=1.0)


def lying_mp4(path: Path, source: Path, repeats: int, says_seconds: float) -> Path:
    """An mp4 of real speech (`source` `repeats` times, AAC) whose movie and track headers say it
    lasts `says_seconds`."""
    samples, rate = soundfile.read(source, dtype="float32")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.tile(samples, repeats)[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    data = bytearray(path.read_bytes())
    for box in (b"mvhd", b"mdhd", b"tkhd"):  # version 0: the duration follows the time fields
        at = data.index(box) + 4
        scale_at = at + 12 if box != b"tkhd" else data.index(b"mvhd") + 4 + 12
        offset = at + 16 if box != b"tkhd" else at + 20
        scale = int.from_bytes(data[scale_at:scale_at + 4], "big")
        data[offset:offset + 4] = int(says_seconds * scale).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_container_holding_more_audio_than_its_header_says_is_stopped_at_the_limit(tmp_path, angry_take):
    """An mp4 whose header says 1 s but holds 8 takes of speech (31 s) is decoded only up to the
    limit, whatever the header says; one that tells the truth is read whole."""
    clip = lying_mp4(tmp_path / "lies.mp4", angry_take, repeats=8, says_seconds=1.0)
    assert audio.declared_seconds(str(clip)) == pytest.approx(1.0, abs=0.1)
    with pytest.raises(audio.AudioError, match=r"holds more than 5 s of audio \(its header says 1.0 s\)"):
        audio.decode(str(clip), max_seconds=5.0)
    assert audio.decode(str(clip)).duration_s > 8 * 185786 / 48000 - 0.1  # the limit only: read whole


@pytest.mark.parametrize("suffix, codec", [(".m4a", "aac"), (".mp3", "libmp3lame"), (".opus", "libopus")])
def test_compressed_audio_files_are_decoded(tmp_path, angry_take, suffix, codec):
    """What users' clips come as: libsndfile reads MP3 and Opus, FFmpeg the AAC of an .m4a."""
    samples, rate = soundfile.read(angry_take, dtype="float32")
    path = tmp_path / f"clip{suffix}"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=48000 if codec != "libmp3lame" else 44100, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=stream.rate)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for chunk in [*resampler.resample(frame), *resampler.resample(None), None]:
            for packet in stream.encode(chunk):
                out.mux(packet)
    decoded = audio.decode(str(path))
    assert decoded.duration_s == pytest.approx(185786 / 48000, abs=0.3) and decoded.channels == 1  # AAC pads

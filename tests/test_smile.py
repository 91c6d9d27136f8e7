"""openSMILE feature sets: known answers on tones, real speech, and the settings checks."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml

from conftest import REPO, write_clip
from pipeline.extract import audio, extractors, smile
from pipeline.extract.outputs import extract_and_write

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
    ({"feature_set": "eGeMAPSv02", "level": "lld"},
     r"opensmile_features.x: unknown setting\(s\) level; known: feature_set, sample_rate, speed_copies"),
    ({"feature_set": "eGeMAPSv02", "speed_copies": 0.9}, r"opensmile_features.x.speed_copies: 0.9 is not allowed; it must be a list"),
    ({"feature_set": "eGeMAPSv02", "speed_copies": [0.9, 1.0]}, r"opensmile_features.x.speed_copies: \(0.9, 1.0\) is not allowed; "
     r"it must be a list of distinct speed factors from 0.5 to 2, none of them 1"),
    ({"feature_set": "eGeMAPSv02", "speed_copies": [3]}, r"from 0.5 to 2"),
    ({"feature_set": "eGeMAPSv02", "speed_copies": [1.1, 1.1]}, r"distinct"),
])
def test_bad_settings_are_refused_naming_the_setting(spec, message):
    with pytest.raises(ValueError, match=message):
        smile.job_from("x", {"x": spec})
    with pytest.raises(ValueError, match="opensmile_features has no set 'y' \\(it has: x\\)"):
        smile.job_from("y", {"x": spec})


def test_the_stage_writes_every_good_take_and_reports_each_bad_one_with_its_reason(tmp_path, angry_take):
    """A clip too short for the set and a file that turned corrupt after ingest: two rejects naming
    the file and the reason, and the good take's row."""
    clips = tmp_path / "clips"
    good = write_clip(clips / "good.wav", angry_take)
    short = write_clip(clips / "short.wav", angry_take, seconds=0.01)
    corrupt = clips / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + bytes(40))
    (tmp_path / "data").mkdir()
    pd.DataFrame({"take": ["t1", "t2", "t3", "t4"], "audio_path": [str(good), str(short), str(corrupt), None]}
                 ).to_parquet(tmp_path / "data" / "manifest.parquet")
    params = {"compute": {"backend": "local", "n_jobs": 2},
              "opensmile_features": {"egemaps": {"feature_set": "eGeMAPSv02", "sample_rate": 16000}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = subprocess.run([sys.executable, "-m", "pipeline.stages.opensmile_features", "egemaps"], cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "egemaps_features: 1 takes x 88 features, 2 rejected" in done.stdout
    features = pd.read_parquet(tmp_path / "features" / "egemaps.parquet")
    assert features["take"].tolist() == ["t1"] and np.isfinite(features.drop(columns="take").to_numpy()).all()
    rejects = pd.read_parquet(tmp_path / "features" / "egemaps_rejects.parquet").set_index("path")["reason"]
    assert "too short for it" in rejects[str(short)] and "unreadable audio" in rejects[str(corrupt)]


def test_speed_copies_are_the_set_on_the_clip_played_faster_and_slower(tmp_path, angry_take):
    """With speed_copies, the stage's table is the same as without, and the copies table holds one
    row per take and speed: the functionals of the clip played at that speed (its pitch moved by it)."""
    good = write_clip(tmp_path / "clips" / "good.wav", angry_take)
    (tmp_path / "data").mkdir()
    pd.DataFrame({"take": ["t1"], "audio_path": [str(good)]}).to_parquet(tmp_path / "data" / "manifest.parquet")
    tables = {}
    for speeds in ([], [0.9, 1.1]):
        params = {"compute": {"backend": "local", "n_jobs": 1}, "opensmile_features": {
            "egemaps": {"feature_set": "eGeMAPSv02", "sample_rate": 16000, "speed_copies": speeds}}}
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        done = subprocess.run([sys.executable, "-m", "pipeline.stages.opensmile_features", "egemaps"], cwd=tmp_path,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        tables[len(speeds)] = [pd.read_parquet(tmp_path / "features" / f"egemaps{end}.parquet") for end in ("", "_copies")]
    (plain, none), (same, copies) = tables[0], tables[2]
    pd.testing.assert_frame_equal(plain, same)
    assert none.empty and list(none.columns) == ["take", "speed", *plain.columns[1:]]
    assert copies["take"].tolist() == ["t1", "t1"] and copies["speed"].tolist() == [0.9, 1.1]
    pitch = "F0semitoneFrom27.5Hz_sma3nz_amean"
    moved = copies[pitch].to_numpy() - plain[pitch].to_numpy()
    np.testing.assert_allclose(moved, 12 * np.log2([0.9, 1.1]), atol=0.3)  # -1.8 and +1.7 semitones


def test_a_copy_too_short_for_the_set_is_left_out_and_its_take_kept(tmp_path, monkeypatch):
    """0.062 s is long enough for eGeMAPS as recorded and 10% slower, not 10% faster: the take and
    its slower copy are kept, the faster copy is left out and listed (kept) with the reason."""
    clip = tmp_path / "short.wav"
    tone = harmonic(220.0, seconds=0.062)
    soundfile.write(clip, tone.samples, tone.sample_rate)
    rows = smile.file_features_and_copies(str(clip), smile.WithCopies(EGEMAPS, (0.9, 1.1)))
    assert rows.shape == (3, 88) and np.isfinite(rows[:2]).all() and np.isnan(rows[2]).all()
    monkeypatch.chdir(tmp_path)
    extract_and_write("egemaps", pd.DataFrame({"take": ["t1"], "audio_path": [str(clip)]}), "audio_path",
                      smile.file_features_and_copies, smile.WithCopies(EGEMAPS, (0.9, 1.1)),
                      smile.feature_names(EGEMAPS), speeds=(0.9, 1.1), made_with=EGEMAPS)
    table = pd.read_parquet("features/egemaps.parquet")
    assert table["take"].tolist() == ["t1"] and extractors.rebuild(table.attrs) == EGEMAPS
    copies = pd.read_parquet("features/egemaps_copies.parquet")
    assert copies["speed"].tolist() == [0.9] and copies["take"].tolist() == ["t1"]
    (reject,) = pd.read_parquet("features/egemaps_rejects.parquet").to_dict("records")
    assert reject == {"path": str(clip), "reason": "its copy at speed 1.1 could not be measured: no training copy "
                      "at that speed", "outcome": "kept"}

"""The per-clip feature cache: a clip measured once is read back by its bytes, whatever its name,
with the very values extraction gives; new bytes, a refusal and an unreadable clip behave as without it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from pipeline import contentcache
from pipeline.extract import audio, featurecache
from pipeline.extract.batch import extract

from conftest import real_take, write_clip

CALLS: list[str] = []


def counted_features(address: str, settings: audio.AudioSettings) -> np.ndarray:
    """The own voice features, each call noted: what the cache spares is what is not called."""
    CALLS.append(address)
    return audio.file_features(address, settings)


@pytest.fixture
def clips(tmp_path, monkeypatch):
    monkeypatch.setenv(featurecache.ENV, str(tmp_path / "cache"))
    CALLS.clear()
    first = write_clip(tmp_path / "a.wav", real_take(1, "03-01-05-01-01-01-01"))
    second = write_clip(tmp_path / "b.wav", real_take(2, "03-01-03-01-01-01-02"))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not a wave file")
    return tmp_path, [str(first), str(second), str(broken), str(tmp_path / "missing.wav")]


def measure(addresses: list[str], cached: bool = True) -> tuple[np.ndarray, dict[int, str]]:
    settings = audio.AudioSettings()
    return extract(counted_features, addresses, settings, len(audio.feature_names(settings)), "test", cached)


def test_a_clip_measured_once_is_read_back_with_the_same_values_and_refusals(clips):
    folder, addresses = clips
    plain, plain_failures = measure(addresses, cached=False)
    assert set(plain_failures) == {2, 3} and not (folder / "cache").exists()
    CALLS.clear()
    first, failures = measure(addresses)
    assert len(CALLS) == 4 and failures == plain_failures
    np.testing.assert_array_equal(first, plain)
    CALLS.clear()
    again, failures_again = measure(addresses)
    assert CALLS == [addresses[3]]  # only the unreadable path, which has no bytes to key
    np.testing.assert_array_equal(again, plain)
    assert failures_again == plain_failures


def test_the_key_is_the_bytes_not_the_name(clips):
    folder, addresses = clips
    measure(addresses[:1])
    renamed = shutil.copy(addresses[0], folder / "elsewhere.wav")
    CALLS.clear()
    found, _ = measure([str(renamed)])
    assert CALLS == []
    write_clip(folder / "a.wav", real_take(3, "03-01-05-01-01-01-03"))  # new bytes at the old name
    changed, _ = measure(addresses[:1])
    assert CALLS == addresses[:1] and not np.array_equal(changed, found)


def test_an_image_sequence_is_keyed_by_every_frame_and_a_literal_name_by_its_own_bytes(tmp_path):
    frames = tmp_path / "seq"
    frames.mkdir()
    for i in range(3):
        (frames / f"S1_{i}.png").write_bytes(bytes([i]) * 10)
    settings = audio.AudioSettings()
    pattern = str(frames / "S1_*.png")
    first = featurecache.key(counted_features, pattern, settings)
    (frames / "S1_2.png").write_bytes(b"another frame")
    assert featurecache.key(counted_features, pattern, settings) != first
    bracketed = tmp_path / "take[1].wav"  # a pattern in shape, a file in fact: its own bytes, not take1.wav's
    shutil.copy(real_take(1, "03-01-05-01-01-01-01"), bracketed)
    shutil.copy(real_take(2, "03-01-03-01-01-01-02"), tmp_path / "take1.wav")
    assert featurecache.key(counted_features, str(bracketed), settings) != featurecache.key(
        counted_features, str(tmp_path / "take1.wav"), settings)
    with pytest.raises(OSError):
        featurecache.key(counted_features, str(frames / "S9_*.png"), settings)


def test_a_cache_key_covers_the_code_the_cached_work_imports_and_nothing_else():
    def names(module: str) -> set[str]:
        return {path.relative_to(path.parents[1]).as_posix() for path in contentcache.imported_sources(module)}

    fits = names("pipeline.learn.search")
    assert {"learn/search.py", "learn/learners.py", "learn/rowspace.py", "learn/kernel.py", "learn/imputer.py"} <= fits
    assert not fits & {"learn/importance.py", "learn/evaluation.py", "learn/fusion.py", "stages/train.py"}
    voice = names("pipeline.extract.audio")
    assert {"extract/audio.py", "extract/functionals.py", "ingest/sources.py"} <= voice  # the clip reader too
    assert not voice & {"extract/augment.py", "extract/face.py", "extract/featurecache.py"}

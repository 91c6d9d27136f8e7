"""Augmented training copies: drawn within the ranges asked for, seeded by the clip's bytes (the
same clip under another name gets the same copies), measured exactly as the voices measure the
drawn signal; and the copies join the training rows of only the models `train.augmented` names."""

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import real_take
from pipeline import paths
from pipeline.checks import SettingError
from pipeline.extract import audio, augment, conditions, degraded, smile
from pipeline.learn import dataset

TAKE = real_take(1, "03-01-05-02-01-01-01")
VOICES = (audio.AudioSettings(), smile.SmileSettings("is10", "IS10", 16000))
DRAW = {"room": {"chance": 0.3, "rt60": [0.2, 0.8]}, "noise": {"chance": 0.5, "snr_db": [5, 30]},
        "level": {"chance": 0.3, "gain_db": [-35, -5]}, "telephone": {"chance": 0.2},
        "codec": {"chance": 0.4, "bitrate": [16000, 64000]}}


def test_every_drawn_copy_meets_an_effect_within_its_range_and_an_effect_of_no_chance_never():
    draw = augment.Draw.from_block({**DRAW, "telephone": {"chance": 0.0}})
    rng = np.random.default_rng(0)
    drawn = [draw.condition(rng, "c") for _ in range(400)]
    met = pd.DataFrame({"room": [c.rt60 is not None for c in drawn], "noise": [c.noise is not None for c in drawn],
                        "level": [c.gain_db != 0 for c in drawn], "codec": [c.codec is not None for c in drawn]})
    assert met.any(axis=1).all() and not any(c.telephone for c in drawn)
    assert met["noise"].mean() > met["room"].mean()  # 0.5 against 0.3, before the redraws of copies with none
    assert all(0.2 <= c.rt60 <= 0.8 for c in drawn if c.rt60) and all(5 <= c.snr_db <= 30 for c in drawn if c.noise)
    assert all(-35 <= c.gain_db <= -5 for c in drawn if c.gain_db) and all(
        16000 <= c.bitrate <= 64000 for c in drawn if c.codec)
    assert {c.noise for c in drawn} == {None, "white", "pink"} and {c.codec for c in drawn} == {None, *conditions.CODECS}


@pytest.mark.parametrize("block,named", [
    ({**DRAW, "babble": {"chance": 0.1}}, "augment.draw: unknown setting(s) babble"),
    ({**DRAW, "room": {"chance": 0.3, "rt": [0.2, 0.8]}}, "augment.draw.room: unknown setting(s) rt"),
    ({**DRAW, "noise": {"chance": 1.5}}, "augment.draw.noise: 1.5 is not allowed"),
    ({**DRAW, "level": {"chance": 0.3, "gain_db": [-5, -35]}}, "augment.draw.gain_db: (-5, -35) is not allowed"),
    ({"room": {"chance": 0}}, "a copy meets at least one effect"),
    ([0.3], "augment.draw: [0.3] is not allowed"),
])
def test_a_bad_draw_is_refused_by_name(block, named):
    with pytest.raises(SettingError, match=re.escape(named)):
        augment.Draw.from_block(block)


def test_a_copy_is_the_clip_through_its_drawn_effects_and_the_same_bytes_get_the_same_copies(tmp_path):
    """Known answer: with only a level change of exactly -20 dB, the copy is the clip at a tenth of its
    amplitude, measured by both voices; the clip copied to another name gets the very same copies."""
    quieter = augment.Draw.from_block({"level": {"chance": 1.0, "gain_db": [-20, -20]}})
    job = augment.Job(2, 7, quieter, VOICES)
    copies = augment.copies_of_clip(str(TAKE), job)
    expected = degraded.measured_rows([degraded.mono(str(TAKE)) * np.float32(0.1)], VOICES)[0]
    assert copies.shape == (2, len(expected))
    np.testing.assert_allclose(copies, [expected, expected], rtol=1e-5, atol=1e-6)

    job = augment.Job(3, 7, augment.Draw.from_block(DRAW), VOICES)
    renamed = str(shutil.copy(TAKE, tmp_path / "someone_else.flac"))
    first = augment.copies_of_clip(str(TAKE), job)
    np.testing.assert_array_equal(first, augment.copies_of_clip(renamed, job))
    assert not np.allclose(first[0], first[1])  # each copy its own draw
    assert not np.allclose(first, augment.copies_of_clip(str(TAKE), augment.Job(3, 8, job.draw, VOICES)))


def test_augmented_copies_train_only_the_models_train_augmented_names(tmp_path, monkeypatch):
    """Speed copies for every model; the augmented ones only with `augmented` (a copy nothing could
    measure left out), each speaker's copy k standardised as a voice of its own under speaker
    normalisation."""
    monkeypatch.chdir(tmp_path)
    paths.AUGMENTED.mkdir(parents=True)
    table = pd.DataFrame({"take": ["a1", "a2", "b1"], "speaker": ["A", "A", "B"], "x": [1.0, 3.0, 5.0]})
    pd.DataFrame({"take": ["a1", "b1"], "speed": [0.9, 0.9], "x": [2.0, 6.0]}).to_parquet(paths.feature_copies("m"))
    pd.DataFrame({"take": ["a1", "a2", "b1", "gone", "a1"], "copy": [0, 0, 0, 0, 1],
                  "x": [0.0, 4.0, 8.0, 9.0, np.nan]}).to_parquet(
        paths.augmented_features("m"))
    plain = dataset.copies_of(table, "m", ["x"], "none")
    assert (plain.of.tolist(), plain.X[:, 0].tolist(), plain.augmented) == ([0, 2], [2.0, 6.0], 0)
    both = dataset.copies_of(table, "m", ["x"], "none", augmented=True)
    assert (both.of.tolist(), both.X[:, 0].tolist(), both.augmented) == ([0, 2, 0, 1, 2], [2, 6, 0, 4, 8], 3)
    normalised = dataset.copies_of(table, "m", ["x"], "speaker", augmented=True)
    assert normalised.X[:, 0].tolist() == [0.0, 0.0, -1.0, 1.0, 0.0]  # A@copy0: 0 and 4; a lone row: 0

"""Adapting to a new speaker from k clips: the statistics with and without the prior, on known signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.learn import adaptation
from pipeline.learn.normalisation import speaker_standardise


def test_without_a_prior_a_speakers_own_clips_standardise_as_in_training():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(40, 5))
    X[3, 1] = np.nan
    assert np.allclose(adaptation.standardised_by(X, X), speaker_standardise(X, np.zeros(40)), equal_nan=True)


def test_the_prior_counts_as_clips_of_the_speaker():
    prior = adaptation.Prior(mean=np.array([0.0]), variance=np.array([4.0]))
    one = np.array([[10.0]])  # one clip: its variance is 0, its mean 10
    # mean (1 * 10 + 3 * 0) / 4 = 2.5; variance (1 * 0 + 3 * 4) / 4 = 3
    assert adaptation.standardised_by(np.array([[5.5]]), one, prior, 3.0)[0, 0] == pytest.approx(3.0 / np.sqrt(3.0))
    many = np.repeat([[9.0], [11.0]], 500, axis=0)  # a thousand clips: nearly the speaker's own mean 10, spread 1
    expected = (11.0 - 10000.0 / 1003) / np.sqrt(1012.0 / 1003)
    assert adaptation.standardised_by(np.array([[11.0]]), many, prior, 3.0)[0, 0] == pytest.approx(expected)
    assert expected == pytest.approx(1.0, abs=0.03)


def test_the_prior_is_the_training_speakers_mean_of_means_and_of_variances():
    raw = np.array([[0.0], [2.0], [10.0], [14.0]])
    prior = adaptation.Prior.of(raw, np.array(["a", "a", "b", "b"]))
    assert prior.mean.tolist() == [6.5] and prior.variance.tolist() == [2.5]  # means 1, 12; variances 1, 4


class Shifted:
    """A 'model' that knows class c lies at c standard deviations above the speaker's mean."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.clip(np.round(X[:, 0] + 1.0), 0, 2).astype(int)


def test_speaker_rows_score_only_the_takes_not_drawn_and_the_plain_guesses_on_the_same_takes():
    y = np.tile([0, 1, 2], 10)
    raw = (y - 1.0)[:, None] * 1.0 + 50.0  # the speaker's offset of 50 is what normalisation removes
    rows = adaptation.speaker_rows(Shifted(), raw, y, plain=np.zeros(30, dtype=int), clips=[2, 30, 40], draws=3,
                                   rng=np.random.default_rng(0), prior=adaptation.Prior(np.zeros(1), np.ones(1)),
                                   prior_clips=4.0)
    table = pd.DataFrame(rows)
    assert set(table["clips"]) == {2, adaptation.ALL}  # 30 and 40 clips: not fewer than the speaker's takes
    assert (table.loc[table["clips"] == 2, "takes"] == 28).all() and len(table) == 2 * (3 + 1)
    whole = table[(table["clips"] == adaptation.ALL) & (table["prior_clips"] == 0)].iloc[0]
    assert whole["correct"] == 30 and whole["plain_correct"] == 10  # every take placed by its own statistics


def test_useful_from_is_the_fewest_clips_that_beat_the_plain_model_in_every_fold_from_then_on():
    table = pd.DataFrame({"gain_min_fold": [-0.2, 0.01, -0.01, 0.02, 0.05]}, index=[1, 2, 4, 8, adaptation.ALL])
    assert adaptation.useful_from(table) == 8
    assert adaptation.useful_from(table.assign(gain_min_fold=-0.1)) is None


def test_too_few_clips_are_refused_with_the_figures_that_say_why():
    curve = {"4": {"accuracy": 0.59, "plain": 0.57}, "8": {"accuracy": 0.61, "plain": 0.568},
             "all": {"accuracy": 0.66, "plain": 0.57}}
    record = adaptation.Record("m + speaker norm", "m", 8.0, 8, curve)
    assert record.refusal("ana", 8) is None
    said = record.refusal("ana", 5)
    assert said.startswith("--speaker ana: 5 clips with features;") and "from 8 clips (m + speaker norm: 61.0% " \
        "against 56.8%) (with 4 clips 59.0% against 57.0%): give at least 8 clips" in said
    assert "never beat" in adaptation.Record("m", "m", 8.0, None, curve).refusal("ana", 100)

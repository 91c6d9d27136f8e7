"""Speaker-bootstrap intervals and paired tests on predictions with known answers."""

import numpy as np
import pytest

from pipeline.learn import metrics
from pipeline.report import intervals


def predictions(n_speakers: int = 20, per_speaker: int = 24, accuracy: float = 0.6, seed: int = 1):
    """Labels over 4 classes, and a guess right with probability `accuracy` (wrong: another class)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n_speakers * per_speaker)
    right = rng.random(len(labels)) < accuracy
    guess = np.where(right, labels, (labels + rng.integers(1, 4, len(labels))) % 4)
    return labels, guess, np.repeat([f"s{i}" for i in range(n_speakers)], per_speaker)


def test_the_estimate_is_the_figure_on_all_takes_and_lies_inside_its_interval():
    labels, guess, speakers = predictions()
    found = intervals.interval(labels, guess, speakers)
    assert found["accuracy"].value == pytest.approx(np.mean(labels == guess))
    assert found["uar"].value == pytest.approx(metrics.uar(labels, guess))
    for estimate in found.values():
        assert estimate.low < estimate.value < estimate.high and estimate.high - estimate.low < 0.2


def test_speakers_are_resampled_not_takes():
    """Two speakers, one always right and one always wrong: a take bootstrap would give about
    50% +- 4 points; drawing whole speakers can give anything from 0 to 100%."""
    labels = np.zeros(200, dtype=int)
    guess = np.r_[np.zeros(100, dtype=int), np.ones(100, dtype=int)]
    found = intervals.interval(labels, guess, np.repeat(["a", "b"], 100))["accuracy"]
    assert found.value == 0.5 and found.low == 0.0 and found.high == 1.0


def test_two_identical_prediction_sets_differ_by_nothing_with_p_1():
    labels, guess, speakers = predictions()
    for difference in intervals.paired(labels, guess, guess, speakers).values():
        assert (difference.value, difference.low, difference.high, difference.p) == (0.0, 0.0, 0.0, 1.0)


def test_a_planted_difference_is_found_and_a_tiny_one_is_not_called_significant():
    labels, worse, speakers = predictions(accuracy=0.55)
    better = worse.copy()
    wrong = np.flatnonzero(better != labels)
    better[wrong[::3]] = labels[wrong[::3]]  # a third of the mistakes mended: about +15 points
    found = intervals.paired(labels, better, worse, speakers)["accuracy"]
    assert found.value == pytest.approx(np.mean(better == labels) - np.mean(worse == labels))
    assert 0 < found.low < found.value < found.high and found.p < 0.01
    nearly = worse.copy()
    nearly[wrong[0]] = labels[wrong[0]]  # one take mended
    assert intervals.paired(labels, nearly, worse, speakers)["accuracy"].p > 0.05


def test_the_same_predictions_give_the_same_interval():
    labels, guess, speakers = predictions()
    assert intervals.interval(labels, guess, speakers) == intervals.interval(labels, guess, speakers)

"""Conformal prediction sets and reliability on signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.learn import conformal


def test_the_threshold_is_the_finite_sample_quantile_of_one_minus_the_true_probability():
    p_true = np.linspace(0.05, 0.95, 19)  # scores 1 - p: 0.05 ... 0.95
    assert conformal.threshold(p_true, 0.9) == pytest.approx(0.90)  # the 18th smallest (ceil(20 * 0.9)) of 19
    assert conformal.threshold(p_true, 0.5) == pytest.approx(0.5)  # rank 10
    assert conformal.threshold(p_true[:5], 0.9) == 1.0  # 5 takes cannot promise 90%: every emotion


def test_sets_hold_every_emotion_above_the_cut_and_never_none():
    P = np.array([[0.6, 0.3, 0.1], [0.34, 0.33, 0.33]])
    assert conformal.sets(P, 0.75).tolist() == [[True, True, False], [True, True, True]]
    assert conformal.sets(P, 0.1).sum(axis=1).tolist() == [1, 1]  # the most probable, when nothing clears 0.9


def calibrated_takes(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from them: perfectly calibrated by construction."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(k, 0.7), size=n)
    y = np.array([rng.choice(k, p=p) for p in P])
    return P, y


def test_cross_fold_sets_reach_their_coverage_and_calibrated_probabilities_have_a_small_ece():
    P, y = calibrated_takes(6000, 6, seed=1)
    folds = np.arange(len(y)) % 5
    found = conformal.cross_fold_coverage(P, y, folds, 0.9)
    assert found.coverage == pytest.approx(0.9, abs=0.015) and len(found.per_fold) == 5
    assert 1 < found.mean_size < 6 and 0 < found.singletons < 1
    assert conformal.reliability(P, y, bins=10).ece < 0.03


def test_overconfident_probabilities_show_in_the_reliability_bins():
    P, y = calibrated_takes(6000, 6, seed=2)
    sharp = P ** 3 / (P ** 3).sum(axis=1, keepdims=True)  # the same ranking, far too sure
    found = conformal.reliability(sharp, y, bins=10)
    assert found.ece > 0.1 and sum(found.counts) == len(y)
    filled = [(c, a) for c, a in zip(found.confidence, found.accuracy) if c is not None and c > 0.6]
    assert filled and all(a < c for c, a in filled)  # sure of more than it gets right


def test_the_settings_refuse_a_coverage_that_promises_nothing_or_everything():
    assert conformal.Settings.from_params({"calibrate": {"coverage": 0.8}}).bins == 10
    for bad in ({"coverage": 1.0}, {"coverage": "90%"}, {"bins": 1}, {"level": 0.9}):
        with pytest.raises(ValueError, match="calibrate"):
            conformal.Settings.from_params({"calibrate": bad})

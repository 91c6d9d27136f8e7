"""Platt scaling from out-of-fold decision values: known sigmoids recovered, probabilities well formed."""

import numpy as np
import pytest
from scipy.special import expit

from pipeline.learn import calibration, learners


def test_a_known_sigmoid_is_recovered_from_its_samples():
    rng = np.random.default_rng(0)
    decision = rng.uniform(-4, 4, 40_000)
    positive = rng.random(40_000) < expit(-(-1.5 * decision + 0.7))
    a, b = calibration.fit_sigmoid(decision, positive)
    assert a == pytest.approx(-1.5, abs=0.05) and b == pytest.approx(0.7, abs=0.05)


def test_probabilities_sum_to_one_and_classes_never_scored_get_none():
    sigmoids = np.array([[-2.0, 0.0], [-2.0, 0.0], [np.nan, np.nan]])
    decisions = np.array([[3.0, -3.0, np.nan], [0.0, 0.0, np.nan]])
    p = calibration.probabilities(sigmoids, decisions)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] > 0.99 and p[1, 0] == pytest.approx(0.5) and (p[:, 2] == 0).all()


def test_a_calibrated_svm_ranks_like_its_decisions_and_handles_two_classes():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(2.5, 1, (60, 3))])
    y = np.repeat([0, 1], 60)
    model = learners.build("svm", 0).fit(X, y)
    d = calibration.decisions(model, X, 2)
    assert d.shape == (120, 2) and np.array_equal(calibration.votes_winner(d), model.predict(X))
    scaled = calibration.PlattScaled(model, calibration.fit_sigmoids(d, y))
    proba = scaled.predict_proba(X)
    assert np.array_equal(proba.argmax(axis=1), model.predict(X))
    assert list(scaled.classes_) == [0, 1] and np.mean(scaled.predict(X) == y) > 0.9


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_the_vote_winner_of_the_decisions_is_the_svms_own_prediction(n_classes):
    rng = np.random.default_rng(n_classes)
    X = rng.normal(0, 1, (60 * n_classes, 4)) + np.repeat(np.eye(n_classes, 4) * 1.2, 60, axis=0)
    y = np.repeat(np.arange(n_classes), 60)
    model = learners.build("svm", 0).set_params(clf__C=0.5).fit(X, y)
    fresh = rng.normal(0, 1.5, (2000, 4))
    d = calibration.decisions(model, fresh, n_classes)
    assert np.array_equal(calibration.votes_winner(d), model.predict(fresh))
    votes = np.rint(d)
    np.testing.assert_allclose(votes.sum(axis=1), n_classes * (n_classes - 1) / 2)
    assert np.all(np.abs(d - votes) < 1 / 3)

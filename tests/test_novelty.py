"""The novelty flag on point clouds with known answers: distances in the training takes' space,
units that do not matter, a threshold that flags the share it is set to on new takes."""

import numpy as np
import pytest

from pipeline.learn import novelty

SETTINGS = novelty.Settings(neighbours=5, components=10, flag_rate=0.05)


def cloud(n: int, seed: int, dims: int = 30) -> np.ndarray:
    """Takes of a correlated Gaussian (a few strong directions, like acoustic descriptors)."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(0).normal(size=(dims, dims)) * np.linspace(3, 0.1, dims)[:, None]
    return rng.normal(size=(n, dims)) @ mixing + 50.0


def test_a_training_take_is_at_distance_zero_from_itself_and_a_far_one_is_far():
    X = cloud(400, 1)
    model = novelty.Model.fit(X, novelty.Settings(neighbours=1, components=10))
    assert np.allclose(model.score(X[:20]), 0.0, atol=1e-6)  # the expanded square loses a few digits
    new = cloud(200, 2)
    far = X.mean(axis=0) + 8 * X.std(axis=0)
    assert model.score(far[None])[0] > 3 * np.max(model.score(new))


def test_the_units_of_a_feature_do_not_change_a_score():
    X, new = cloud(300, 1), cloud(50, 2)
    in_millis = np.array([1000.0] + [1.0] * (X.shape[1] - 1))
    a = novelty.Model.fit(X, SETTINGS).score(new)
    b = novelty.Model.fit(X * in_millis, SETTINGS).score(new * in_millis)
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_a_take_without_the_modality_has_no_score_and_a_missing_value_is_the_training_mean():
    X = cloud(300, 1)
    model = novelty.Model.fit(X, SETTINGS)
    rows = np.vstack([np.full(X.shape[1], np.nan), X[0]])
    rows[1, 3] = np.nan
    filled = X[0].copy()
    filled[3] = X[:, 3].mean()
    score = model.score(rows)
    assert np.isnan(score[0]) and np.isclose(score[1], model.score(filled[None])[0])
    assert not model.flagged(rows[:1])[0]


def test_the_threshold_is_the_conformal_quantile_and_too_few_takes_flag_nothing():
    assert novelty.exceeded(np.arange(1.0, 20.0), 0.05) == 19.0  # ceil(20 x 0.95) = 19th of 19
    assert novelty.exceeded(np.arange(1.0, 100.0), 0.05) == 95.0  # ceil(100 x 0.95) = 95th of 99
    assert novelty.exceeded(np.arange(10.0), 0.05) == np.inf


def test_held_out_takes_are_flagged_at_the_rate_set_and_copies_are_fitted_never_scored():
    X = cloud(1000, 3)
    fold = np.arange(len(X)) % 5
    copies = cloud(200, 4)
    heard = X[:50] + 8 * X.std(axis=0)  # the first takes, far off: scored by their fold's model
    model, scores, heard_scores, record = novelty.calibrated(
        novelty.Rows(X, fold), SETTINGS, novelty.Rows(copies, np.arange(200) % 5), novelty.Rows(heard, fold[:50]))
    assert record["n_takes"] == 1000 and 0.02 <= record["held_out_flagged"] <= 0.09
    assert set(record["held_out_flagged_per_fold"]) == set(range(5))
    assert len(model.points) == 1200 and model.threshold() == record["threshold"] and model.flag_rate == 0.05
    assert np.array_equal(model.held_out, np.sort(scores)) and model.threshold(2) > model.threshold()
    assert (heard_scores > model.threshold()).all() and len(heard_scores) == 50
    assert 0.01 <= model.flagged(cloud(2000, 5)).mean() <= 0.09  # new takes of the same kind
    assert model.flagged(X.mean(axis=0, keepdims=True) + 8 * X.std(axis=0)).all()


def test_a_setting_out_of_range_is_refused_naming_it():
    import pytest
    from pipeline.checks import SettingError
    with pytest.raises(SettingError, match="novelty.flag_rate"):
        novelty.Settings(flag_rate=0.9)


def test_a_clip_tested_on_several_modalities_is_flagged_at_the_rate_set_not_once_per_modality():
    fold = np.arange(1000) % 5
    models = {}
    for name, seed in (("voice", 3), ("other", 6), ("third", 7)):
        models[name], _, _, _ = novelty.calibrated(novelty.Rows(cloud(1000, seed), fold), SETTINGS)
    new = {name: model.score(cloud(3000, seed + 10)) for (name, model), seed in zip(models.items(), (3, 6, 7))}
    alone = np.mean([(new[m] > model.threshold()).mean() for m, model in models.items()])
    held_out = {m: model.held_out for m, model in models.items()}
    together = novelty.flagged_together(new, held_out, 0.05).mean()
    assert 0.02 <= alone <= 0.09 and together <= 0.07  # one modality: ~5%; any of three: still ~5%, not ~14%
    one_missing = {**new, "third": np.full(3000, np.nan)}  # two modalities tested: each at 2.5%
    assert novelty.flagged_together(one_missing, held_out, 0.05).mean() <= 0.07


@pytest.mark.parametrize("shape", [(60, 300), (300, 60)])
def test_the_principal_axes_span_what_a_full_svd_finds(shape):
    rng = np.random.default_rng(4)
    Z = rng.normal(size=shape) * np.linspace(5, 1, shape[1])
    axes = novelty.principal_axes(Z, 7)
    _, _, vt = np.linalg.svd(Z, full_matrices=False)
    assert axes.shape == (7, shape[1]) and np.allclose(axes @ axes.T, np.eye(7))
    assert np.allclose(axes.T @ axes, vt[:7].T @ vt[:7], atol=1e-10)  # the same projection

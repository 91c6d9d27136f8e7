"""RowSpace: the same linear model and the same training distances in n_rows columns."""

import numpy as np
from scipy.spatial.distance import pdist
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from pipeline.learn.rowspace import RowSpace


def wide(seed: int = 0, n: int = 120, d: int = 900) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n + 40)
    X = rng.standard_normal((n + 40, d)) + 0.3 * np.eye(3)[y] @ rng.standard_normal((3, d))
    return X[:n], y[:n], X[n:]


def test_logistic_regression_makes_the_same_predictions_in_the_row_space():
    X, y, test = wide()
    full = LogisticRegression(C=0.05, max_iter=5000, tol=1e-10).fit(X, y)
    projected = make_pipeline(RowSpace(), LogisticRegression(C=0.05, max_iter=5000, tol=1e-10)).fit(X, y)
    assert projected[0].turn_.shape == (120, 119)  # 120 centred rows span 119 dimensions
    np.testing.assert_allclose(projected.predict_proba(test), full.predict_proba(test), atol=1e-6)


def test_distances_between_training_rows_are_kept_and_the_basis_is_orthonormal():
    X, _, _ = wide(seed=1)
    space = RowSpace().fit(X)
    np.testing.assert_allclose(pdist(space.transform(X)), pdist(X), rtol=1e-9)
    basis = space.rows_.T @ space.turn_
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-9)


def test_the_training_rows_coordinates_from_fitting_are_their_transform():
    X, _, test = wide(seed=3)
    space = RowSpace()
    np.testing.assert_allclose(space.fit_transform(X), space.transform(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(RowSpace().fit(X).transform(test), space.transform(test))


def test_a_table_with_more_rows_than_columns_passes_through_unchanged():
    X = np.random.default_rng(2).standard_normal((50, 8))
    np.testing.assert_array_equal(RowSpace().fit(X).transform(X), X)

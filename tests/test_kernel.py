"""KernelSVC on SquaredDistances: scikit-learn's RBF SVM, from distances computed once."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from pipeline.learn.kernel import KernelSVC, SquaredDistances


def blobs(seed: int = 0, n: int = 150, d: int = 20, classes: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n + 60)
    X = rng.standard_normal((n + 60, d)) + 1.5 * rng.standard_normal((classes, d))[y]
    return X[:n], y[:n], X[n:]


def test_squared_distances_are_the_euclidean_ones_to_the_training_rows():
    X, _, test = blobs()
    distances = SquaredDistances().fit(X)
    np.testing.assert_allclose(distances.transform(test), cdist(test, X, "sqeuclidean"), rtol=1e-9, atol=1e-9)
    assert np.all(np.diag(distances.transform(X)) < 1e-9) and distances.transform(X).min() >= 0


@pytest.mark.parametrize("C, gamma", [(1.0, 0.01), (100.0, 0.001), (0.3, 0.2)])
def test_the_decisions_and_predictions_are_the_rbf_svms(C, gamma):
    X, y, test = blobs()
    rbf = SVC(C=C, gamma=gamma, class_weight="balanced", decision_function_shape="ovo").fit(X, y)
    kernel = make_pipeline(SquaredDistances(), KernelSVC(C=C, gamma=gamma, class_weight="balanced")).fit(X, y)
    # the kernel entries differ in their last bits, so libsvm may stop at another point within its tolerance (1e-3)
    np.testing.assert_allclose(kernel.decision_function(test), rbf.decision_function(test), atol=1e-3)
    np.testing.assert_array_equal(kernel.predict(test), rbf.predict(test))
    np.testing.assert_array_equal(kernel.classes_, rbf.classes_)


def test_scale_is_scikit_learns_scale_on_standardised_columns():
    X, y, test = blobs(seed=1)
    scaler = StandardScaler().fit(X)
    X, test = scaler.transform(X), scaler.transform(test)
    rbf = SVC(gamma="scale", decision_function_shape="ovo").fit(X, y)
    kernel = make_pipeline(SquaredDistances(), KernelSVC(gamma="scale")).fit(X, y)
    assert kernel[-1].gamma_ == pytest.approx(1.0 / (X.shape[1] * X.var()))
    np.testing.assert_allclose(kernel.decision_function(test), rbf.decision_function(test), atol=1e-3)

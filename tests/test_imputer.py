"""MedianImputer: the numbers of scikit-learn's median SimpleImputer, on tables with known gaps."""

import numpy as np
import pytest
from sklearn.impute import SimpleImputer

from pipeline.learn.imputer import MedianImputer


@pytest.mark.parametrize("rows", [7, 8])  # an odd and an even count: the middle value, the mean of two
def test_fills_gaps_with_the_training_medians_as_simple_imputer_does(rows):
    rng = np.random.default_rng(rows)
    X = rng.normal(size=(rows, 6))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 4] = np.nan  # no value at all: dropped
    X[0, 1] = X[1, 1] = np.nan  # two gaps in one column
    test = rng.normal(size=(5, 6))
    test[:, 0] = np.nan  # gaps where training had none
    test[2, 3] = np.nan
    ours, theirs = MedianImputer().fit(X), SimpleImputer(strategy="median").fit(X)
    np.testing.assert_array_equal(ours.statistics_, theirs.statistics_)
    np.testing.assert_array_equal(ours.transform(test), theirs.transform(test))
    np.testing.assert_array_equal(ours.fit_transform(X), theirs.fit_transform(X))
    filled = ours.transform(test)
    assert filled.shape == (5, 5) and np.isnan(test).sum() == 6  # the caller's rows untouched
    # row-major like SimpleImputer's output: the scaler's and the row space's sums, hence every
    # later number, depend on the memory order (column-major moved a ComParE model's accuracy)
    assert filled.flags.c_contiguous


def test_a_table_of_another_width_is_refused():
    imputer = MedianImputer().fit(np.ones((3, 4)))
    with pytest.raises(ValueError, match="X has 3 features, but MedianImputer was fitted with 4"):
        imputer.transform(np.ones((2, 3)))

import numpy as np
import pytest

from pipeline.learn.normalisation import normalise


def test_speaker_standardisation_uses_each_speakers_own_rows_only():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(5, 2, (30, 3)), rng.normal(-1, 0.5, (20, 3))])
    X[0, 2] = np.nan
    X[:, 1][:30] = 7.0  # constant within speaker a
    speakers = np.array(["a"] * 30 + ["b"] * 20)
    Z = normalise("speaker", X, speakers)
    for s in ("a", "b"):
        rows = speakers == s
        np.testing.assert_allclose(np.nanmean(Z[rows], axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(Z[speakers == "b"], axis=0), 1)
    assert np.all(Z[:30, 1] == 0) and np.isnan(Z[0, 2])
    # speaker b's rows do not change when speaker a's data does
    X2 = X.copy()
    X2[:30] *= 10
    np.testing.assert_array_equal(normalise("speaker", X2, speakers)[30:], Z[30:])
    assert normalise("none", X, speakers) is X
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalise("gender", X, speakers)

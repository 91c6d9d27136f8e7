"""Comparison variants select takes by manifest columns, and refuse selections that keep nothing."""

import pandas as pd
import pytest

from pipeline.learn.dataset import subset

TAKES = pd.DataFrame({
    "take": ["a", "b", "c", "d"],
    "channel": ["speech", "song", "speech", None],  # None: a CK+ sequence has no vocal channel
    "label": ["happy", "sad", "calm", "happy"],
    "intensity": ["normal", "strong", "strong", None],
})


def test_a_variant_keeps_the_takes_matching_every_key():
    assert subset(TAKES, {"channels": ["speech"]})["take"].tolist() == ["a", "c"]
    assert subset(TAKES, {"emotions": ["happy", "sad"]})["take"].tolist() == ["a", "b", "d"]
    assert subset(TAKES, {"channels": ["speech"], "intensities": ["strong"]})["take"].tolist() == ["c"]


def test_a_variant_that_keeps_nothing_or_names_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="keeps no take"):
        subset(TAKES, {"emotions": ["boredom"]})
    with pytest.raises(ValueError, match="not by gender"):
        subset(TAKES, {"gender": ["female"]})

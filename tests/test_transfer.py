"""The cross-corpus settings: which sides a corpus's own files can be scored on, and what is refused."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO
from pipeline.apply import transfer
from pipeline.learn.run import Run


def test_the_sides_are_the_voices_together_and_each_face_read_from_video():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    sides = transfer.sides(Run.of_params(params))
    assert sides == {"voice": ("audio", "compare2016", "is10"), "face_face": ("face",)}  # au needs its table


def test_a_cross_corpus_entry_names_a_known_corpus_and_a_path():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert transfer.Source.from_params("emodb", params) == transfer.Source("emodb", "../shared/data/emodb")
    for entry, message in (({"corpus": "iemocap", "path": "x"}, "cross_corpus.corpus: 'iemocap' is not allowed"),
                           ({"corpus": "emodb", "path": ""}, "cross_corpus.path"),
                           ({"corpus": "emodb", "root": "x"}, r"unknown setting\(s\) root")):
        with pytest.raises(ValueError, match=message):
            transfer.Source.from_params("x", params | {"cross_corpus": {"x": entry}})

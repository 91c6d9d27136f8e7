"""The run record: written once from params, read back the same (the order of modalities orders
the fusion groups, and so which decision is deployed), and the edits it was not trained with named."""

import copy

import pytest
import yaml

from conftest import REPO
from pipeline.learn.run import Run

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def test_a_run_reads_back_as_written_with_its_groups_in_order(tmp_path):
    run = Run.of_params(PARAMS)
    run.write(tmp_path / "run.json")
    again = Run.read(tmp_path / "run.json")
    assert again == run and [g.name for g in again.groups] == [g.name for g in run.groups]
    assert again.plan.modalities == ["audio", "face", "au", "compare2016", "is10"]  # not sorted by the JSON writer
    assert again.reads("face") == "video_path" and again.reads("compare2016") == "audio_path"
    assert again.reads("au") is None  # measured elsewhere: a table, no file of the take


def test_the_edits_not_yet_trained_are_named_and_none_when_params_agree():
    run = Run.of_params(PARAMS)
    assert run.untrained(PARAMS) == []
    edited = copy.deepcopy(PARAMS)
    edited["fuse"]["deploy"] = "mean"
    edited["run"]["learners"] = ["svm"]
    said = run.untrained(edited)
    assert said[0] == "fuse.deploy is mean, the models deploy selected"
    assert said[1].startswith("run trains audio: svm, face: svm, au: svm, compare2016: logreg")
    assert "; the models are audio: svm+rf+xgb" in said[1] and len(said) == 2


def test_a_record_of_another_version_is_refused(tmp_path):
    (tmp_path / "run.json").write_text('{"version": 0}')
    with pytest.raises(ValueError, match="version 0, not 1"):
        Run.read(tmp_path / "run.json")

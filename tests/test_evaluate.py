"""`evaluate --out DIR` replaces DIR whole, so it must never hold what the run did not write: a
user's notes, the clips being scored, the trained models, the project."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import real_take, write_clip
from pipeline.apply import evaluate, scoring
from pipeline.errors import InputError


def report(out: Path, scored: Path, project: Path) -> None:
    """What a run does with its folder: write into a fresh one, then swap it in."""
    keep = evaluate.kept_from(str(scored))
    evaluate.replaceable(out, keep)  # as `run` does before any work
    fresh = evaluate.writable_out(out)
    (fresh / "evaluation.md").write_text("# Evaluation\n")
    evaluate.swap_in(fresh, out, keep)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder (trained models, data) with a folder of real clips to score beside it."""
    root = tmp_path / "project"
    (root / "models" / "learners").mkdir(parents=True)
    (root / "models" / "learners" / "svm-none.joblib").write_bytes(b"a trained model")
    (root / "data").mkdir()
    monkeypatch.chdir(root)
    write_clip(tmp_path / "clips" / "Actor_21" / "03-01-05-01-01-01-21.wav", real_take(1, "03-01-05-01-01-01-01"))
    return root


def test_a_folder_of_the_users_files_is_refused_and_left_whole(project, tmp_path):
    mine = tmp_path / "mine"
    (mine / "drafts").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(InputError, match=r"not an earlier evaluation's report .* name a new or empty folder"):
        report(mine, tmp_path / "clips", project)
    assert (mine / "notes.txt").read_text() == "my notes" and (mine / "drafts").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips", "mine", "project"]  # no partial folder left


@pytest.mark.parametrize("out", ["clips", "clips/Actor_21", ".", "project", "project/models", "project/data"])
def test_the_clips_scored_and_the_project_are_never_an_out_folder(project, tmp_path, out):
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(InputError, match="--out"):
        report(tmp_path / out, tmp_path / "clips" / "Actor_21", project)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_an_earlier_evaluation_is_replaced_but_not_once_a_user_file_joins_it(project, tmp_path):
    out = tmp_path / "evaluation"
    report(out, tmp_path / "clips", project)
    (out / "evaluation.md").write_text("an earlier run")
    report(out, tmp_path / "clips", project)  # the marked folder of an earlier run: replaced whole
    assert (out / "evaluation.md").read_text() == "# Evaluation\n"
    assert json.loads((out / evaluate.MARKER).read_text()) == {"files": ["evaluation.md"]}
    (out / "my_comments.md").write_text("mine")
    with pytest.raises(InputError, match=r"holds my_comments.md, which no evaluation wrote"):
        report(out, tmp_path / "clips", project)
    assert (out / "my_comments.md").read_text() == "mine"


def test_an_empty_folder_or_a_new_one_is_written(project, tmp_path):
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "new"):
        report(out, tmp_path / "clips", project)
        assert (out / "evaluation.md").exists()


def test_one_speakers_verdict_gives_no_interval_rather_than_a_zero_wide_one():
    figures = {"n_takes": 8, "accuracy": 0.5, "uar": 0.5, "accuracy_ci": [0.5, 0.5], "uar_ci": [0.5, 0.5],
               "deployed": True, "cross_validated_same_channels": 0.636, "channels_matched": "speech",
               "chance_uar": 0.25, "top_answer": "sad", "top_answer_share": 0.5, "left_out": {},
               "flagged_share": 0.0}
    one = evaluate.verdict({"voice": {**figures, "n_speakers": 1}}, "table")
    assert "(no interval: one speaker)" in one and "[50.0%, 50.0%]" not in one and "interval holds" not in one
    two = evaluate.verdict({"voice": {**figures, "n_speakers": 2, "accuracy_ci": [0.3, 0.7]}}, "table")
    assert "[30.0%, 70.0%]" in two and "(the interval holds the cross-validated figure)" in two


def test_a_one_answer_model_reads_as_one_in_the_verdict():
    """A model answering `angry` to everything scores its share of angry takes: the verdict puts chance,
    the commonest answer's share and the labels it left out beside it."""
    classes = ["neutral", "happy", "sad", "angry"]
    labels = ["angry"] * 4 + ["sad"] * 2 + ["happy"] + ["neutral"] + ["boredom"] * 3
    takes = pd.DataFrame({"label": labels, "speaker": ["a", "b"] * 5 + ["a"], "channel": "speech",
                          "intensity": "normal"})
    probabilities = np.tile([0.1, 0.1, 0.1, 0.7], (len(takes), 1))
    figures = scoring.score(classes, probabilities, takes)
    assert figures["accuracy"] == 0.5 and figures["uar"] == 0.25 and figures["chance_uar"] == 0.25
    assert (figures["top_answer"], figures["top_answer_share"], figures["left_out"]) == ("angry", 1.0, {"boredom": 3})
    figures |= {"n_speakers": 2, "deployed": True, "cross_validated_same_channels": 0.636, "channels_matched": "speech",
                "flagged_share": 0.25}
    said = evaluate.verdict({"voice": figures}, "table")
    assert ("UAR 25.0% against chance 25.0%; its commonest answer, angry, is 100.0% of its answers; 25.0% of the "
            "takes are flagged as unlike the training takes; left out, labels it does not know: boredom (3 takes).") in said
    assert "| chance UAR | commonest answer |" in said and "| angry 100.0% |" in said

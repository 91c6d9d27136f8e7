"""The model files are typed records with a kind and a version: what `train` writes reads back field
for field, and a file of another kind, another version or an older run's unversioned dict is refused
by `predict`'s loader naming the file and the fix, not with a KeyError."""

import pytest

from pipeline import io, paths
from pipeline.apply import ensemble
from pipeline.learn import records

LEARNER = records.LearnerFile("a model", ["angry", "sad"], ["f1", "f2"], "audio", "svm", "none", {"clf__C": 1.0},
                              ["hash"], {"record": "settings"})


def test_a_record_reads_back_as_written_and_refuses_another_kind_or_version():
    saved = LEARNER.saved()
    assert (saved["kind"], saved["version"]) == ("learner", records.LearnerFile.VERSION)
    assert records.LearnerFile.read(saved) == LEARNER
    with pytest.raises(records.RecordError, match="holds a learner record of version 1, not a fusion record of version 1"):
        records.FusionFile.read(saved)
    with pytest.raises(records.RecordError, match="holds a learner record of version 0, not a learner record of version 1"):
        records.LearnerFile.read({**saved, "version": 0})
    old = {k: v for k, v in saved.items() if k not in ("kind", "version")}
    with pytest.raises(records.RecordError, match="holds no versioned record"):
        records.LearnerFile.read(old)


@pytest.mark.parametrize("content,words", [
    ({k: v for k, v in LEARNER.saved().items() if k not in ("kind", "version")}, "holds no versioned record"),
    (records.NoveltyFile("model", "audio", ["f1"]).saved(), "holds a novelty record of version 1, not a learner"),
])
def test_predict_refuses_an_older_or_another_kind_of_model_file_by_name(tmp_path, monkeypatch, content, words):
    monkeypatch.chdir(tmp_path)
    stem = paths.model_stem("audio", "svm", "none")
    io.write_joblib(content, f"{stem}.joblib")
    with pytest.raises(ensemble.ModelError, match=rf"models/learners/audio/svm-none.joblib: {words}.*run `dvc repro`"):
        ensemble.load_learner("audio", "svm")

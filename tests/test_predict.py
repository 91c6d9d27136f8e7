"""predict and evaluate in a project where `dvc repro` has not run: a clear refusal, nothing written."""

import os
import shutil
import subprocess
import sys

from pathlib import Path

import joblib
import numpy as np
import pytest

from pipeline import io
from pipeline.apply import ensemble, predict, scoring
from pipeline.extract import audio

from conftest import REPO, real_take, write_clip, write_sparse_wav


def run(module: str, cwd, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_predict_and_evaluate_without_models_exit_2_naming_the_model(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "params.yaml", project)
    clip = write_clip(tmp_path / "clips" / "Actor_01" / "03-01-05-02-01-01-01.wav",
                      real_take(1, "03-01-05-02-01-01-01"))

    predicted = run("pipeline.apply.predict", project, str(clip))
    assert predicted.returncode == 2, predicted.stderr
    assert "predict: models/run.json is missing (run `dvc repro`)" in predicted.stderr
    assert predicted.stdout == ""

    evaluated = run("pipeline.apply.evaluate", project, str(tmp_path / "clips"), "--out", str(tmp_path / "out"))
    assert evaluated.returncode == 2, evaluated.stderr
    assert "evaluate: models/run.json is missing (run `dvc repro`)" in evaluated.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in project.iterdir()) == ["params.yaml"]


def test_evaluate_refuses_a_worker_count_below_one_before_any_work(tmp_path):
    done = run("pipeline.apply.evaluate", tmp_path, str(tmp_path), "--jobs", "0")
    assert done.returncode == 2 and "--jobs: '0' is not a whole number of at least 1" in done.stderr


def test_the_commands_help_names_them_as_users_call_them_with_defaults_and_exit_codes(tmp_path):
    evaluate = run("pipeline.apply.evaluate", tmp_path, "--help")
    assert evaluate.returncode == 0 and evaluate.stdout.startswith("usage: python -m pipeline.apply.evaluate")
    words = " ".join(evaluate.stdout.split())
    assert "(default: evaluation)" in words and "(default: 2)" in words and "default: ravdess)" in words
    assert "Exit codes:" in words and "(default: None)" not in words
    predict = run("pipeline.apply.predict", tmp_path, "--help")
    assert predict.returncode == 0 and predict.stdout.startswith("usage: python -m pipeline.apply.predict")
    assert "Exit codes:" in predict.stdout


CALIBRATED = predict.Calibrated(0.9, {"audio/fused (selected)": 0.5, "face/fused (selected)": 0.3},
                                        0.97, {"audio/fused (selected)": 0.8, "face/fused (selected)": 0.75})


def decision(model: str, fused: bool = True, **probabilities: float) -> dict:
    return {"model": model, "fused": fused, "emotion": max(probabilities, key=probabilities.get),
            "probabilities": probabilities}


def test_a_flagged_clip_keeps_its_answer_with_the_wider_set_and_is_uncertain_only_when_that_holds_all():
    voice = decision("audio/fused (selected)", angry=0.6, sad=0.3, happy=0.1)
    plain = predict.answer([voice], CALIBRATED)  # p >= 1 - 0.5
    assert (plain["emotion"], plain["set"], plain["set_coverage"], plain["flagged"]) == ("angry", ["angry"], 0.9, False)
    flagged = predict.answer([voice], CALIBRATED, flagged=True)  # p >= 1 - 0.8
    assert (flagged["emotion"], flagged["set"], flagged["set_coverage"]) == ("angry", ["angry", "sad"], 0.97)
    flat = decision("audio/fused (selected)", angry=0.4, sad=0.35, happy=0.25)
    nothing = predict.answer([flat], CALIBRATED, flagged=True)
    assert (nothing["emotion"], nothing["probability"], nothing["set"]) == ("uncertain", None, ["angry", "sad", "happy"])
    assert predict.answer([flat], CALIBRATED)["emotion"] == "angry"  # unflagged, the same clip is answered


def test_a_voice_and_face_decision_no_take_calibrated_gets_the_union_of_its_parts_sets():
    voice = decision("audio/fused (selected)", angry=0.6, sad=0.3, happy=0.1)
    face = decision("face/fused (selected)", angry=0.1, sad=0.1, happy=0.8)
    learner = decision("audio/svm", fused=False, angry=0.9, sad=0.05, happy=0.05)
    both = decision("audio+face/mean", angry=0.35, sad=0.2, happy=0.45)
    said = predict.answer([learner, voice, face, both], CALIBRATED)
    assert said["model"] == "audio+face/mean" and said["emotion"] == "happy" and said["set"] == ["happy", "angry"]
    alone = decision("compare2016+face/mean", angry=0.35, sad=0.2, happy=0.45)
    assert "set" not in predict.answer([alone], CALIBRATED)  # nothing among its parts is calibrated


def test_features_without_a_source_is_a_usage_error_naming_the_form(tmp_path):
    for module in ("pipeline.apply.predict", "pipeline.apply.evaluate"):
        done = run(module, tmp_path, str(tmp_path), "--features", "au")
        assert done.returncode == 2 and "'au': expected NAME=PATH, e.g. au=" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_a_refused_setting_is_one_line_not_a_traceback(tmp_path):
    params = (REPO / "params.yaml").read_text()
    (tmp_path / "params.yaml").write_text(params.replace("  max_seconds: 300", "  max_seconds: -1"))
    done = run("pipeline.apply.predict", tmp_path, str(real_take(1, "03-01-05-02-01-01-01")))
    assert done.returncode == 2 and done.stderr.startswith("predict: predict.max_seconds: -1 is not allowed")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    (tmp_path / "params.yaml").write_text(params + "\nfetch:\n  corpora: {}\n")
    done = run("pipeline.apply.evaluate", tmp_path, str(tmp_path))
    assert done.returncode == 2 and "'fetch' is given twice in one block" in done.stderr and "Traceback" not in done.stderr


def test_a_model_path_outside_models_is_refused_before_anything_is_unpickled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.joblib").write_bytes(b"a pickle that must never be loaded")
    for stem in (outside / "x", Path("models/learners/../../elsewhere/x")):
        with pytest.raises(ensemble.ModelError, match=r"outside models/, refused \(model files are pickles"):
            ensemble.model_file(stem)


class Payload:
    """A pickle that, once loaded, leaves a file behind: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_link_in_models_to_a_pickle_elsewhere_is_refused_unread(tmp_path, monkeypatch):
    """The path text was checked, not where it leads: a link inside models/ to a pickle outside
    the project ran its payload. Its real path is checked now, before anything is unpickled."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PAYLOAD_RAN"
    joblib.dump(Payload(marker), tmp_path / "evil.joblib")
    joblib.load(tmp_path / "evil.joblib")  # the payload works: loading it runs code
    assert marker.exists()
    marker.unlink()
    models = tmp_path / "models/learners/audio"
    models.mkdir(parents=True)
    (models / "svm-none.joblib").symlink_to(tmp_path / "evil.joblib")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "svm-none.joblib").symlink_to(tmp_path / "evil.joblib")
    (tmp_path / "models/learners/face").symlink_to(tmp_path / "outside", target_is_directory=True)  # a linked folder
    os.mkfifo(models / "rf-none.joblib")
    for modality, learner, words in (("audio", "svm", "leads to .*evil.joblib, outside models/"),
                                     ("face", "svm", "leads to .*evil.joblib, outside models/"),
                                     ("audio", "rf", "not a regular file")):
        with pytest.raises(ensemble.ModelError, match=words):
            ensemble.load_learner(modality, learner)
    assert not marker.exists()


def test_an_empty_or_cut_model_file_is_named_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stem = tmp_path / "models/learners/audio/svm-none"
    io.write_joblib({"model": np.arange(200_000), "classes": ["sad"]}, f"{stem}.joblib")
    whole = Path(f"{stem}.joblib").read_bytes()
    for content, words in ((b"", "empty \\(0 bytes\\)"), (whole[: len(whole) // 2], "cut short \\(its compressed data ends early\\)")):
        Path(f"{stem}.joblib").write_bytes(content)
        with pytest.raises(ensemble.ModelError, match=rf"models/learners/audio/svm-none.joblib: {words}; restore it with "
                                                      r"`dvc checkout models/learners/audio/svm-none.joblib`"):
            ensemble.load_learner("audio", "svm")
        assert ensemble.damage(Path(f"{stem}.joblib")) == words.replace("\\", "")


def test_what_is_not_a_clip_is_named_not_called_an_empty_folder(tmp_path):
    fifo = tmp_path / "clip.wav"
    os.mkfifo(fifo)
    with pytest.raises(predict.InputError, match="clip.wav: not a regular file"):
        list(predict.clips([str(fifo)]))
    with pytest.raises(predict.InputError, match="/dev/zero: not a regular file"):
        list(predict.clips(["/dev/zero"]))
    with pytest.raises(predict.InputError, match=r"cannot be opened \(File name too long\)"):
        list(predict.clips([str(tmp_path / ("x" * 5000))]))


def test_a_folder_is_read_by_the_one_scanner_and_what_it_leaves_out_is_named(tmp_path, capsys):
    good = write_clip(tmp_path / "clips" / "a.wav", real_take(1, "03-01-05-02-01-01-01"))
    (good.parent / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    odd = os.fsencode(good.parent) + b"/b\xff.wav"
    with open(odd, "wb") as handle:
        handle.write(good.read_bytes())
    assert list(predict.clips([str(good.parent)])) == [str(good)]
    said = capsys.readouterr().err
    assert f"predict: left out {good.parent / 'gone.wav'}: broken link to {tmp_path / 'nowhere.wav'}" in said
    assert f"predict: left out {good.parent}/b\ufffd.wav: file name is not valid UTF-8" in said


def test_a_clip_longer_than_the_setting_is_refused_from_its_header_before_it_is_read(tmp_path):
    """A two-hour WAV (a sparse file: its header, then 691 MB that take no disk) is refused unread."""
    path = write_sparse_wav(tmp_path / "two_hours.wav", 2 * 3600)
    voice = predict.Voice(str(path), silence_dbfs=-60.0, max_seconds=300)
    with pytest.raises(audio.AudioError, match=r"lasts 7200 s, beyond predict.max_seconds \(300 s\): not read"):
        voice.decoded()
    real = str(real_take(1, "03-01-05-02-01-01-01"))
    assert audio.declared_seconds(real) == audio.decode(real).duration_s  # the header says what decoding gives


def test_the_command_line_answers_help_and_usage_errors_before_the_heavy_imports():
    code = ("import sys; from pipeline import cli\n"
            "try: cli.main(['predict', '--help'])\nexcept SystemExit: pass\n"
            "print(sorted({'numpy', 'pandas', 'cv2', 'sklearn', 'scipy', 'matplotlib'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.stdout.splitlines()[-1] == "[]", done.stderr
    from pipeline import cli
    from pipeline.ingest.corpora import registry
    assert cli.evaluate_parser("x")._option_string_actions["--corpus"].choices == list(registry.ADAPTERS)


def test_evaluate_sets_takes_beside_the_cross_validated_figure_of_the_same_channels():
    here = {"accuracy_by": {"channel": {"speech": (0.5, 30), "song": (0.7, 10)}}}
    record = {"accuracy": 0.6, "accuracy_by_channel": {"speech": 0.55, "song": 0.75}}
    assert scoring.same_channels(here, record) == (pytest.approx((30 * 0.55 + 10 * 0.75) / 40), "song and speech")
    speech = {"accuracy_by": {"channel": {"speech": (0.5, 30)}}}
    assert scoring.same_channels(speech, record) == (0.55, "speech")
    assert scoring.same_channels(speech, {"accuracy": 0.6}) == (0.6, "all")  # a record with no split by channel

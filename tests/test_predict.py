"""predict and evaluate in a project where `dvc repro` has not run: a clear refusal, nothing written."""

import os
import shutil
import subprocess
import sys

import numpy as np

from pipeline.apply import ensemble

from conftest import REPO, real_take, write_clip


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
    assert "predict: models/learners/audio/svm-none.joblib is missing (run `dvc repro`)" in predicted.stderr
    assert predicted.stdout == ""

    evaluated = run("pipeline.apply.evaluate", project, str(tmp_path / "clips"), "--out", str(tmp_path / "out"))
    assert evaluated.returncode == 2, evaluated.stderr
    assert "evaluate: models/learners/audio/svm-none.joblib is missing (run `dvc repro`)" in evaluated.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in project.iterdir()) == ["params.yaml"]


def test_evaluate_refuses_a_worker_count_below_one_before_any_work(tmp_path):
    done = run("pipeline.apply.evaluate", tmp_path, str(tmp_path), "--jobs", "0")
    assert done.returncode == 2 and "--jobs: '0' is not a whole number of at least 1" in done.stderr


def test_the_commands_help_names_them_as_users_call_them_with_defaults_and_exit_codes(tmp_path):
    evaluate = run("pipeline.apply.evaluate", tmp_path, "--help")
    assert evaluate.returncode == 0 and evaluate.stdout.startswith("usage: python -m pipeline.apply.evaluate")
    words = " ".join(evaluate.stdout.split())
    assert "(default: evaluation)" in words and "(default: 2)" in words and "(default: ravdess)" in words
    assert "Exit codes:" in words and "(default: None)" not in words
    predict = run("pipeline.apply.predict", tmp_path, "--help")
    assert predict.returncode == 0 and predict.stdout.startswith("usage: python -m pipeline.apply.predict")
    assert "Exit codes:" in predict.stdout


def test_a_value_is_measured_in_widths_of_its_training_range():
    feature_range = np.array([[0.0, 5.0, 1.0], [10.0, 5.0, 3.0]])  # the middle column was constant in training
    X = np.array([[5.0, 100.0, 2.0], [-10.0, 5.0, 7.0], [25.0, 5.0, np.nan]])
    np.testing.assert_array_equal(ensemble.beyond_range(X, feature_range), [[0, 0, 0], [1, 0, 2], [1.5, 0, 0]])

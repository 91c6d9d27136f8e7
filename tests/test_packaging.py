"""The installed `avemotion` command and the pins: pyproject.toml and requirements.txt agree,
the console script runs each subcommand's help, and `info` tells what is missing."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import REPO

COMMAND = Path(sys.executable).parent / "avemotion"  # what `pip install -e .` put beside this interpreter


def test_pyproject_pins_are_requirements_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = project["dependencies"] + [p for group in project["optional-dependencies"].values() for p in group]
    required = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert sorted(pinned) == sorted(required)
    assert all("==" in pin for pin in pinned)
    assert project["scripts"] == {"avemotion": "pipeline.cli:main"}


def avemotion(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(COMMAND), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_command_lists_its_subcommands_and_each_has_help(tmp_path):
    done = avemotion(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    for name in ("predict", "evaluate", "info"):
        assert f"\n  {name} " in done.stdout
        help_text = avemotion(tmp_path, name, "--help")
        assert help_text.returncode == 0 and help_text.stdout.startswith(f"usage: avemotion {name} ")
        assert "Exit codes:" in help_text.stdout
    unknown = avemotion(tmp_path, "train")
    assert unknown.returncode == 2 and "invalid choice: 'train'" in unknown.stderr


def test_info_names_the_models_a_project_still_has_to_train(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path)
    done = avemotion(tmp_path, "info")
    assert done.returncode == 1
    assert "| models/learners/audio/svm-none | missing: run `dvc repro` |" in done.stdout
    assert "Trained on: nothing yet" in done.stdout

"""The one params.yaml loader: a key given twice and names unsafe in commands or paths are refused
before any work, whoever reads the file (a stage run directly, `dvc repro`, predict)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SHARED
from pipeline import checks, io

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def test_a_key_given_twice_is_refused_naming_both_lines(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("fetch:\n  corpora: {}\nrun:\n  modalities: [audio]\n  learners: [svm]\n  learners: [rf]\n")
    with pytest.raises(io.ParamsError, match=r"params.yaml, line 6: 'learners' is given twice in one block "
                                             r"\(first on line 5\); keep one"):
        io.load_params(params)
    params.write_text((REPO / "params.yaml").read_text() + "\nfetch:\n  corpora: {}\n")  # a whole block twice
    with pytest.raises(io.ParamsError, match=r"'fetch' is given twice in one block \(first on line \d+\)"):
        io.load_params(params)


@pytest.mark.parametrize("where", ["external_features", "opensmile_features", "cross_corpus", "run.modalities",
                                   "compare.variants"])
@pytest.mark.parametrize("name", ["au;touch X;#", "/etc/passwd", "../outside", "Au"])
def test_a_name_that_becomes_part_of_a_command_or_a_path_must_be_safe(tmp_path, where, name):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    block, _, setting = where.partition(".")
    if setting == "modalities":
        params[block][setting].append(name)
    elif setting:
        params[block][setting][name] = {"channels": ["speech"]}
    else:
        params[block][name] = params[block][next(iter(params[block]))]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(io.ParamsError, match=r"a name must be lower-case letters, digits and underscores"):
        io.load_params(tmp_path / "params.yaml")


def test_outside_a_project_the_loader_says_where_to_run():
    with pytest.raises(io.ParamsError, match="nowhere/params.yaml: not found; run from the project root"):
        io.load_params("nowhere/params.yaml")


METACHARACTERS = ["'", '"', ";", "$", "`", "|", "&", "\n"]


def injected(params: dict, marker: Path) -> dict:
    """`params` with a name that would run `touch <marker>N` in a shell line, for every shell
    metacharacter N, in every place a name comes from: the keys of each foreach block, a list of
    run names and the compare block's values."""
    first = {block: next(iter(params[block].values())) for block in ("opensmile_features", "cross_corpus")}
    first["external_features"] = {**params["external_features"]["au"],
                                  "path": str(SHARED / "ravdess-openface" / "au_clip_means.csv")}
    for i, c in enumerate(METACHARACTERS):
        payload = f"x{c}touch {marker}{i}{c}echo {c}"
        for block, item in first.items():
            params[block][f"{block[0]}{i}{payload}"] = item
        params["compare"]["variants"][f"v{i}{payload}"] = {"channels": ["speech"]}
    params["run"]["modalities"].append(f"m';touch {marker}_run;echo '")
    params["compare"]["modality"] = f"c';touch {marker}_compare;echo '"
    return params


def test_no_params_name_reaches_a_shell_line_under_dvc(tmp_path):
    """A key `x';touch X;echo '` closed dvc.yaml's quotes and ran `touch X` before any Python could
    check it. No command in dvc.yaml interpolates a params name or value now: DVC's own rendering of
    every stage holds none of them, and the stages run by `dvc repro` refuse them without a shell
    ever seeing them."""
    project, marker = tmp_path / "project", tmp_path / "INJECTED"
    project.mkdir()
    shutil.copytree(REPO / "pipeline", project / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "dvc.yaml", project)
    params = injected(yaml.safe_load((REPO / "params.yaml").read_text()), marker)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    (project / "data").mkdir()
    (project / "data" / "manifest.parquet").write_bytes(b"present, so that DVC runs the stages alone")
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=project, env=ENV, check=True, capture_output=True)

    from dvc.repo import Repo
    stages = Repo(str(project)).index.stages
    assert len(stages) > 8 * 4
    assert {stage.cmd for stage in stages} <= {f"python -m pipeline.stages.{name}" for name in (
        "fetch", "ingest", "fingerprints", "audio_features", "face_features", "opensmile_features", "external_features", "train",
        "conditions", "augment", "novelty", "learning_curve", "fuse", "adaptation", "cross_corpus", "importance", "calibrate", "report")} | {
        "python -m pipeline.stages.train --variant"}

    hostile = [s.name for s in stages if "touch" in s.name
               and s.name.startswith(("opensmile_features@", "external_features@"))]
    done = subprocess.run(["dvc", "repro", "--single-item", "--keep-going", *hostile], cwd=project, env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and len(hostile) == 2 * len(METACHARACTERS)
    said = done.stdout + done.stderr
    assert said.count("a name must be lower-case letters, digits and underscores") == len(hostile), said
    assert "Traceback" not in said
    assert not list(tmp_path.glob("INJECTED*"))


def test_a_run_notes_the_settings_whose_values_it_read(tmp_path):
    """The record the end-to-end run holds against dvc.yaml: values read, however they are read
    (an item, .get, a copy, .items()), and not the names a check for unknown settings lists."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "fuse": {"rules": ["mean"], "deploy": "mean"},
        "learners": {"svm": {"n_iter": 2, "space": {"clf__C": {"log_uniform": [1, 10]}}}},
        "train": {"seed": 0, "outer_folds": 5}, "compare": {"modality": "audio", "learner": "svm"}}))
    code = ("from pipeline import io, checks\n"
            "p = io.load_params()\n"
            "checks.only_known('fuse', p['fuse'], ['rules', 'deploy']); p['fuse']['rules']\n"
            "p['learners']['svm'].get('space')['clf__C'].items()\n"
            "dict(p['train']); {**p['compare']}; p['learners'].get('rf')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO), io.READS_ENV: str(tmp_path / "reads")})
    assert done.returncode == 0, done.stderr
    (record,) = (tmp_path / "reads").iterdir()
    assert yaml.safe_load(record.read_text()) == ["compare.learner", "compare.modality", "fuse.rules",
                                                  "learners.svm.space.clf__C.log_uniform", "train.outer_folds",
                                                  "train.seed"]


def test_a_huge_params_file_or_value_is_refused_in_a_short_line(tmp_path):
    """A 10 MB value pasted into params.yaml made every stage start take 14 s and dvc.lock 10 MB, and
    was echoed whole in the refusal."""
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text() + f"\npredict:\n  max_seconds: '{'9' * 2_000_000}'\n")
    with pytest.raises(io.ParamsError, match=r"params.yaml: 2,0\d\d,\d\d\d bytes, more than settings take") as refused:
        io.load_params(params)
    assert len(str(refused.value)) < 300
    with pytest.raises(checks.SettingError) as refused:
        checks.check("predict", type("S", (), {"max_seconds": "9" * 500_000})(),
                     [("max_seconds", "a number", lambda s: False)])
    assert len(str(refused.value)) < 300 and "(500,002 characters)" in str(refused.value)


@pytest.mark.parametrize("override,line", [
    ("learners.svm.n_iter=21", "    n_iter: 21"),
    ("fuse.deploy=mean", "  deploy: mean            # the rule predict/evaluate apply"),
    ("novelty.flag_rate=0.1", "  flag_rate: 0.1"),
    ("robustness.conditions.mp3_32k.bitrate=64000", "    mp3_32k: {codec: mp3, bitrate: 64000}"),
])
def test_dvc_exp_run_set_param_rewrites_params_yaml_on_one_line(tmp_path, override, line):
    """params.yaml is written as DVC writes it back (lists one item a line, no comment or blank line
    after a list), so `dvc exp run -S` (DVC's own `apply_overrides`) changes the edited line alone."""
    from dvc.utils.hydra import apply_overrides

    before = (REPO / "params.yaml").read_text().splitlines()
    edited = tmp_path / "params.yaml"
    edited.write_text("\n".join(before) + "\n")
    apply_overrides(str(edited), [override])
    after = edited.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(after) == len(before) and len(changed) == 1 and changed[0][1] == line, changed

"""dvc.yaml lists exactly the project code each stage runs, derived here from the import graph: a
stage missing a module it imports would be left "up to date" after that module changed (stale
models), and a module it lists but never imports reruns it for nothing. The params each stage
reads are held against those it tracks by the end-to-end run (`untracked_reads`)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import yaml

from conftest import REPO
from pipeline import contentcache

PACKAGE = "pipeline"


def runs(entry: str) -> set[Path]:
    """Every project file that `python -m entry` executes, transitively, as paths relative to the
    repository (`contentcache.imported_sources`: the import graph the caches key on too)."""
    return {path.relative_to(REPO) for path in contentcache.imported_sources(entry)}


def only_a_docstring(path: Path) -> bool:
    """A file that can change no result: nothing but its docstring (the packages' __init__.py)."""
    body = ast.parse(path.read_text()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def stages(dvc_yaml: dict) -> dict[str, tuple[str, list[str]]]:
    """name -> (the module its command runs, its deps), for every stage (a foreach/matrix stage once)."""
    out = {}
    for name, stage in dvc_yaml["stages"].items():
        body = stage.get("do", stage)
        (entry,) = re.findall(r"python -m ([\w.]+)", body["cmd"])
        out[name] = (entry, [str(d) for d in body.get("deps", [])])
    return out


def drift(dvc_yaml: dict, root: Path = REPO) -> dict[str, dict[str, set[str]]]:
    """Per stage: project files it runs that no dep covers ('missing'), and listed project code it
    never runs ('unused'); docstring-only files need not be listed."""
    out = {}
    for name, (entry, deps) in stages(dvc_yaml).items():
        code = {p for p in runs(entry) if not only_a_docstring(root / p)}
        listed = {Path(d) for d in deps if d.startswith(f"{PACKAGE}/")}
        covered = {p for p in code if any(p == d or d in p.parents for d in listed)}
        files = {p.relative_to(root) for d in listed for p in ([root / d] if (root / d).is_file()
                                                               else (root / d).rglob("*.py"))}
        unused = {p for p in files if p not in code and not only_a_docstring(root / p)}
        if code - covered or unused:
            out[name] = {"missing": {str(p) for p in code - covered}, "unused": {str(p) for p in unused}}
    return out


def test_every_stage_lists_exactly_the_project_code_it_runs():
    assert drift(yaml.safe_load((REPO / "dvc.yaml").read_text())) == {}


def test_a_module_removed_from_a_stage_or_one_it_never_runs_is_caught():
    dvc_yaml = yaml.safe_load((REPO / "dvc.yaml").read_text())
    train = dvc_yaml["stages"]["train"]
    train["deps"] = [d for d in train["deps"] if d != "pipeline/learn/search.py"]
    dvc_yaml["stages"]["fuse"]["deps"].append("pipeline/extract/conditions.py")
    found = drift(dvc_yaml)
    assert found["train"] == {"missing": {"pipeline/learn/search.py"}, "unused": set()}
    assert found["fuse"] == {"missing": set(), "unused": {"pipeline/extract/conditions.py"}}


def test_the_import_graph_follows_packages_and_from_imports():
    files = {str(p) for p in runs("pipeline.stages.train")}
    assert {"pipeline/learn/search.py", "pipeline/ingest/corpora/__init__.py", "pipeline/stages/train.py"} <= files
    assert "pipeline/apply/predict.py" not in files


UNTRACKED = ("compute.",)  # how the work is spread (processes, Dask): no result depends on it


def untracked_reads(project: Path, reads: Path) -> dict[str, list[str]]:
    """Per stage of dvc.lock, the settings its run read (`io.READS_ENV`) that none of its tracked
    params covers: a stage whose result depends on an untracked setting is not rerun when it changes."""
    out = {}
    for name, stage in yaml.safe_load((project / "dvc.lock").read_text())["stages"].items():
        read = json.loads((reads / f"{name}.json").read_text())
        tracked = list(stage.get("params", {}).get("params.yaml", {}))
        missing = [key for key in read if not key.startswith(UNTRACKED)
                   and not any(key == t or key.startswith(f"{t}.") for t in tracked)]
        if missing:
            out[name] = missing
    return out


def test_a_setting_read_but_not_tracked_is_caught(tmp_path):
    reads = tmp_path / "reads"
    reads.mkdir()
    (reads / "fuse.json").write_text(json.dumps(["fuse.rules", "run.learners", "compute.n_jobs"]))
    (reads / "train@audio-svm-none.json").write_text(json.dumps(["learners.svm.n_iter", "train.seed"]))
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {
        "fuse": {"cmd": "python -m pipeline.stages.fuse", "params": {"params.yaml": {"fuse.rules": ["mean"]}}},
        "train@audio-svm-none": {"cmd": "python -m pipeline.stages.train",
                                 "params": {"params.yaml": {"learners.svm": {}, "train": {}}}}}}))
    assert untracked_reads(tmp_path, reads) == {"fuse": ["run.learners"]}

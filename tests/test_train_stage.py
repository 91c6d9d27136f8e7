"""The train stage on a small real project: through a Dask LocalCluster, and through a real scheduler
and worker processes, it gives the local run's numbers; compute or train settings that cannot work fail before any fit, naming what is wrong;
a killed stage leaves no worker process behind."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import compute

from conftest import REPO

EMOTIONS = ["neutral", "happy", "sad"]


def small_project(root: Path, compute_block: dict, **train: object) -> Path:
    """A manifest of 8 speakers x 3 emotions, a feature table where the emotions separate, and
    params for one small random-forest stage: what `pipeline.stages.train` reads."""
    rng = np.random.default_rng(0)
    rows, features = [], []
    for speaker in range(8):
        offset = rng.normal(0, 0.5, 6)
        for label, emotion in enumerate(EMOTIONS):
            for take in range(6):
                name = f"s{speaker}-{emotion}-{take}"
                rows.append({"corpus": "ravdess", "take": name, "speaker": f"ravdess-{speaker:02d}", "label": emotion,
                             "channel": "speech", "intensity": "normal"})
                features.append([name, *(rng.normal(0, 1, 6) + offset + 2.5 * np.eye(6)[label])])
    (root / "data").mkdir(parents=True)
    (root / "features").mkdir()
    pd.DataFrame(rows).to_parquet(root / "data" / "manifest.parquet")
    pd.DataFrame(features, columns=["take", *(f"x{i}" for i in range(6))]).to_parquet(root / "features" / "blob.parquet")
    params = {
        "compute": compute_block,
        "train": {"seed": 5, "outer_folds": 4, "inner_folds": 2, "scoring": "balanced_accuracy",
                  "permutation_check": True, **train},
        "learners": {"rf": {"n_iter": 3, "fixed": {"clf__n_estimators": 20},
                            "space": {"clf__max_features": {"uniform": [0.2, 1.0]}},
                            "grid": {"clf__max_features": {"factor": 1.5}}}},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def train_stage(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.stages.train", "blob", "rf", "none"], cwd=root,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=300)


def test_a_train_stage_on_a_dask_local_cluster_gives_the_local_numbers(tmp_path):
    outputs = {}
    for name, block in {"local": {"backend": "local", "n_jobs": 2},
                        "dask": {"backend": "dask", "local_cluster": {"workers": 2}}}.items():
        root = small_project(tmp_path / name, block)
        done = train_stage(root)
        assert done.returncode == 0, done.stderr[-2000:]
        assert ("Dask at tcp://127.0.0.1" in done.stdout) == (name == "dask")
        assert "\r" not in done.stderr and "train models/learners/blob/rf-none: 100%" in done.stderr  # a log, not a tty
        outputs[name] = {suffix: pd.read_parquet(root / "models/learners/blob" / f"rf-none.{suffix}.parquet")
                         for suffix in ("oof", "inner", "search")}
    for suffix in ("oof", "inner"):
        pd.testing.assert_frame_equal(outputs["local"][suffix], outputs["dask"][suffix])
    assert outputs["local"]["oof"]["predicted"].eq(outputs["local"]["oof"]["label"]).mean() > 0.7  # chance: 1/3
    pd.testing.assert_frame_equal(outputs["local"]["search"], outputs["dask"]["search"])  # no times in it: equal


def test_a_train_stage_on_a_real_scheduler_and_worker_processes_gives_the_local_numbers(tmp_path):
    """README's recipe, for real: `dask scheduler` and two `dask worker` processes on 127.0.0.1 (not a
    LocalCluster inside the stage), the stage pointed at the scheduler: the local run's tables."""
    port = unused_port()
    dask = str(Path(sys.executable).parent / "dask")
    env = {"PYTHONPATH": str(REPO), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    started = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    started += [subprocess.Popen([dask, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--no-dashboard"],
                                 env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(2)]
    try:
        local = small_project(tmp_path / "local", {"backend": "local", "n_jobs": 2})
        remote = small_project(tmp_path / "remote", {"backend": "dask", "scheduler": f"tcp://127.0.0.1:{port}",
                                                     "connect_timeout_s": 30})
        done = {root: train_stage(root) for root in (local, remote)}
        assert all(d.returncode == 0 for d in done.values()), [d.stderr[-2000:] for d in done.values()]
        assert f"Dask at tcp://127.0.0.1:{port}" in done[remote].stdout
        for suffix in ("oof", "inner", "search"):
            tables = [pd.read_parquet(root / "models/learners/blob" / f"rf-none.{suffix}.parquet") for root in (local, remote)]
            pd.testing.assert_frame_equal(*tables)
    finally:
        for process in started:
            process.kill()
            process.wait()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_scheduler_nobody_answers_at_fails_before_any_fit_naming_it(tmp_path):
    address = f"tcp://127.0.0.1:{unused_port()}"
    root = small_project(tmp_path, {"backend": "dask", "scheduler": address, "connect_timeout_s": 2})
    done = train_stage(root)
    assert done.returncode != 0
    assert f"compute.scheduler {address}: no Dask scheduler answers there" in done.stderr
    assert " fit" not in done.stderr.split("compute.scheduler")[0]  # no progress bar: nothing was fitted
    assert not (root / "models").exists()


@pytest.mark.parametrize(("block", "message"), [
    ({"backend": "cluster"}, "compute.backend: 'cluster' is not allowed; it must be one of local, dask"),
    ({"n_jobs": 0}, "compute.n_jobs: 0 is not allowed"),
    ({"scheduler": "localhost"}, "compute.scheduler: 'localhost' is not allowed"),
    ({"local_cluster": {"workers": 0}}, "compute.local_workers: 0 is not allowed"),
    ({"local_cluster": 3}, "compute.local_cluster: 3 is not allowed"),
    ({"jobs": 2}, "compute: unknown setting(s) jobs"),
])
def test_bad_compute_settings_are_refused_naming_the_setting(block, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compute.from_params(block)


def test_absent_compute_block_means_two_local_processes():
    assert compute.from_params(None) == compute.Compute(backend="local", n_jobs=2)


def test_more_outer_folds_than_speakers_is_refused_before_any_fit(tmp_path):
    done = train_stage(small_project(tmp_path, {"n_jobs": 1}, outer_folds=12))
    assert done.returncode != 0
    assert "train.outer_folds: 12 folds need as many speakers; the blob takes have 8" in done.stderr
    assert " fit" not in done.stderr and not (tmp_path / "models").exists()


def test_a_misspelt_learner_setting_is_refused_before_any_fit(tmp_path):
    root = small_project(tmp_path, {"n_jobs": 1})
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["learners"]["rf"]["halvng"] = 3
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    done = train_stage(root)
    assert done.returncode != 0
    assert "learners.rf: unknown setting(s) halvng; known: n_iter, space, grid, fixed, halving" in done.stderr
    assert " fit" not in done.stderr and not (root / "models").exists()


def test_killing_a_stage_leaves_no_worker_behind():
    script = ("import time\nfrom joblib import Parallel, delayed\nfrom pipeline import compute\n"
              "with compute.engine(compute.Compute(n_jobs=2)):\n"
              "    Parallel()(delayed(time.sleep)(60) for _ in range(4))\n")
    stage = subprocess.Popen([sys.executable, "-c", script], env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    workers: set[int] = set()
    for _ in range(200):  # until both workers have started
        workers = descendants(stage.pid)
        if len(workers) >= 3:  # loky's resource tracker and two workers
            break
        time.sleep(0.1)
    assert len(workers) >= 3
    stage.kill()  # SIGKILL: the stage gets no chance to clean up
    stage.wait()
    for _ in range(100):
        if not any(alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)]


def descendants(pid: int) -> set[int]:
    found, stack = set(), [pid]
    while stack:
        for task in Path(f"/proc/{stack.pop()}/task").glob("*"):
            children = [int(c) for c in (task / "children").read_text().split()]
            found.update(children)
            stack += children
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

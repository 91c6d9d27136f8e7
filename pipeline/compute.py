"""Where the heavy loops run: local worker processes, or a Dask cluster.

Every parallel loop of the project is a joblib `Parallel` with no backend of its own (clips
of a feature stage, the fits of a training stage), so `engine()` decides for all of them:
joblib's own processes on this machine, or joblib's Dask backend on a cluster, reached at
a scheduler address or started in-process as a `LocalCluster`. Where the work runs never
changes a result: each task is seeded by what it computes, not by the worker it lands on.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from joblib import parallel_config

from pipeline import checks
from pipeline.checks import SettingError

BACKENDS = ("local", "dask")


class ComputeError(RuntimeError):
    """The compute settings name a place where no work can run (e.g. no scheduler answers)."""


@dataclass(frozen=True)
class Compute:
    """The `compute` params block: `backend` local (n_jobs processes) or dask (at `scheduler`,
    or a LocalCluster of `local_workers` processes started for the stage when it is empty)."""

    backend: str = "local"
    n_jobs: int = 2
    scheduler: str | None = None
    local_workers: int = 2
    connect_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        checks.check("compute", self, _SETTING_RULES)


_SETTING_RULES: list[checks.Rule] = [
    ("backend", f"one of {', '.join(BACKENDS)}", lambda c: c.backend in BACKENDS),
    ("n_jobs", "a whole number >= 1, or -1 for every core", lambda c: checks.is_int(c.n_jobs)
     and (c.n_jobs >= 1 or c.n_jobs == -1)),
    ("scheduler", "empty or a Dask address such as tcp://host:8786", lambda c: c.scheduler is None
     or (isinstance(c.scheduler, str) and "://" in c.scheduler)),
    ("local_workers", "a whole number >= 1", lambda c: checks.is_int(c.local_workers) and c.local_workers >= 1),
    ("connect_timeout_s", "a positive number of seconds", lambda c: checks.is_number(c.connect_timeout_s)
     and c.connect_timeout_s > 0),
]


def from_params(block: dict | None) -> Compute:
    """Compute settings from the `compute` params block (absent: local, 2 processes)."""
    block = dict(block or {})
    local_cluster = block.pop("local_cluster", None) or {}
    if not isinstance(local_cluster, dict) or set(local_cluster) - {"workers"}:
        raise SettingError(f"compute.local_cluster: {local_cluster!r} is not allowed; it must be {{workers: N}}")
    checks.only_known("compute", block, ["backend", "n_jobs", "scheduler", "connect_timeout_s"])
    return Compute(**block, **({"local_workers": local_cluster["workers"]} if "workers" in local_cluster else {}))


@contextmanager
def engine(settings: Compute) -> Iterator[None]:
    """Run every joblib `Parallel` inside the block where `settings` say. A Dask scheduler that
    cannot be reached fails here, naming its address, before any work starts."""
    if settings.backend == "local":
        with parallel_config(backend="loky", n_jobs=settings.n_jobs, initializer=_end_with_parent):
            yield
        return
    with _dask_client(settings) as client, parallel_config(backend="dask", wait_for_workers_timeout=60):
        print(f"compute: Dask at {client.scheduler.address}, "
              f"{len(client.scheduler_info(n_workers=-1)['workers'])} worker(s)")
        yield


def _end_with_parent() -> None:
    """Worker start-up: have Linux end this worker when the stage that started it dies, even by
    kill -9, so an interrupted stage leaves no orphan processes behind (elsewhere: a no-op)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the parent was already gone before the request took effect
            os._exit(1)


_PR_SET_PDEATHSIG = 1


@contextmanager
def _dask_client(settings: Compute) -> Iterator[object]:
    from dask.distributed import Client, LocalCluster  # imported here: slow to import, and only this backend needs it

    if settings.scheduler is None:
        with LocalCluster(n_workers=settings.local_workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(settings.scheduler, timeout=settings.connect_timeout_s)
    except (OSError, TimeoutError) as error:
        raise ComputeError(
            f"compute.scheduler {settings.scheduler}: no Dask scheduler answers there within "
            f"{settings.connect_timeout_s:g} s ({error}); start one with `dask scheduler` "
            "or set compute.backend: local"
        ) from None
    with client:
        yield client

"""Atomic writes (a stage's outputs appear whole or not at all: temporary file, then rename) and
the one params.yaml loader (every stage and command reads the same, checked, settings)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import yaml

from pipeline.checks import shown


@contextmanager
def _atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the body succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600: readable by its owner only
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(path: str | Path, writer: Callable[[Path], None]) -> None:
    with _atomic_path(path) as temporary:
        writer(temporary)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    _write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_json(data: Any, path: str | Path) -> None:
    _write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def write_text(text: str, path: str | Path) -> None:
    _write(path, lambda tmp: tmp.write_text(text))


def write_joblib(obj: Any, path: str | Path) -> None:
    _write(path, lambda tmp: joblib.dump(obj, tmp, compress=3))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


class ParamsError(ValueError):
    """params.yaml cannot be used as written (the message names the line or the setting)."""


class _UniqueKeys(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (PyYAML keeps the last without a word,
    DVC refuses the file: a stage run directly must not see other settings than `dvc repro`)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in first:
                raise ParamsError(f"{key_node.start_mark.name}, line {line}: {key!r} is given twice in one block "
                                  f"(first on line {first[key]}); keep one")
            first[key] = line
        return super().construct_mapping(node, deep=deep)


# YAML 1.2's booleans, as DVC reads params.yaml (ruamel): `no:`, `yes`, `on`, `off` are words, not
# true/false as in PyYAML's YAML 1.1 (a table named `no` or a label `yes` is what it says).
_UniqueKeys.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_UniqueKeys.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))

NAME = re.compile(r"[a-z0-9_]+")


def _named(params: dict) -> list[tuple[str, object]]:
    """(setting, name) of every name that becomes part of a command line or a path (dvc.yaml's
    `${key}` and `${item.*}`, models/<modality>/<learner>-<normalisation>, models/variants/<key>,
    models/cross_corpus/<key>)."""
    run, curve, compare = (params.get(b) or {} for b in ("run", "learning_curve", "compare"))
    named = [(f"{block} key", key) for block in ("opensmile_features", "external_features", "cross_corpus")
             for key in params.get(block) or {}]
    named += [("compare.variants key", key) for key in compare.get("variants") or {}]
    named += [(f"run.{setting}", item) for setting in ("modalities", "wide_modalities", "learners", "wide_learners",
                                                       "normalisations") for item in run.get(setting) or []]
    named += [(f"{block}.{setting}", section[setting]) for block, section in (("learning_curve", curve),
                                                                               ("compare", compare))
              for setting in ("modality", "learner", "normalisation") if setting in section]
    return named


def check_names(params: dict) -> None:
    """Refuse, before any work, a name that is not lower-case letters, digits and underscores: such
    names are put into shell commands and file paths (`au;touch X;#`, `/etc/x`, `../x`)."""
    bad = [f"{setting} {shown(name, 60)}" for setting, name in _named(params) if not (isinstance(name, str)
                                                                            and NAME.fullmatch(name))]
    if bad:
        raise ParamsError(f"params.yaml: {'; '.join(bad)}: a name must be lower-case letters, digits and "
                          "underscores ([a-z0-9_]+): it becomes part of commands and file paths")


MAX_PARAMS_BYTES = 1_000_000  # the shipped file is 15 kB: megabytes of settings are a mistake, and every stage reads them


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The whole params.yaml, checked (not huge, no key twice, safe names); stage entry points take
    their own block from it. ParamsError says what is wrong and where."""
    try:
        if (size := os.path.getsize(path)) > MAX_PARAMS_BYTES:
            raise ParamsError(f"{path}: {size:,} bytes, more than settings take ({MAX_PARAMS_BYTES:,} at most); "
                              "a value pasted in by mistake?")
        with open(path) as handle:
            params = yaml.load(handle, Loader=_UniqueKeys)
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found; run from the project root (the folder holding params.yaml "
                          "and models/)") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML ({str(error).splitlines()[0]} {getattr(error, 'problem_mark', '')})"
                          .strip()) from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: holds no blocks of settings")
    check_names(params)
    if READS_ENV in os.environ:
        return _noting(params, Path(os.environ[READS_ENV]))
    return params


# A folder: with it set, each run writes the settings it read there (tests/test_dvc_pipeline.py
# holds them against the params dvc.yaml tracks for its stage).
READS_ENV = "AVEMOTION_PARAMS_READ"


class _Noted(dict):
    """A block of params.yaml that notes, as dotted keys, every setting whose value is read (the
    keys listed alone are not: a check for unknown settings reads names, not values)."""

    def __init__(self, data: dict, prefix: str, notes: set[str]) -> None:
        super().__init__(data)
        self._prefix, self._notes = prefix, notes

    def _read(self, key: Any, value: Any) -> Any:
        if isinstance(value, dict):
            return _Noted(value, f"{self._prefix}{key}.", self._notes)
        self._notes.add(f"{self._prefix}{key}")
        return value

    def __getitem__(self, key: Any) -> Any:
        return self._read(key, super().__getitem__(key))

    def __iter__(self) -> Iterator:  # overridden, so copies ({**block}, dict(block)) read through __getitem__
        return super().__iter__()

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(key, self[key]) for key in self]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[key] for key in self]


def _noting(params: dict, folder: Path) -> dict:
    """`params`, noting what this run reads; written at exit to `folder` as <the DVC stage>.json (run
    by hand: <module and arguments>.json)."""
    import __main__
    import atexit
    import sys

    notes: set[str] = set()
    spec = getattr(__main__, "__spec__", None)
    run = os.environ.get("DVC_STAGE") or " ".join([spec.name if spec else Path(sys.argv[0]).name, *sys.argv[1:]])
    atexit.register(lambda: write_json(sorted(notes), folder / f"{run}.json"))
    return _Noted(params, "", notes)

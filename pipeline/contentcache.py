"""What the content-addressed caches share (`learn.fitcache`, `extract.featurecache`): where one
lives, the digest of the code and library versions its entries depend on (the modules the cached
work runs, found by their imports), and writing an entry whole or not at all."""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path


def folder(env: str, default: Path) -> Path | None:
    """The cache's folder: `default`, or the one the environment variable `env` names (`off`: none)."""
    where = os.environ.get(env, str(default))
    return None if where == "off" else Path(where)


def entry(where: Path, name: str, suffix: str) -> Path:
    """An entry's file: fanned out over folders by the key's first two characters."""
    return where / name[:2] / f"{name}{suffix}"


def code_digest(files: Iterable[Path], libraries: Iterable[str]) -> str:
    """A digest of the source files and the installed libraries' versions: a change to either misses every key."""
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        digest.update(path.read_bytes())
    for library in libraries:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none".encode())
    return digest.hexdigest()


def imported_sources(module: str) -> list[Path]:
    """The source files of `module`, of the packages above it (importing it runs their __init__) and
    of every module of its package it imports, directly or not: the code a cached result can depend
    on (an edit of any other module keeps every entry), and the code a DVC stage runs. A module that
    finds its package's modules itself (`pkgutil.iter_modules`: the corpus registry) imports them all."""
    package = module.split(".")[0]
    root = Path(__file__).resolve().parents[1]  # the folder that holds the package
    found: set[Path] = set()
    waiting = [module]
    while waiting:
        parts = waiting.pop().split(".")
        for name in (".".join(parts[:depth]) for depth in range(1, len(parts) + 1)):
            path = _source(root, name)
            if path is not None and path not in found:
                found.add(path)
                waiting += _imports(path, name, package)
    return sorted(found)


def _source(root: Path, module: str) -> Path | None:
    """The file of a module (or a package's __init__); None for a name that is no module (an imported function)."""
    base = root.joinpath(*module.split("."))
    return next((path for path in (base.with_suffix(".py"), base / "__init__.py") if path.is_file()), None)


def _imports(path: Path, module: str, package: str) -> list[str]:
    """The names of `package` that the module at `path` imports (a `from a import b` names a.b too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == package:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names if alias.name.split(".")[0] == package]
        elif isinstance(node, ast.Attribute) and node.attr == "iter_modules" and \
                getattr(node.value, "id", "") == "pkgutil":
            home = module if path.name == "__init__.py" else module.rpartition(".")[0]
            names += [f"{home}.{sibling.stem}" for sibling in path.parent.glob("*.py")]
    return names


def write_whole(path: Path, write: Callable[[Path], None]) -> None:
    """`write` the entry to a temporary name beside `path`, then move it into place (parallel tasks may
    store at once); a full disk or a read-only folder costs the speed-up, never the run."""
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)

"""Where clips live: plain folders and zip archives, addressed by one string each.

A file inside a zip is addressed as `<archive path>::<member name>`, so the corpus's own
distribution archives can be used without unpacking them.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

ZIP_SEPARATOR = "::"
# Video containers: frames read with OpenCV, audio tracks with PyAV.
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".flv", ".webm", ".m4v")


@dataclass(frozen=True)
class Found:
    """What scanning the roots gave: clip addresses and roots that could not be scanned."""

    clips: list[str]
    problems: list[tuple[str, str]]  # (path, reason)


def scan_roots(roots: list[str]) -> Found:
    """List every file under `roots` (folders, zip archives, or single files; zips in folders too).

    Everything is listed, junk included, so the caller can report each file it cannot use.
    Missing or empty roots and unreadable archives are reported, never fatal, so one bad
    root does not stop the others from being used.
    """
    clips: list[str] = []
    problems: list[tuple[str, str]] = []
    for root in roots:
        path = Path(root)
        if not path.exists():
            problems.append((root, "root does not exist"))
            continue
        files, unusable = _walk(path) if path.is_dir() else ([path], [])
        problems += unusable
        if not files and not unusable:
            problems.append((root, "root holds no files"))
        for file in files:
            if file.suffix.lower() != ".zip":
                clips.append(str(file))
                continue
            members, problem = _scan_zip(file)
            clips += members
            if problem:
                problems.append((str(file), problem))
    return Found(clips=sorted(set(clips)), problems=problems)


def printable(path: str | Path) -> str:
    """A path as text that can be written anywhere: bytes that are not UTF-8 become U+FFFD."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _walk(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every file under `folder`, and what could not be listed or used, with the reason:
    sub-folders that cannot be read, links to nothing, names that are not UTF-8."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []

    def unreadable(error: OSError) -> None:
        problems.append((printable(error.filename), f"folder cannot be read ({error.strerror}): its files are left out"))

    for here, _, names in os.walk(folder, onerror=unreadable):
        for name in names:
            path = Path(here) / name
            if printable(path) != str(path):
                problems.append((printable(path), "file name is not valid UTF-8: left out (rename it)"))
            elif not path.exists():
                problems.append((str(path), f"broken link to {os.readlink(path)}: left out"))
            elif path.is_file():
                files.append(path)
    return sorted(files), problems


def _scan_zip(path: Path) -> tuple[list[str], str | None]:
    """Member addresses of one archive, or the reason it cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m.filename for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as error:
        return [], f"not a readable zip archive ({error})"
    return [f"{path}{ZIP_SEPARATOR}{member}" for member in members], None


def suffix(address: str) -> str:
    """Lower-case file suffix of a clip address, inside an archive or not."""
    return Path(address.split(ZIP_SEPARATOR)[-1]).suffix.lower()


def name(address: str) -> str:
    """The bare file name of a clip address."""
    return Path(address.split(ZIP_SEPARATOR)[-1]).name


def unpacked_size(address: str) -> int:
    """Bytes a clip takes once read: its file size, or a zip member's declared uncompressed size
    (known before anything is inflated, so a 1 GiB member of a 1 MB archive can be refused)."""
    if ZIP_SEPARATOR in address:
        archive_path, member = address.split(ZIP_SEPARATOR, 1)
        with zipfile.ZipFile(archive_path) as archive:
            return archive.getinfo(member).file_size
    return os.path.getsize(address)


def open_clip(address: str) -> BinaryIO:
    """Open a clip for reading, whether it sits in a folder or inside a zip archive."""
    if ZIP_SEPARATOR in address:
        archive_path, member = address.split(ZIP_SEPARATOR, 1)
        try:
            with zipfile.ZipFile(archive_path) as archive:
                return io.BytesIO(archive.read(member))
        except (zipfile.BadZipFile, zlib.error) as error:  # e.g. "Bad CRC-32": as unreadable as a bad disk
            raise OSError(f"corrupt in its zip archive: {error}") from error
    return open(address, "rb")


@contextmanager
def local_file(address: str) -> Iterator[str]:
    """A path on disk holding the clip: the file itself, or a temporary copy of a zip member
    (for readers such as OpenCV's that cannot read from memory)."""
    if ZIP_SEPARATOR not in address:
        yield address
        return
    with open_clip(address) as stream, tempfile.NamedTemporaryFile(suffix=suffix(address)) as copy:
        shutil.copyfileobj(stream, copy)
        copy.flush()
        yield copy.name


def fingerprint(root: str) -> dict[str, object]:
    """A cheap summary of a root (file names, sizes, mtimes) that changes when its content does.

    DVC compares it between runs so that feature extraction reruns only when the data changes,
    without hashing hundreds of megabytes of audio on every `dvc repro`.
    """
    path = Path(root)
    if not path.exists():
        return {"path": root, "kind": "missing", "files": 0, "digest": ""}
    folder = path.is_dir()
    files = _walk(path)[0] if folder else [path]  # the files scan_roots sees, by the same rules
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        name = file.relative_to(path) if folder else file.name
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return {"path": root, "kind": "folder" if folder else "file", "files": len(files), "digest": digest.hexdigest()}

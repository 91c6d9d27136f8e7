"""Where clips live: plain folders and zip archives, addressed by one string each.

A file inside a zip is addressed as `<archive path>::<member name>`, so the corpus's own
distribution archives can be used without unpacking them.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import struct
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
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac")  # a user's clips (libsndfile, else FFmpeg)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")  # a folder of them is one clip (a sequence)


@dataclass(frozen=True)
class Found:
    """What scanning the roots gave: clip addresses and roots that could not be scanned."""

    clips: list[str]
    problems: list[tuple[str, str]]  # (path, reason)


def scan_roots(roots: list[str]) -> Found:
    """List every file under `roots` (folders, zip archives, or single files; zips in folders too).

    Everything is listed, junk included, so the caller can report each file it cannot use.
    Missing or empty roots, unreadable archives and what a folder holds that is no file
    (links to nothing, devices, FIFOs) are reported, never fatal, so one bad root does not stop
    the others from being used. The one scanner of ingest, `predict` and `evaluate`.
    """
    clips: list[str] = []
    problems: list[tuple[str, str]] = []
    for root in roots:
        path = Path(root)
        if not path.exists():
            problems.append((root, "root does not exist" if not path.is_symlink() else
                             f"broken link to {os.readlink(path)}"))
            continue
        if path.is_dir():
            files, unusable = _walk(path)
        elif path.is_file():
            files, unusable = [path], []
        else:
            files, unusable = [], [(root, NOT_REGULAR)]
        problems += unusable
        if not files and not unusable:
            problems.append((root, "root holds no files"))
        for file in files:
            if file.suffix.lower() != ".zip":
                clips.append(str(file))
                continue
            members, refused = _scan_zip(file)
            clips += members
            problems += refused
    return Found(clips=sorted(set(clips)), problems=problems)


NOT_REGULAR = "not a regular file (a device, FIFO or socket): left out"


def printable(path: str | Path) -> str:
    """A path as text that can be written anywhere: bytes that are not UTF-8 become U+FFFD."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _walk(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every file under `folder`, links to folders followed (a link to a folder already listed,
    such as one back up the tree, is not followed twice), and what could not be listed or used,
    with the reason: sub-folders that cannot be read, links to nothing, names that are not UTF-8,
    paths too long to open, devices and FIFOs."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    listed = {os.path.realpath(folder)}

    def unreadable(error: OSError) -> None:
        problems.append((printable(error.filename), f"folder cannot be read ({error.strerror}): its files are left out"))

    for here, folders, names in os.walk(folder, onerror=unreadable, followlinks=True):
        for sub in list(folders):
            real = os.path.realpath(os.path.join(here, sub))
            if real in listed:
                folders.remove(sub)
                problems.append((printable(os.path.join(here, sub)),
                                 f"link to {printable(real)}, a folder already listed: not followed again"))
            listed.add(real)
        for name in names:
            path = Path(here) / name
            if printable(path) != str(path):
                problems.append((printable(path), "file name is not valid UTF-8: left out (rename it)"))
                continue
            try:
                if path.is_file():
                    files.append(path)
                elif not path.exists():
                    problems.append((str(path), f"broken link to {os.readlink(path)}: left out"))
                else:
                    problems.append((str(path), NOT_REGULAR))
            except OSError as error:  # e.g. a path longer than the system allows
                problems.append((printable(path), f"cannot be opened ({error.strerror}): left out"))
    return sorted(files), problems


_UTF8_NAME = 0x800  # zip general-purpose flag: the member name is UTF-8


def _misnamed_members(path: Path) -> dict[int, bytes]:
    """{offset of its flag bytes: the name} of each central-directory entry flagged UTF-8 whose name is
    not: Python's zipfile refuses the whole archive for one such entry."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - 65_557))
        tail = handle.read()
        end = tail.rfind(b"PK\x05\x06")
        if end < 0:
            return {}
        directory_size, directory_start = struct.unpack("<II", tail[end + 12:end + 20])
        handle.seek(directory_start)
        directory = handle.read(directory_size)
    misnamed, at = {}, 0
    while directory[at:at + 4] == b"PK\x01\x02":
        flags, = struct.unpack("<H", directory[at + 8:at + 10])
        name_length, extra_length, comment_length = struct.unpack("<HHH", directory[at + 28:at + 34])
        name = directory[at + 46:at + 46 + name_length]
        if flags & _UTF8_NAME:
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                misnamed[directory_start + at + 8] = name
        at += 46 + name_length + extra_length + comment_length
    return misnamed


class _Patched(io.FileIO):
    """A file read with some bytes replaced (an archive whose misnamed entries lose their UTF-8 flag)."""

    def __init__(self, path: Path, patches: dict[int, bytes]) -> None:
        super().__init__(path, "rb")
        self.patches = patches

    def read(self, size: int = -1) -> bytes:
        start = self.tell()
        data = bytearray(super().read(size))
        for offset, replacement in self.patches.items():
            for i, byte in enumerate(replacement):
                if start <= offset + i < start + len(data):
                    data[offset + i - start] = byte
        return bytes(data)


def _open_zip(path: str | Path) -> tuple[zipfile.ZipFile, dict[str, str]]:
    """The archive, and the members whose name is not valid UTF-8 though flagged so (name as
    zipfile shows it -> as it can be printed): listed as such, never read, while the archive's
    other members stay usable."""
    try:
        return zipfile.ZipFile(path), {}
    except UnicodeDecodeError:
        misnamed = _misnamed_members(Path(path))
        patches = {}
        for offset, name in misnamed.items():
            with open(path, "rb") as handle:
                handle.seek(offset)
                flags, = struct.unpack("<H", handle.read(2))
            patches[offset] = struct.pack("<H", flags & ~_UTF8_NAME)
        names = {n.decode("cp437"): n.decode("utf-8", "replace") for n in misnamed.values()}
        return zipfile.ZipFile(_Patched(Path(path), patches)), names


def unsafe_member(member: str) -> str | None:
    """Why a member name cannot name a take (an absolute path, or `..` climbing out of the archive's
    tree: an unpacking tool would write it elsewhere), or None."""
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member):
        return "absolute path in the archive"
    if ".." in parts:
        return "'..' in its path climbs out of the archive"
    return None


def _scan_zip(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Member addresses of one archive, and the members (or the archive) that cannot be used."""
    try:
        archive, misnamed = _open_zip(path)
        with archive:
            members = [m.filename for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, struct.error) as error:
        return [], [(str(path), f"not a readable zip archive ({error})")]
    problems = [(f"{path}{ZIP_SEPARATOR}{m}", "member name is not valid UTF-8: left out") for m in misnamed.values()]
    usable = []
    for member in (m for m in members if m not in misnamed):
        if reason := unsafe_member(member):
            problems.append((f"{path}{ZIP_SEPARATOR}{member}", f"{reason}: refused"))
        else:
            usable.append(f"{path}{ZIP_SEPARATOR}{member}")
    return usable, problems


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
        with _open_zip(archive_path)[0] as archive:
            return archive.getinfo(member).file_size
    return os.path.getsize(address)


def open_clip(address: str) -> BinaryIO:
    """Open a clip for reading, whether it sits in a folder or inside a zip archive."""
    if ZIP_SEPARATOR in address:
        archive_path, member = address.split(ZIP_SEPARATOR, 1)
        try:
            with _open_zip(archive_path)[0] as archive:
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


def file_hash(address: str) -> str:
    """A digest of a clip's bytes (a video's: decoding it all to hash the frames would cost seconds)."""
    digest = hashlib.sha256()
    with open_clip(address) as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()[:32]


def fingerprint(root: str, known: dict[str, str]) -> dict[str, object]:
    """A summary of a root (file names, sizes and contents) that changes when, and only when, its
    content does: DVC compares it between runs so that ingest reruns only when the data changed.
    A copy of the data elsewhere, or the same files touched, gives the same summary.

    `known` caches each file's content hash by path, size and modification time (filled here):
    a rerun hashes only new or changed files, not hundreds of megabytes of audio every time."""
    path = Path(root)
    if not path.exists():
        return {"path": root, "kind": "missing", "files": 0, "digest": ""}
    folder = path.is_dir()
    files = _walk(path)[0] if folder else [path]  # the files scan_roots sees, by the same rules
    return {"path": root, "kind": "folder" if folder else "file", "files": len(files),
            "digest": digest_of(files, path if folder else path.parent, known)}


def digest_of(files: list[Path], folder: Path, known: dict[str, str]) -> str:
    """One hash of the files' names (relative to `folder`), sizes and contents (`known`: `fingerprint`'s cache)."""
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        key = f"{os.path.abspath(file)}\0{stat.st_size}\0{stat.st_mtime_ns}"
        if key not in known:
            known[key] = file_hash(str(file))
        name = os.path.relpath(file, folder)
        digest.update(f"{name}\0{stat.st_size}\0{known[key]}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()

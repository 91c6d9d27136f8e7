"""Fetch corpus archives over HTTP(S) with MD5 verification, resuming nothing half-done.

A file is downloaded to `<name>.part` and renamed only once its MD5 matches, so an
interrupted or corrupted download never passes for the real archive.
"""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

from pipeline import progress

_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that failed or whose checksum does not match (the message names the file)."""


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(base_url: str, files: dict[str, str], directory: Path, timeout_s: float = 60.0) -> list[Path]:
    """Make sure every `files` entry (name -> md5) sits verified in `directory`; return their paths.

    Files already present are checked and kept when their MD5 matches; a mismatch means
    they are fetched again.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, expected in files.items():
        target = directory / name
        if not (target.exists() and md5sum(target) == expected):
            _download(f"{base_url.rstrip('/')}/{name}", target, expected, timeout_s)
        paths.append(target)
    return paths


def _download(url: str, target: Path, expected_md5: str, timeout_s: float) -> None:
    partial = target.with_name(target.name + ".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with progress.bar(total=total, unit="B", unit_scale=True, desc=f"download {target.name}") as bar:
                for block in iter(lambda: response.read(_CHUNK), b""):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
    except OSError as error:  # URLError, HTTPError and socket timeouts are all OSErrors
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{url}: download failed ({error})") from error
    if digest.hexdigest() != expected_md5:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{url}: MD5 {digest.hexdigest()} does not match the expected {expected_md5}")
    partial.replace(target)

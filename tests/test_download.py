"""Zenodo download path, exercised against a local HTTP server on 127.0.0.1."""

import hashlib
import zipfile

import pytest

from conftest import real_take, write_clip
from pipeline.ingest import download


def small_archive(www, tmp_path):
    (www / "files").mkdir()
    archive = www / "files" / "Audio_Speech_Actors_01-24.zip"
    clip = write_clip(tmp_path / "c.wav", real_take(1, "03-01-05-02-01-01-01"), seconds=0.5)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(clip, "Actor_01/03-01-05-02-01-01-01.wav")
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def test_fetch_downloads_verifies_and_reuses(server, tmp_path):
    www, url = server
    archive, md5 = small_archive(www, tmp_path)
    target = tmp_path / "downloads"
    [path] = download.fetch(url, {archive.name: md5}, target)
    assert path.read_bytes() == archive.read_bytes()
    assert not list(target.glob("*.part"))
    archive.unlink()  # a verified copy is reused: no request needed
    assert download.fetch(url, {path.name: md5}, target) == [path]


def test_checksum_mismatch_is_refused_and_nothing_left(server, tmp_path):
    www, url = server
    archive, _ = small_archive(www, tmp_path)
    target = tmp_path / "downloads"
    with pytest.raises(download.DownloadError, match="MD5 .* does not match"):
        download.fetch(url, {archive.name: "0" * 32}, target)
    assert list(target.iterdir()) == []


def test_missing_file_on_the_server_names_the_url(server, tmp_path):
    _, url = server
    with pytest.raises(download.DownloadError, match=r"Audio_Song_Actors_01-24\.zip: download failed"):
        download.fetch(url, {"Audio_Song_Actors_01-24.zip": "0" * 32}, tmp_path / "downloads")

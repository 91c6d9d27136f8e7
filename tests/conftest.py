"""Shared fixtures: real RAVDESS audio from ../shared/data, cut into small clips under tmp."""

from __future__ import annotations

import http.server
import os
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba-cache"))  # librosa's JIT, compiled once
os.environ["AVEMOTION_FIT_CACHE"] = "off"  # every fit made afresh, unless a test gives the cache a folder
os.environ["AVEMOTION_FIGURE_CACHE"] = "off"  # every figure drawn, likewise
SHARED = REPO.parent / "shared" / "data"
RAVDESS = SHARED / "ravdess"
SPEECH = RAVDESS / "Audio_Speech_Actors_01-24"


def real_take(actor: int, name: str) -> Path:
    """Path of a real RAVDESS speech take, e.g. real_take(1, '03-01-05-02-01-01-01')."""
    return SPEECH / f"Actor_{actor:02d}" / f"{name}.flac"


def write_clip(path: Path, source: Path, seconds: float = 1.5, rate: int | None = None, stereo: bool = False) -> Path:
    """Write a cut of a real clip (optionally resampled or made stereo) to `path` (wav or flac)."""
    samples, source_rate = soundfile.read(source, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    start = int(0.8 * source_rate)  # skip the leading silence of RAVDESS takes
    mono = mono[start : start + int(seconds * source_rate)]
    if rate is not None and rate != source_rate:
        from scipy.signal import resample_poly

        mono = resample_poly(mono, rate, source_rate).astype(np.float32)
    out = np.column_stack([mono, 0.5 * mono]) if stereo else mono
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, out, rate or source_rate)
    return path


def write_sparse_wav(path: Path, seconds: float, rate: int = 48000) -> Path:
    """A 16-bit mono WAV whose header promises `seconds` of audio, its data a hole in a sparse file
    (two hours take 691 MB as the file's size and nothing on disk): a long clip, cheaply."""
    with soundfile.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as clip:
        clip.write(np.zeros(rate // 100, dtype=np.float32))
    data_bytes = 2 * int(seconds * rate)
    header = bytearray(path.read_bytes()[:44])
    header[4:8] = (36 + data_bytes).to_bytes(4, "little")
    header[40:44] = data_bytes.to_bytes(4, "little")
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(44 + data_bytes)
    return path


@pytest.fixture
def angry_take() -> Path:
    return real_take(1, "03-01-05-02-01-01-01")


FOOTAGE = SHARED / "faces" / "videos" / "single_face.mp4"


def write_av_clip(path: Path, audio_source: Path | None, footage: Path = FOOTAGE, seconds: float = 1.0) -> Path:
    """A RAVDESS-like mp4: H.264 video from real footage (first `seconds`) and, unless
    `audio_source` is None, a 48 kHz AAC track cut from a real take (after its leading silence)."""
    import av
    import cv2

    capture = cv2.VideoCapture(str(footage))
    fps = capture.get(cv2.CAP_PROP_FPS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=round(fps))
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        track = container.add_stream("aac", rate=48000, layout="mono") if audio_source is not None else None
        for _ in range(int(seconds * fps)):
            ok, image = capture.read()
            if not ok:
                break
            container.mux(video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(video.encode())
        if track is not None:
            samples, rate = soundfile.read(audio_source, dtype="float32", always_2d=True)
            mono = np.ascontiguousarray(samples.mean(axis=1)[int(0.8 * rate) : int((0.8 + seconds) * rate)])
            for start in range(0, len(mono), 1024):
                frame = av.AudioFrame.from_ndarray(mono[None, start : start + 1024], format="fltp", layout="mono")
                frame.sample_rate = rate
                container.mux(track.encode(frame))
            container.mux(track.encode())
    capture.release()
    return path


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 (a random free port) for the duration of a test."""
    www = tmp_path / "www"
    www.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/files"
    httpd.shutdown()
    httpd.server_close()

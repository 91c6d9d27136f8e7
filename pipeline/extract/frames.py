"""Grayscale frames of a clip: a video file, a still image, or an image sequence.

An image sequence (CK+: the frames of one sequence are one clip) is addressed by a glob
pattern such as `ckplus48/happy/S010_006_*.png`; its frames are the matching files in
name order. Videos are sampled while decoding (every Nth frame, optionally an opening cut
and a cap on the count), so the frames that are skipped are never converted.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.ingest import sources
from pipeline.errors import ClipError


class FrameError(ClipError):
    """A clip whose frames cannot be read, with the reason (the caller adds the file name)."""


@dataclass(frozen=True)
class Sampling:
    every_nth: int = 1
    max_frames: int = 0  # 0: keep every sampled frame
    skip_start_s: float = 0.0


@dataclass(frozen=True)
class Frames:
    images: list[np.ndarray]  # grayscale uint8, each (height, width)
    indices: np.ndarray  # position of each kept frame in the clip
    fps: float  # NaN for images
    total: int  # frames in the clip


def sample_indices(total: int, fps: float, sampling: Sampling) -> np.ndarray:
    """Which of `total` frames to keep. A video (finite `fps`) skips its opening and keeps
    every Nth frame (a clip shorter than the cut keeps all); an image sequence, already sparse
    (CK+: 3 frames), keeps every image. Both then keep at most `max_frames`, evenly spaced."""
    if np.isfinite(fps):
        start = int(round(sampling.skip_start_s * fps))
        chosen = np.arange(start if start < total else 0, total, sampling.every_nth)
    else:
        chosen = np.arange(total)
    if sampling.max_frames and len(chosen) > sampling.max_frames:
        chosen = chosen[np.linspace(0, len(chosen) - 1, sampling.max_frames).round().astype(int)]
    return chosen


def read(address: str, sampling: Sampling = Sampling()) -> Frames:
    """The sampled grayscale frames of one clip (a file, a zip member, or an image-sequence
    pattern); raise FrameError if there are none."""
    if any(c in address for c in "*?["):
        return _read_images(sorted(glob.glob(address)), address, sampling)
    kind = sources.suffix(address)
    if kind not in sources.IMAGE_SUFFIXES + sources.VIDEO_SUFFIXES:
        raise FrameError(f"not a video or image (suffix {kind!r})")
    if sources.ZIP_SEPARATOR not in address and not Path(address).is_file():
        raise FrameError("no such file")
    with sources.local_file(address) as path:
        if kind in sources.IMAGE_SUFFIXES:
            return _read_images([path], address, sampling)
        return _read_video(path, sampling)


def _read_images(files: list[str], address: str, sampling: Sampling) -> Frames:
    if not files:
        raise FrameError(f"no image matches {address!r} (empty image folder or sequence)")
    keep = sample_indices(len(files), float("nan"), sampling)
    images = []
    for i in keep:
        image = cv2.imread(files[i], cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise FrameError(f"unreadable image {files[i]}")
        images.append(image)
    return Frames(images, keep, float("nan"), len(files))


def _read_video(address: str, sampling: Sampling) -> Frames:
    capture = cv2.VideoCapture(address)
    try:
        if not capture.isOpened():
            raise FrameError("unreadable video (OpenCV cannot open it)")
        fps = capture.get(cv2.CAP_PROP_FPS) or float("nan")
        promised = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        keep = set(sample_indices(promised, fps, sampling).tolist()) if promised > 0 else None
        images, indices, index = [], [], 0
        while capture.grab():  # grab decodes; retrieve converts, only for kept frames
            if keep is None or index in keep:
                ok, frame = capture.retrieve()
                if ok:
                    images.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
                    indices.append(index)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise FrameError("unreadable video (no frame could be decoded)")
    if promised > 0 and index < 0.9 * promised:
        raise FrameError(f"truncated video: its header promises {promised} frames, {index} could be decoded")
    if keep is None:  # no frame count in the header: sample what was decoded
        chosen = sample_indices(index, fps, sampling)
        images, indices = [images[i] for i in chosen], chosen.tolist()
    return Frames(images, np.asarray(indices), fps, index)

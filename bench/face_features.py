"""Benchmark: the project's face landmarking vs the naive reference, on real videos.

The reference runs OpenCV's Haar cascade at full resolution with its default minimum size
on every frame, then dlib's 68 points on the largest face. The project detects on a frame
downscaled to `face_features.detect_width` with a minimum face size relative to the frame
(params.yaml), then places the same 68 points at full resolution. Both decode the same
frames; the ratio of frames per second is printed per video, for the real 640x360 and
960x540 clips in ../shared/data/faces/videos and a 1280x720 H.264 clip made from them
(RAVDESS's format). Finally the stage's own settings (frame sampling, 2 workers) run over
copies of the 720p clip to extrapolate the time for all 2,452 RAVDESS AV clips.

Usage: python bench/face_features.py [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TQDM_DISABLE", "1")

from pipeline import compute  # noqa: E402
from pipeline.extract import face  # noqa: E402
from pipeline.extract.batch import extract  # noqa: E402
from pipeline.extract.face import settings_from  # noqa: E402

VIDEOS = REPO.parent / "shared" / "data" / "faces" / "videos"
RAVDESS_AV_CLIPS, RAVDESS_FRAMES_PER_CLIP = 2452, 110


def decoded_frames(path: Path, limit: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    images = []
    while len(images) < limit:
        ok, image = capture.read()
        if not ok:
            break
        images.append(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    capture.release()
    return images


def make_720p(source: Path, target: Path, seconds: float) -> Path:
    """A 1280x720 30 fps H.264 clip: real footage scaled up, as RAVDESS's AV clips are encoded."""
    import av

    capture = cv2.VideoCapture(str(source))
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for _ in range(int(seconds * 30)):
            ok, image = capture.read()
            if not ok:
                break
            frame = av.VideoFrame.from_ndarray(cv2.resize(image, (1280, 720)), format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    capture.release()
    return target


def naive_points(gray: np.ndarray) -> bool:
    """The reference: Haar at full resolution, OpenCV's default minimum size, then dlib."""
    cascade, _ = face._models()
    boxes = cascade.detectMultiScale(gray)
    if len(boxes) == 0:
        return False
    x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
    face.landmarks(gray, (int(x), int(y), int(w), int(h)))
    return True


def project_points(gray: np.ndarray, settings: face.FaceSettings) -> bool:
    return not np.isnan(face.frame_points(gray, settings)[0, 0])


def frames_per_second(images: list[np.ndarray], method) -> tuple[float, float]:
    """(frames per second, fraction of frames with a face), best of two passes."""
    best, found = 0.0, 0.0
    for _ in range(2):
        started = time.perf_counter()
        hits = [method(image) for image in images]
        best = max(best, len(images) / (time.perf_counter() - started))
        found = float(np.mean(hits))
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="frames per video: this many seconds")
    parser.add_argument("--copies", type=int, default=8, help="720p clips for the 2-worker stage run")
    args = parser.parse_args()
    settings = settings_from(yaml.safe_load((REPO / "params.yaml").read_text())["face_features"])
    face._models()  # load the models once, outside the timings
    with tempfile.TemporaryDirectory(prefix="bench-face-") as scratch:
        hd = make_720p(VIDEOS / "WolfgangLanger_Pexels.mp4", Path(scratch) / "01-01-05-02-01-01-01.mp4", args.seconds)
        videos = [VIDEOS / "WolfgangLanger_Pexels.mp4", VIDEOS / "single_face.mp4",
                  VIDEOS / "face_noface.mov", VIDEOS / "noface_face.mov", hd]
        print(f"per-frame landmarking, single process, first {args.seconds:g} s of each video, best of 2")
        for video in videos:
            images = decoded_frames(video, int(args.seconds * 30))
            reference, reference_found = frames_per_second(images, naive_points)
            ours, ours_found = frames_per_second(images, lambda g: project_points(g, settings))
            height, width = images[0].shape
            print(f"  {video.name:28s} {width}x{height} {len(images):4d} frames: reference {reference:6.1f} fps "
                  f"(face in {reference_found:4.0%}), project {ours:6.1f} fps (face in {ours_found:4.0%}): "
                  f"{ours / reference:.2f}x")

        copies = [str(hd)] * args.copies
        names = face.feature_names(settings)
        started = time.perf_counter()
        with compute.engine(compute.Compute(n_jobs=2)):
            extract(face.file_features, copies, settings, len(names), desc="face")
        per_clip = (time.perf_counter() - started) / len(copies)
        frames_in_clip = len(decoded_frames(hd, 10_000))
        scaled = per_clip * RAVDESS_FRAMES_PER_CLIP / frames_in_clip
        print(f"stage settings (every_nth={settings.every_nth}, max_frames={settings.max_frames}, 2 workers) on "
              f"{args.copies} copies of the {frames_in_clip}-frame 720p clip: {per_clip:.2f} s per clip")
        print(f"extrapolated for all {RAVDESS_AV_CLIPS} RAVDESS AV clips of ~{RAVDESS_FRAMES_PER_CLIP} frames: "
              f"{RAVDESS_AV_CLIPS * scaled / 60:.0f} min on this machine")


if __name__ == "__main__":
    main()

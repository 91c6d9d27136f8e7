"""Face: frames -> Haar box -> dlib 68 points -> aligned geometry -> clip functionals.

Detection runs on a downscaled grayscale frame (the Haar cascade's cost grows with the
pixel count, and a face filling a fair part of the frame survives downscaling); the box is
mapped back and dlib places the 68 iBUG 300-W points at full resolution. Everything after
the landmarks is vectorized NumPy over frames: shapes are `(n_frames, 68, 2)` for points
and `(n_frames, n_descriptors)` for geometry, with NaN rows for frames without a face.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import dlib
import numpy as np

from pipeline import checks
from pipeline.extract import frames
from pipeline.extract.functionals import check as check_functionals, pool, pooled_names
from pipeline.checks import SettingError

N_POINTS = 68
RIGHT_EYE, LEFT_EYE = slice(36, 42), slice(42, 48)  # the subject's right eye is on the image's left
RIGHT_BROW, LEFT_BROW = slice(17, 22), slice(22, 27)


class FaceModelError(RuntimeError):
    """The face models cannot be loaded: fatal for the whole run, not one clip's problem."""


@dataclass(frozen=True)
class FaceSettings:
    """Every knob of the face features (filled from params.yaml by the stage)."""

    min_frame_side: int = 0  # enlarge smaller frames to this shorter side first (CK+48's 48x48 crops); 0: never
    detect_width: int = 320  # Haar runs on the frame downscaled to this width (never enlarged)
    min_face_fraction: float = 0.2  # smallest face side, as a fraction of the frame's shorter side
    scale_factor: float = 1.1
    min_neighbors: int = 4
    every_nth: int = 1  # sample every Nth frame of a video ...
    max_frames: int = 0  # ... then keep at most this many, evenly spaced (0: all)
    skip_start_s: float = 0.0  # drop the opening of a video (actors start neutral)
    functionals: tuple[str, ...] = ("mean", "std", "min", "max", "range", "p10", "p50", "p90")

    def __post_init__(self) -> None:
        check_functionals(self.functionals)
        checks.check("face_features", self, _SETTING_RULES)

    @property
    def sampling(self) -> frames.Sampling:
        return frames.Sampling(self.every_nth, self.max_frames, self.skip_start_s)


def settings_from(block: dict) -> FaceSettings:
    """FaceSettings from the `face_features` params block (its `warn_below` changes no feature: it
    is the stage's, `warn_below_from`)."""
    return checks.from_block("face_features", FaceSettings, {k: v for k, v in block.items() if k != "warn_below"})


def warn_below_from(block: dict) -> float:
    """`face_features.warn_below`: the share of frames with a face under which a clip is listed."""
    value = block.get("warn_below", 0.5)
    if not (checks.is_number(value) and 0 <= value <= 1):
        raise SettingError(f"face_features.warn_below: {value!r} is not allowed; it must be a fraction from 0 to 1")
    return float(value)


_SETTING_RULES: list[checks.Rule] = [
    ("min_frame_side", "a whole number of pixels >= 0 (0: never enlarge)",
     lambda s: checks.is_int(s.min_frame_side) and s.min_frame_side >= 0),
    ("detect_width", "a whole number of pixels >= 32", lambda s: checks.is_int(s.detect_width) and s.detect_width >= 32),
    ("min_face_fraction", "a number above 0 and at most 1",
     lambda s: checks.is_number(s.min_face_fraction) and 0 < s.min_face_fraction <= 1),
    ("scale_factor", "a number above 1 (the cascade's step between scales)",
     lambda s: checks.is_number(s.scale_factor) and s.scale_factor > 1),
    ("min_neighbors", "a whole number >= 0", lambda s: checks.is_int(s.min_neighbors) and s.min_neighbors >= 0),
    ("every_nth", "a whole number >= 1", lambda s: checks.is_int(s.every_nth) and s.every_nth >= 1),
    ("max_frames", "a whole number >= 0 (0: all)", lambda s: checks.is_int(s.max_frames) and s.max_frames >= 0),
    ("skip_start_s", "a number of seconds >= 0", lambda s: checks.is_number(s.skip_start_s) and s.skip_start_s >= 0),
]


def predictor_path() -> Path:
    """dlib's 68-point model as shipped by the face-recognition-models wheel (found without
    importing the package, whose import needs the retired pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelError("the face-recognition-models package is not installed (pip install -r requirements.txt)")
    return Path(spec.submodule_search_locations[0]) / "models" / "shape_predictor_68_face_landmarks.dat"


@lru_cache(maxsize=1)
def _models() -> tuple[cv2.CascadeClassifier, dlib.shape_predictor]:
    """Load the cascade and the predictor once per process (the predictor is 100 MB)."""
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    if cascade.empty():
        raise FaceModelError("OpenCV's Haar cascade haarcascade_frontalface_default.xml could not be loaded")
    return cascade, dlib.shape_predictor(str(predictor_path()))


def detect(gray: np.ndarray, settings: FaceSettings) -> tuple[int, int, int, int] | None:
    """The largest face `(x, y, width, height)` in full-frame pixels, or None."""
    cascade, _ = _models()
    scale = min(1.0, settings.detect_width / gray.shape[1])
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    side = max(1, int(settings.min_face_fraction * min(small.shape)))
    boxes = cascade.detectMultiScale(
        small, scaleFactor=settings.scale_factor, minNeighbors=settings.min_neighbors, minSize=(side, side)
    )
    if len(boxes) == 0:
        return None
    x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
    return tuple(int(round(v / scale)) for v in (x, y, w, h))


def landmarks(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """dlib's 68 points `(68, 2)` (x, y in pixels) inside a face box."""
    _, predictor = _models()
    x, y, w, h = box
    shape = predictor(gray, dlib.rectangle(x, y, x + w, y + h))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def frame_points(gray: np.ndarray, settings: FaceSettings) -> np.ndarray:
    """Landmarks of the largest face in one grayscale frame, `(68, 2)` in that frame's pixels
    (NaN when there is no face). A frame smaller than `min_frame_side` is enlarged first (the
    cascade and the predictor need a few dozen pixels per face); the points are scaled back."""
    factor = max(1.0, settings.min_frame_side / min(gray.shape))
    if factor > 1.0:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    box = detect(gray, settings)
    if box is None:
        return np.full((N_POINTS, 2), np.nan)
    return landmarks(gray, box) / factor


def align(points: np.ndarray) -> np.ndarray:
    """Remove position, scale and in-plane rotation: `(n, 68, 2)` -> `(n, 68, 2)` with the eye
    centres at (-0.5, 0) and (0.5, 0), so distances are in inter-ocular units.

    As complex numbers the similarity transform is one division: (z - mid) / (left - right).
    """
    z = points[..., 0] + 1j * points[..., 1]
    right, left = z[:, RIGHT_EYE].mean(axis=1), z[:, LEFT_EYE].mean(axis=1)
    aligned = (z - ((right + left) / 2)[:, None]) / (left - right)[:, None]
    return np.stack([aligned.real, aligned.imag], axis=-1)


def _distance(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[:, a] - points[:, b], axis=1)


GEOMETRY = (
    "mouth_open", "mouth_width", "mouth_height", "lip_corner_lift", "corner_to_eye_line",
    "brow_raise_right", "brow_raise_left", "brow_gap", "eye_open_right", "eye_open_left",
    "nose_to_mouth", "chin_drop", "mouth_to_chin",
)


def geometry(aligned: np.ndarray) -> np.ndarray:
    """Expression-bearing measures `(n, len(GEOMETRY))` of aligned points (inter-ocular units;
    y grows downwards, so a smile's corner lift is negative)."""
    y = aligned[..., 1]
    corners_y = (y[:, 48] + y[:, 54]) / 2
    return np.column_stack([
        _distance(aligned, 62, 66),  # inner lips apart
        _distance(aligned, 48, 54),  # lip corner to corner
        _distance(aligned, 51, 57),  # outer lip top to bottom
        corners_y - (y[:, 51] + y[:, 57]) / 2,  # corners above (-) or below (+) the lip centre
        corners_y,  # corners below the eye line
        y[:, RIGHT_EYE].mean(axis=1) - y[:, RIGHT_BROW].mean(axis=1),
        y[:, LEFT_EYE].mean(axis=1) - y[:, LEFT_BROW].mean(axis=1),
        _distance(aligned, 21, 22),  # inner brow ends (a frown draws them together)
        (_distance(aligned, 37, 41) + _distance(aligned, 38, 40)) / 2,
        (_distance(aligned, 43, 47) + _distance(aligned, 44, 46)) / 2,
        _distance(aligned, 33, 51),
        _distance(aligned, 27, 8),  # nose bridge to chin: jaw drop
        _distance(aligned, 57, 8),
    ])


def descriptor_names() -> list[str]:
    """Column names of `descriptors`: aligned coordinates, then the geometry."""
    return [f"{axis}{i:02d}" for axis in ("x", "y") for i in range(N_POINTS)] + list(GEOMETRY)


def descriptors(points: np.ndarray) -> np.ndarray:
    """Frame-level descriptors `(n, 136 + len(GEOMETRY))` from raw points `(n, 68, 2)`."""
    aligned = align(points)
    return np.column_stack([aligned[..., 0], aligned[..., 1], geometry(aligned)])


MOTION = ("landmark_speed",) + tuple(f"{g}_speed" for g in GEOMETRY)
MOTION_FUNCTIONALS = ("mean", "max")


def feature_names(settings: FaceSettings) -> list[str]:
    """Names of `clip_features`' vector, in its order."""
    return (
        ["face_fraction", "frames_sampled"]
        + pooled_names(descriptor_names(), settings.functionals)
        + pooled_names(list(MOTION), MOTION_FUNCTIONALS)
    )


def clip_features(points: np.ndarray, settings: FaceSettings) -> np.ndarray:
    """One clip's vector from the points of its sampled frames `(n, 68, 2)` (NaN: no face).

    Motion is the frame-to-frame change between consecutive sampled frames that both have a
    face: mean point displacement and the change of each geometry measure.
    """
    found = ~np.isnan(points[:, 0, 0])
    per_frame = descriptors(points[found]) if found.any() else np.empty((0, len(descriptor_names())))
    coordinates = per_frame[:, : 2 * N_POINTS].reshape(len(per_frame), 2, N_POINTS)
    point_speed = np.linalg.norm(np.diff(coordinates, axis=0), axis=1).mean(axis=1)
    geometry_speed = np.abs(np.diff(per_frame[:, 2 * N_POINTS :], axis=0))
    return np.concatenate([
        [found.mean() if len(found) else 0.0, len(found)],
        pool(per_frame, settings.functionals),
        pool(np.column_stack([point_speed, geometry_speed]), MOTION_FUNCTIONALS),
    ])


def file_features(address: str, settings: FaceSettings) -> np.ndarray:
    """`clip_features` of the clip at `address` (a video, an image, or an image-sequence
    pattern): what the batch runner calls per clip."""
    clip = frames.read(address, settings.sampling)
    return clip_features(np.stack([frame_points(image, settings) for image in clip.images]), settings)

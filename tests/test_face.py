"""Face branch: the real dlib model against reference landmarks, known answers for the geometry,
real videos for detection and bad input."""

import re
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from conftest import SHARED
from pipeline.extract import face, frames
from pipeline.extract.outputs import face_notes

LANDMARKS = SHARED / "faces" / "landmarks"
VIDEOS = SHARED / "faces" / "videos"
SPARSE = face.FaceSettings(every_nth=6, max_frames=12)


def reference_faces() -> list[tuple[np.ndarray, tuple[int, int, int, int], np.ndarray]]:
    """(grayscale image, reference box (x, y, w, h), reference 68 points) for every face in
    dlib's example XML files."""
    faces = []
    for xml in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        for image in ET.parse(LANDMARKS / xml).getroot().iter("image"):
            gray = cv2.imread(str(LANDMARKS / image.get("file")), cv2.IMREAD_GRAYSCALE)
            for box in image.iter("box"):
                parts = sorted(box.iter("part"), key=lambda p: int(p.get("name")))
                points = np.array([[float(p.get("x")), float(p.get("y"))] for p in parts])
                x, y, w, h = (int(box.get(k)) for k in ("left", "top", "width", "height"))
                faces.append((gray, (x, y, w, h), points))
    return faces


def normalised_error(points: np.ndarray, reference: np.ndarray) -> float:
    """Mean point error over the inter-ocular distance (eye centres) of the reference."""
    ocular = np.linalg.norm(reference[face.RIGHT_EYE].mean(0) - reference[face.LEFT_EYE].mean(0))
    return float(np.linalg.norm(points - reference, axis=1).mean() / ocular)


def test_landmarks_from_own_boxes_agree_with_dlib_reference():
    """Each reference face is cut out with a margin; the project detects its own box there
    (Haar at full resolution) and places the 68 points, which must match dlib's reference
    points. The reference boxes come from dlib's HOG detector, so small offsets are expected."""
    settings = face.FaceSettings(detect_width=10_000, min_face_fraction=0.3, min_neighbors=3)
    errors = []
    for gray, (x, y, w, h), reference in reference_faces():
        margin = w // 2
        x0, y0 = max(0, x - margin), max(0, y - margin)
        points = face.frame_points(gray[y0 : y + h + margin, x0 : x + w + margin], settings)
        errors.append(normalised_error(points + [x0, y0], reference) if not np.isnan(points).any() else np.nan)
    errors = np.array(errors)
    found = errors[~np.isnan(errors)]
    print(f"landmark error / inter-ocular distance: median {np.median(found):.3f}, "
          f"{np.mean(found < 0.1):.0%} of {len(found)} detected faces under 0.1, {len(found)}/{len(errors)} detected")
    assert len(errors) == 43 and len(found) >= 0.8 * len(errors)
    assert np.median(found) < 0.04
    assert np.mean(found < 0.1) >= 0.85


def similarity(points: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return scale * points @ rotation.T + shift


def test_alignment_removes_position_scale_and_rotation():
    _, _, reference = reference_faces()[0]
    moved = similarity(reference, angle=0.4, scale=2.5, shift=(80.0, -30.0))
    aligned = face.align(np.stack([reference, moved]))
    np.testing.assert_allclose(aligned[0], aligned[1], atol=1e-9)
    np.testing.assert_allclose(aligned[0][face.RIGHT_EYE].mean(0), [-0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(aligned[0][face.LEFT_EYE].mean(0), [0.5, 0.0], atol=1e-12)


def test_geometry_follows_a_known_change():
    """Lowering the lower lip by a tenth of the inter-ocular distance opens the mouth by 0.1."""
    _, _, reference = reference_faces()[0]
    ocular = np.linalg.norm(reference[face.RIGHT_EYE].mean(0) - reference[face.LEFT_EYE].mean(0))
    open_mouth = reference.copy()
    open_mouth[[56, 57, 58, 65, 66, 67], 1] += 0.1 * ocular  # the lower lip, outer and inner
    before, after = face.geometry(face.align(np.stack([reference, open_mouth])))
    change = dict(zip(face.GEOMETRY, after - before))
    assert change["mouth_open"] == pytest.approx(0.1, abs=0.01)
    assert change["mouth_height"] == pytest.approx(0.1, abs=0.01)
    assert change["mouth_to_chin"] == pytest.approx(-0.1, abs=0.01)
    assert change["mouth_width"] == pytest.approx(0.0, abs=1e-12)
    assert change["brow_raise_left"] == pytest.approx(0.0, abs=1e-12)


def test_clip_features_skip_frames_without_a_face():
    _, _, reference = reference_faces()[0]
    nothing = np.full_like(reference, np.nan)
    points = np.stack([reference, nothing, similarity(reference, 0.1, 1.2, (5.0, 5.0)), nothing])
    features = dict(zip(face.feature_names(SPARSE), face.clip_features(points, SPARSE)))
    assert len(features) == len(face.clip_features(points, SPARSE))
    assert features["face_fraction"] == 0.5 and features["frames_sampled"] == 4
    assert features["mouth_width_std"] == pytest.approx(0.0, abs=1e-9)  # the same face, moved
    assert features["landmark_speed_max"] == pytest.approx(0.0, abs=1e-9)
    empty = face.clip_features(np.stack([nothing, nothing]), SPARSE)
    assert empty[0] == 0.0 and np.isnan(empty[2:]).all()


def test_sampling_of_videos_and_image_sequences():
    video = frames.Sampling(every_nth=3, max_frames=0, skip_start_s=0.5)
    np.testing.assert_array_equal(frames.sample_indices(30, 30.0, video), np.arange(15, 30, 3))
    np.testing.assert_array_equal(frames.sample_indices(10, 30.0, video), np.arange(0, 10, 3))  # shorter than the cut
    capped = frames.Sampling(every_nth=1, max_frames=4)
    np.testing.assert_array_equal(frames.sample_indices(10, 30.0, capped), [0, 3, 6, 9])
    np.testing.assert_array_equal(frames.sample_indices(3, float("nan"), video), [0, 1, 2])  # images: all


def video_faces(name: str) -> np.ndarray:
    clip = frames.read(str(VIDEOS / name), SPARSE.sampling)
    return np.array([not np.isnan(face.frame_points(image, SPARSE)).any() for image in clip.images])


def test_real_videos_faces_found_lost_and_absent():
    assert video_faces("single_face.mp4").all()
    assert not video_faces("no_face.mp4").any()
    leaves, enters = video_faces("face_noface.mov"), video_faces("noface_face.mov")
    assert leaves[:3].all() and not leaves[-3:].any()  # the face leaves the frame
    assert not enters[:3].any() and enters[-5:].any()  # the face enters the frame


@pytest.mark.parametrize("name", ["short_hamilton_clip.mp4", "carphone_pristine.mp4"])
def test_tiny_and_low_resolution_faces_give_features_not_errors(name):
    features = dict(zip(face.feature_names(SPARSE), face.file_features(str(VIDEOS / name), SPARSE)))
    assert features["frames_sampled"] == 12 and 0.0 <= features["face_fraction"] <= 1.0
    assert np.isnan(features["mouth_open_mean"]) == (features["face_fraction"] == 0)


def test_unreadable_truncated_missing_and_empty_inputs_are_refused(tmp_path):
    junk = tmp_path / "03-01-05-01-01-01-01.mp4"
    junk.write_bytes(b"\x00not a video" * 1000)
    with pytest.raises(frames.FrameError, match="unreadable video"):
        frames.read(str(junk))
    whole = (VIDEOS / "single_face.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(frames.FrameError, match="unreadable|truncated"):
        frames.read(str(cut))
    with pytest.raises(frames.FrameError, match="no such file"):
        frames.read(str(tmp_path / "absent.mp4"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(frames.FrameError, match="no image matches"):
        frames.read(str(tmp_path / "empty" / "S001_001_*.png"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "S001_001_00000001.png").write_bytes(b"not a png")
    with pytest.raises(frames.FrameError, match="unreadable image"):
        frames.read(str(tmp_path / "bad" / "S001_001_*.png"))


def test_ckplus_sequence_is_one_clip_with_its_frames():
    pattern = str(SHARED / "ckplus48" / "happy" / "S010_006_*.png")
    clip = frames.read(pattern)
    assert len(clip.images) == 3 and clip.images[0].shape == (48, 48)
    upsampled = face.FaceSettings(min_frame_side=96)
    features = dict(zip(face.feature_names(upsampled), face.file_features(pattern, upsampled)))
    assert features["face_fraction"] == 1.0
    assert features["lip_corner_lift_mean"] < 0  # a smile lifts the lip corners (y grows downwards)


def test_clips_without_a_face_are_listed_as_kept():
    import pandas as pd

    features = pd.DataFrame({"path": ["a.mp4", "b.mp4", "c.mp4"], "face_fraction": [0.0, 0.3, 1.0],
                             "frames_sampled": [10, 10, 10]})
    notes = face_notes(features, warn_below=0.5)
    assert [n["path"] for n in notes] == ["a.mp4", "b.mp4"] and {n["outcome"] for n in notes} == {"kept"}
    assert "no face" in notes[0]["reason"] and "30%" in notes[1]["reason"]


def test_only_frames_smaller_than_min_frame_side_are_enlarged():
    crop = cv2.imread(str(next((SHARED / "ckplus48" / "happy").glob("S010_006_*.png"))), cv2.IMREAD_GRAYSCALE)
    enlarged_here = face.frame_points(crop, face.FaceSettings(min_frame_side=96))
    enlarged_by_hand = face.frame_points(cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC),
                                         face.FaceSettings())
    np.testing.assert_allclose(enlarged_here, enlarged_by_hand / 2)  # points in the crop's own pixels
    video_frame = frames.read(str(VIDEOS / "single_face.mp4"), frames.Sampling(max_frames=1)).images[0]
    np.testing.assert_array_equal(face.frame_points(video_frame, face.FaceSettings(min_frame_side=96)),
                                  face.frame_points(video_frame, face.FaceSettings()))


@pytest.mark.parametrize(("setting", "value", "allowed"), [
    ("scale_factor", 1.0, "a number above 1"),
    ("min_face_fraction", 0, "a number above 0 and at most 1"),
    ("every_nth", 0, "a whole number >= 1"),
    ("max_frames", "all", "a whole number >= 0"),
    ("detect_width", 2.5, "a whole number of pixels >= 32"),
])
def test_face_settings_that_would_fail_later_are_refused_first(setting, value, allowed):
    with pytest.raises(ValueError, match=f"face_features.{setting}: .* is not allowed; it must be {re.escape(allowed)}"):
        face.FaceSettings(**{setting: value})

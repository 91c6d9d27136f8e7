"""RAVDESS video: full-AV and video-only mp4 files (real footage muxed with real RAVDESS audio)
join their audio-only twin in one take, and lend their audio track when there is no twin."""

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED, real_take, write_av_clip, write_clip
from pipeline.extract import audio
from pipeline.ingest import manifest, sources
from test_manifest import ALL

TAKE = "01-05-02-01-01-01"  # speech, angry, strong, kids, repetition 1, actor 01


@pytest.fixture
def video_root(tmp_path):
    root = tmp_path / "ravdess"
    source = real_take(1, f"03-{TAKE}")
    write_clip(root / "Actor_01" / f"03-{TAKE}.wav", source)  # all three files of one take
    write_av_clip(root / "Video_Speech_Actor_01" / f"01-{TAKE}.mp4", source)
    write_av_clip(root / "Video_Speech_Actor_01" / f"02-{TAKE}.mp4", None)
    happy = "01-03-01-01-01-01"  # only the full-AV mp4: its track is the audio
    write_av_clip(root / "Video_Speech_Actor_01" / f"01-{happy}.mp4", real_take(1, f"03-{happy}"))
    write_av_clip(root / "Video_Speech_Actor_01" / "02-01-04-01-01-01-01.mp4", None)  # video only
    write_av_clip(root / "Video_Speech_Actor_01" / "01-01-06-01-01-01-01.mp4", None, seconds=0.9)  # full-AV, no audio
    (root / "Video_Speech_Actor_01" / "01-01-07-01-01-01-01.mp4").write_bytes(b"\x00broken" * 300)
    write_av_clip(root / "Video_Speech_Actor_01" / "03-01-08-01-01-01-01.mp4", None)  # audio-only code on an mp4
    return root


def test_the_files_of_one_performance_are_one_take(video_root):
    takes, rejects = manifest.build({"ravdess": sources.scan_roots([str(video_root)]).clips}, ALL, -60.0)
    by_take = takes.set_index("take")
    assert set(by_take.index) == {TAKE, "01-03-01-01-01-01", "01-04-01-01-01-01", "01-06-01-01-01-01"}
    angry = by_take.loc[TAKE]
    assert angry["audio_path"].endswith(f"03-{TAKE}.wav") and angry["video_path"].endswith(f"01-{TAKE}.mp4")
    assert angry["n_frames"] == 30 and angry["sample_rate"] == 48000
    happy = by_take.loc["01-03-01-01-01-01"]
    assert happy["audio_path"] == happy["video_path"] and happy["audio_path"].endswith(".mp4")
    assert pd.isna(by_take.loc["01-04-01-01-01-01", "audio_path"])  # video-only take
    assert by_take.loc["01-06-01-01-01-01", "video_path"].endswith("01-01-06-01-01-01-01.mp4")

    why = {sources.name(p): (r, o) for p, r, o in zip(rejects["path"], rejects["reason"], rejects["outcome"])}
    assert why[f"02-{TAKE}.mp4"] == (f"duplicate of take {TAKE}: kept {angry['audio_path']}, {angry['video_path']}",
                                     "dropped")
    assert why["01-01-06-01-01-01-01.mp4"][1] == "kept" and "no audio track" in why["01-01-06-01-01-01-01.mp4"][0]
    assert why["01-01-07-01-01-01-01.mp4"] == ("unreadable video (no frame could be decoded)", "rejected")
    assert "cannot be" in why["03-01-08-01-01-01-01.mp4"][0]


def test_the_audio_track_of_an_mp4_matches_its_source(tmp_path):
    source = real_take(1, f"03-{TAKE}")
    clip = write_av_clip(tmp_path / f"01-{TAKE}.mp4", source)
    decoded = audio.decode(str(clip))
    assert decoded.sample_rate == 48000 and decoded.channels == 1
    assert decoded.duration_s == pytest.approx(1.0, abs=0.05)  # AAC adds a frame of priming
    original = write_clip(tmp_path / "cut.wav", source, seconds=1.0)
    settings = audio.AudioSettings(descriptors=("mfcc",), functionals=("mean",))
    from_mp4 = audio.clip_features(decoded, settings)
    from_wav = audio.clip_features(audio.decode(str(original)), settings)
    np.testing.assert_allclose(from_mp4[1:], from_wav[1:], atol=2.0)  # lossy AAC: close, not equal
    with pytest.raises(audio.AudioError, match="no audio track"):
        audio.decode(str(write_av_clip(tmp_path / "02-silent.mp4", None)))


def test_the_real_ravdess_video_take_is_a_take_with_a_face_and_no_voice():
    real = SHARED / "faces" / "ravdess" / "01-01-08-02-01-01-19.mp4"  # re-encoded by a third party, no audio track
    takes, rejects = manifest.build({"ravdess": [str(real)]}, ALL, -60.0)
    assert takes["take"].tolist() == ["01-08-02-01-01-19"] and takes["label"].tolist() == ["surprised"]
    assert takes["video_path"].tolist() == [str(real)] and takes["audio_path"].isna().all()
    assert takes["n_frames"].iloc[0] > 60
    assert rejects[["outcome"]].values.ravel().tolist() == ["kept"] and "no audio track" in rejects["reason"].iloc[0]


def write_two_tracks(path, source, seconds: float = 1.0):
    """An mp4 with two AAC tracks: the first silent (a muted camera microphone), the second a real voice."""
    import av
    import soundfile

    samples, rate = soundfile.read(source, dtype="float32", always_2d=True)
    voice = np.ascontiguousarray(samples.mean(axis=1)[int(0.8 * rate): int((0.8 + seconds) * rate)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        tracks = [container.add_stream("aac", rate=rate, layout="mono") for _ in range(2)]
        for track, signal in zip(tracks, (np.zeros_like(voice), voice)):
            for start in range(0, len(signal), 1024):
                frame = av.AudioFrame.from_ndarray(signal[None, start: start + 1024], format="fltp", layout="mono")
                frame.sample_rate = rate
                container.mux(track.encode(frame))
            container.mux(track.encode())
    return path


def test_of_two_audio_tracks_the_one_with_the_voice_is_used_and_named(tmp_path):
    clip = write_two_tracks(tmp_path / "ravdess" / "01-01-05-01-01-01-01.mp4", real_take(1, "03-01-05-01-01-01-01"))
    decoded = audio.decode(str(clip))
    assert audio.peak_dbfs(decoded.samples) > -40  # the voice, not the silent first track (-inf)
    assert decoded.note.startswith("2 audio tracks: track 2 used, the loudest (track 1 RMS -200 dBFS, track 2 RMS")
    takes, rejects = manifest.build({"ravdess": [str(clip)]}, ALL, -60.0)
    assert takes["audio_path"].tolist() == [str(clip)]
    assert ["kept", decoded.note] in rejects[["outcome", "reason"]].values.tolist()  # (it has no picture: kept for its voice)

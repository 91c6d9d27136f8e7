import pytest

from pipeline.ingest.corpora import label_order, ravdess


def test_parses_all_seven_fields():
    name = ravdess.parse_name("Actor_12/03-01-06-01-02-01-12.wav")
    assert (name.modality, name.channel, name.label, name.intensity, name.statement) == (
        "audio", "speech", "fearful", "normal", "dogs",
    )
    assert (name.repetition, name.actor, name.gender, name.speaker) == (1, 12, "female", "ravdess-12")


def test_audio_and_video_files_of_one_performance_share_a_take():
    audio = ravdess.parse_name("03-02-03-02-01-02-07.wav")
    full_av = ravdess.parse_name("01-02-03-02-01-02-07.mp4")
    video_only = ravdess.parse_name("02-02-03-02-01-02-07.mp4")
    assert audio.take == full_av.take == video_only.take == "02-03-02-01-02-07"
    assert ravdess.parse_name("03-02-03-02-01-01-07.wav").take != audio.take


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("recording.wav", "not a RAVDESS name"),
        ("03-01-05-02-01-01.wav", "not a RAVDESS name"),
        ("._03-01-05-02-01-01-01.wav", "not a RAVDESS name"),
        ("03-01-09-01-01-01-01.wav", "unknown emotion code '09'"),
        ("04-01-05-01-01-01-01.wav", "unknown modality code '04'"),
        ("03-03-05-01-01-01-01.wav", "unknown vocal channel code '03'"),
        ("03-01-05-01-01-03-01.wav", "unknown repetition code '03'"),
        ("03-01-05-01-01-01-25.wav", "unknown actor code '25'"),
        ("03-01-01-02-01-01-01.wav", "neutral has no strong intensity"),
    ],
)
def test_malformed_names_say_what_is_wrong(name, reason):
    with pytest.raises(ravdess.RavdessNameError, match=reason):
        ravdess.parse_name(name)


def test_label_order_is_canonical_then_corpus_specific():
    assert label_order({"sad", "boredom", "neutral", "angry"}) == ["neutral", "sad", "angry", "boredom"]

"""EmoDB and CREMA-D: names decoded, real files ingested in place (one file is one take),
misfits rejected with a reason."""

import shutil

import pytest

from conftest import SHARED
from pipeline.ingest import manifest, sources
from pipeline.ingest.corpora import CorpusNameError, cremad, emodb
from test_manifest import ALL

EVERY_LABEL = manifest.Selection(ALL.channels, ALL.emotions + ("boredom",), ALL.intensities, ())


def test_emodb_names():
    name = emodb.parse_name("03a01Wa.flac")
    assert (name.take, name.speaker, name.gender, name.label) == ("emodb-03a01Wa", "emodb-03", "male", "angry")
    assert emodb.parse_name("16b10Lb.wav").label == "boredom"
    for bad, reason in (("03a01Xa", "emotion letter"), ("04a01Wa", "speaker"), ("hello", "not an EmoDB name")):
        with pytest.raises(CorpusNameError, match=reason):
            emodb.parse_name(bad)


def test_cremad_names():
    name = cremad.parse_name("1001_DFA_ANG_XX.flv")
    assert (name.take, name.speaker, name.label, name.level) == ("cremad-1001_DFA_ANG_XX", "cremad-1001", "angry", "XX")
    for bad, reason in (("1001_DFA_BOR_XX", "emotion"), ("1001_ABC_ANG_XX", "sentence"), ("1001_DFA_ANG_ZZ", "level"),
                        ("1001-DFA-ANG", "not a CREMA-D name")):
        with pytest.raises(CorpusNameError, match=reason):
            cremad.parse_name(bad)


def test_emodb_files_are_audio_takes(tmp_path):
    root = tmp_path / "emodb"
    root.mkdir()
    for name in ("03a01Wa", "03a01Fa", "16b10Lb"):
        shutil.copy(SHARED / "emodb" / "wav" / f"{name}.flac", root)
    (root / "03a01Xa.flac").write_bytes(b"junk")
    (root / "erklaerung.txt").write_text("notes")
    takes, rejects = manifest.build({"emodb": sources.scan_roots([str(root)]).clips}, EVERY_LABEL, -60.0)
    assert takes["take"].tolist() == ["emodb-03a01Fa", "emodb-03a01Wa", "emodb-16b10Lb"]
    assert takes["label"].tolist() == ["happy", "angry", "boredom"]
    assert takes["video_path"].isna().all() and (takes["sample_rate"] == 22050).all()
    reasons = {sources.name(p): r for p, r in zip(rejects["path"], rejects["reason"])}
    assert set(reasons) == {"03a01Xa.flac", "erklaerung.txt"}  # 22.05 kHz is this copy's rate: no caveat
    assert "emotion letter" in reasons["03a01Xa.flac"]


def test_cremad_clips_carry_both_tracks(tmp_path):
    root = tmp_path / "cremad"
    root.mkdir()
    for name in ("1001_DFA_ANG_XX", "1001_DFA_HAP_XX"):
        shutil.copy(SHARED / "faces" / "cremad" / f"{name}.flv", root)
    (root / "1001_DFA_SAD_XX.flv").write_bytes(b"\x00broken flv" * 100)
    takes, rejects = manifest.build({"cremad": sources.scan_roots([str(root)]).clips}, ALL, -60.0)
    assert takes["label"].tolist() == ["angry", "happy"]
    assert (takes["audio_path"] == takes["video_path"]).all() and (takes["n_frames"] > 50).all()
    assert takes["speaker"].unique().tolist() == ["cremad-1001"]
    broken = rejects[rejects["path"].str.endswith("1001_DFA_SAD_XX.flv")]
    assert set(broken["outcome"]) == {"rejected"} and broken["reason"].str.contains("unreadable").all()


TOY_CORPUS = '''"""A toy corpus: `<speaker>_<emotion>.wav`."""

from dataclasses import dataclass
from pathlib import PurePath

from pipeline.ingest.corpora import Corpus, CorpusNameError

EMOTIONS = ("angry", "sad")


@dataclass(frozen=True)
class ToyName:
    speaker_code: str
    label: str
    gender = None

    @property
    def take(self):
        return f"toy-{self.speaker_code}_{self.label}"

    @property
    def speaker(self):
        return f"toy-{self.speaker_code}"


def parse_name(path):
    speaker, _, emotion = PurePath(path).stem.partition("_")
    if emotion not in EMOTIONS:
        raise CorpusNameError(f"unknown toy emotion {emotion!r}")
    return ToyName(speaker, emotion)


ADAPTER = Corpus("toy", (".wav",), ("audio",), EMOTIONS, (48000,), parse_name)
'''


@pytest.fixture
def toy_corpus(tmp_path, monkeypatch):
    """The toy corpus as a module of its own, in a folder the corpora package also reads: nothing else added."""
    import importlib

    from pipeline.ingest import corpora
    from pipeline.ingest.corpora import registry

    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "toy.py").write_text(TOY_CORPUS)
    monkeypatch.setattr(corpora, "__path__", [*corpora.__path__, str(tmp_path / "modules")])
    importlib.reload(registry)
    yield registry
    monkeypatch.undo()
    importlib.reload(registry)


def test_a_new_corpus_is_its_module_alone(toy_corpus, tmp_path):
    from conftest import real_take, write_clip

    assert "toy" in toy_corpus.ADAPTERS
    clips = [str(write_clip(tmp_path / f"{name}.wav", real_take(1, "03-01-05-01-01-01-01"), seconds=seconds))
             for name, seconds in (("a_angry", 1.5), ("a_sad", 1.4), ("b_sad", 1.3), ("b_bored", 1.2))]
    held = manifest.Selection(ALL.channels, ("angry", "sad"), ALL.intensities, ("toy-b",))
    takes, rejects = manifest.build({"toy": clips}, held, silence_dbfs=-60.0)
    assert list(takes["take"]) == ["toy-a_angry", "toy-a_sad"] and set(takes["corpus"]) == {"toy"}
    assert list(rejects["reason"]) == ["unknown toy emotion 'bored'"]

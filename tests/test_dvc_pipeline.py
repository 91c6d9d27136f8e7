"""The real `dvc repro` in a temporary copy of the project, on real RAVDESS cuts fetched over HTTP
and real CK+ face sequences.

Proves: the corpus download path (md5-checked, local server), RAVDESS full-AV mp4 files (real
footage muxed with real RAVDESS audio) joining their audio-only twins as one take, every
stage end to end for both modalities with late fusion across learners and modalities and the
comparison variants, bad files reported in the report while the run completes, predict and
evaluate on the trained models, that editing one learner's params block reruns only what
depends on it, and that `dvc exp run -S` / `dvc exp show` work on the project.
"""

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
import soxr
import yaml

from pipeline.apply import evaluate
from pipeline.ingest.corpora.emodb import EMOTIONS as EMODB_EMOTIONS
from pipeline.learn import fusion

from bad_inputs import AUDIO, VIDEO
from conftest import FOOTAGE, REPO, SHARED, SPEECH, real_take, write_av_clip, write_clip
from test_dvc_deps import untracked_reads

ACTORS = range(1, 7)
FOUR_CLASSES = ["neutral", "happy", "sad", "angry"]
CK_FOLDERS = ("happy", "sadness", "anger")  # CK+ has no neutral: 3 of the 4 classes


MP4_ONLY = ["01-05-01-02-01-01", "01-05-01-02-01-02"]  # takes with no wav: audio from the mp4's track


def make_videos(root: Path) -> None:
    """A full-AV mp4 for every archived take (two real people's footage, by actor parity),
    plus takes that exist only as mp4."""
    other = SHARED / "faces" / "videos" / "WolfgangLanger_Pexels.mp4"
    for actor in ACTORS:
        for emotion in (1, 3, 4, 5):
            for repetition in (1, 2):
                take = f"01-{emotion:02d}-01-01-{repetition:02d}-{actor:02d}"
                write_av_clip(root / f"Video_Speech_Actor_{actor:02d}" / f"01-{take}.mp4",
                              real_take(actor, f"03-{take}"), FOOTAGE if actor % 2 else other)
    for take in MP4_ONLY:
        actor = int(take[-2:])
        write_av_clip(root / f"Video_Speech_Actor_{actor:02d}" / f"01-{take}.mp4", real_take(actor, f"03-{take}"))


def make_ckplus(root: Path, n_subjects: int = 30) -> int:
    """Real CK+ sequences of the first subjects (3 classes) and one unreadable frame; returns
    the number of good sequences."""
    subjects = sorted({p.name[:4] for p in (SHARED / "ckplus48").rglob("S*.png")})[:n_subjects]
    sequences = set()
    for folder in CK_FOLDERS:
        for frame in sorted((SHARED / "ckplus48" / folder).glob("S*.png")):
            if frame.name[:4] in subjects:
                (root / folder).mkdir(parents=True, exist_ok=True)
                shutil.copy(frame, root / folder / frame.name)
                sequences.add(frame.name[:8])
    (root / "happy" / "S999_001_00000001.png").write_bytes(b"not a png")
    return len(sequences)


def make_archive(path: Path, scratch: Path) -> None:
    """Real speech cuts for 6 actors (statement 1, both repetitions, normal intensity), plus junk."""
    with zipfile.ZipFile(path, "w") as zf:
        for actor in ACTORS:
            for emotion in range(1, 9):
                for repetition in (1, 2):
                    name = f"03-01-{emotion:02d}-01-01-{repetition:02d}-{actor:02d}"
                    clip = write_clip(scratch / f"{name}.wav", real_take(actor, name), seconds=1.2)
                    zf.write(clip, f"Actor_{actor:02d}/{name}.wav")
        whole = write_clip(scratch / "whole.wav", real_take(6, "03-01-05-02-02-02-06")).read_bytes()
        zf.writestr("Actor_06/03-01-05-02-02-02-06.wav", whole[: len(whole) // 3])
        zf.writestr("Actor_06/desktop.ini", "junk")


def make_au_table(path: Path) -> None:
    """The real OpenFace action units of actors 1-7 (rows of takes the run does not select are
    reported as such) with one row's value replaced by text."""
    table = pd.read_csv(SHARED / "ravdess-openface" / "au_clip_means.csv")
    table = table[table["take"].str[-2:].astype(int) <= 7].astype({"AU12_r": object})
    table.loc[table["take"] == f"01-{AU_TEXT_ROW}", "AU12_r"] = "smile"
    table.to_csv(path, index=False)


AU_TEXT_ROW = "01-04-01-01-02-03"  # a take whose action units hold text: it falls back to the voice


def small_params(url: str, md5: str, videos: Path, ckplus: Path, au_table: Path, emodb: Path) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["cross_corpus"] = {"emodb": {"corpus": "emodb", "path": str(emodb)},
                              "ravdess_video": {"corpus": "ravdess", "path": str(SHARED / "faces" / "ravdess")}}
    params["fetch"]["corpora"] = {"ravdess": [str(videos)], "ckplus": [str(ckplus)]}
    params["external_features"]["au"]["path"] = str(au_table)
    params["fetch"]["download"].update(
        enabled=True, url=url, dir="data/downloads", files={"Audio_Speech_Actors_01-24.zip": md5}
    )
    params["ingest"].update(emotions=FOUR_CLASSES)
    params["compute"]["n_jobs"] = 1
    params["compare"]["variants"] = {"speech_only": {"channels": ["speech"]},
                                     "three_classes": {"emotions": ["happy", "sad", "angry"]}}
    params["train"].update(outer_folds=3, inner_folds=2)
    params["learning_curve"]["speakers"] = [2, 4]  # 6 actors in 3 folds: 4 training speakers per fold
    params["adaptation"].update(clips=[1, 2, 4], draws=2)  # a speaker has 8 to 16 takes here
    params["importance"].update(repeats=2)
    # one openSMILE set, with the default run's speed-perturbed training copies (as is10 has them)
    params["opensmile_features"] = {"compare2016": {**params["opensmile_features"]["compare2016"],
                                                    "speed_copies": params["opensmile_features"]["is10"]["speed_copies"]}}
    params["run"]["wide_modalities"] = ["compare2016"]
    conditions = params["robustness"]["conditions"]  # a codec, the telephone and babble, on 2 takes a speaker
    params["robustness"].update(takes_per_speaker=2, conditions={k: conditions[k] for k in (
        "mp3_32k", "telephone", "babble_10db")})
    learners = params["learners"]
    learners["svm"]["n_iter"] = learners["logreg"]["n_iter"] = 2
    for name in ("rf", "xgb"):
        learners[name]["n_iter"] = 2
        learners[name]["fixed"]["clf__n_estimators"] = 15
    return params


ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "AVEMOTION_FIT_CACHE": ".fitcache", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
       "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@localhost",
       "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@localhost"}


def run(project: Path, *args: str, program: str = "dvc", **env: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dvc") if program == "dvc" else program, *args], cwd=project,
        env=ENV | env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, f"{program} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def stages_run(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


AVEMOTION = str(Path(sys.executable).parent / "avemotion")  # the installed command (pip install -e .)


def predict(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AVEMOTION, "predict", *args], cwd=project, capture_output=True, text=True, timeout=300)


def lines_of(done: subprocess.CompletedProcess) -> list[dict]:
    """`predict --json`: one JSON object per clip and line."""
    return [json.loads(line) for line in done.stdout.splitlines()]


def check_predict(project: Path, scratch: Path) -> None:
    """`avemotion predict` on a user's clips, with the models the run just trained."""
    video = next((scratch / "videos").rglob("01-*.mp4"))
    sequence = scratch / "my_faces"
    sequence.mkdir()
    for frame in (SHARED / "ckplus48" / "happy").glob("S010_006_*.png"):
        shutil.copy(frame, sequence / frame.name)
    done = predict(project, str(video), str(sequence), "--json")
    assert done.returncode == 0, done.stderr
    results = {Path(r["clip"]).name: r for r in lines_of(done)}
    learners = [f"{m}/{learner}" for m in ("audio", "face") for learner in ("svm", "rf", "xgb")]
    fused = ["audio/fused (selected)", "face/fused (selected)", "audio+compare2016/fused (selected)",
             "audio+compare2016+face/fused (selected)"]
    assert [p["model"] for p in results[video.name]["predictions"]] == learners + ["compare2016/logreg"] + fused
    assert [p["fused"] for p in results[video.name]["predictions"]] == [False] * 7 + [True] * 4
    assert results[video.name]["answer"]["model"] == "audio+compare2016+face/fused (selected)"  # the deployed one
    for prediction in results[video.name]["predictions"] + results["*.png"]["predictions"]:
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)
        assert prediction["emotion"] == max(prediction["probabilities"], key=prediction["probabilities"].get)
    # a face sequence has no voice: the face learners and their fusion, no cross-modal decision
    assert [p["model"] for p in results["*.png"]["predictions"]] == learners[3:] + fused[1:2]
    check_settings_come_from_the_models(project, video, results[video.name]["predictions"])
    table = predict(project, str(video))
    header, line, *notes = table.stdout.splitlines()
    assert notes == [note for note in notes if note.startswith("    note: ")]
    assert any("the models trained on it, so its answer is no test of them" in note for note in notes)  # its take is
    assert table.returncode == 0 and header.split()[:3] == ["emotion", "prob", "90%"]
    deployed = results[video.name]["answer"]
    assert deployed["set_coverage"] == (0.97 if deployed["flagged"] else 0.9)  # a flagged clip's set is wider
    assert deployed["emotion"] in (deployed["set"][0], "uncertain")
    assert set(deployed["set"]) <= set(results[video.name]["predictions"][-1]["probabilities"])
    assert re.search(rf"audio\+compare2016\+face/fused \(selected\) +{re.escape(str(video))}$", line)  # the clip whole
    assert line.index("audio+compare2016") == header.index("decided by")  # aligned under its heading
    check_predict_with_measured_faces(project, scratch, learners)
    check_predict_one_speaker(project)
    no_face = predict(project, str(SHARED / "faces" / "videos" / "no_face.mp4"))  # its voice is still heard
    assert no_face.returncode == 0 and "    error: face: no face detected" in no_face.stdout
    assert "audio+compare2016/fused (selected)" in no_face.stdout  # answered by its voice
    broken = scratch / "broken.wav"
    broken.write_bytes(b"RIFF not really a wav")
    unreadable = predict(project, str(broken))
    assert unreadable.returncode == 1 and unreadable.stdout.splitlines()[1].endswith("broken.wav")
    assert "    error: audio, compare2016: unreadable audio" in unreadable.stdout  # one line for one cause
    silent = scratch / "silent.wav"
    soundfile.write(silent, np.zeros(48000, dtype=np.float32), 48000)  # refused as in training, not "sad 51%"
    quiet = predict(project, str(silent))
    assert quiet.returncode == 1 and "    error: audio, compare2016: silent: peak level -inf dBFS" in quiet.stdout
    troubles = scratch / "troubles"  # the catalogue's clips whose content is bad, in one call with a good one
    names = {kind.name: kind.build(troubles) for kind in AUDIO + VIDEO if kind.predict}
    done = predict(project, str(troubles), str(video), "--json")
    assert done.returncode == 1, done.stderr  # some clip got no prediction
    said = {Path(r["clip"]).name: r for r in lines_of(done)}
    for kind in (k for k in AUDIO + VIDEO if k.predict):
        said_of = said[names[kind.name]]
        assert any(kind.predict in line for line in said_of["errors"] + said_of["notes"]), (kind.name, said_of)
    assert said[names["a video with no audio track"]]["predictions"] and said[video.name]["predictions"]
    speech, rate = soundfile.read(real_take(1, "03-01-05-02-01-01-01"), dtype="float32")
    minute = scratch / "minute.wav"  # a minute of talk: its duration is far beyond every training take's
    soundfile.write(minute, np.tile(speech, -(-60 * rate // len(speech)))[: 60 * rate], rate)
    far = predict(project, str(minute), "--json")
    assert far.returncode == 0, far.stderr
    warnings = lines_of(far)[0]["warnings"]
    assert any(w.startswith("audio: unlike the training takes: novelty ") for w in warnings), warnings
    flagged = lines_of(far)[0]["answer"]  # answered, with the wider set of a clip unlike the training takes
    assert flagged["flagged"] and flagged["set_coverage"] == 0.97 and flagged["emotion"] in (flagged["set"][0], "uncertain")
    assert not lines_of(predict(project, str(video), "--json"))[0]["warnings"]
    too_long = predict(project, str(minute), "--max-seconds", "30")  # refused from its header, unread
    assert too_long.returncode == 1 and "lasts 60 s, beyond predict.max_seconds (30 s): not read" in too_long.stdout
    first = subprocess.run(f"{AVEMOTION} predict {minute} {video} | head -1", shell=True, cwd=project,
                           capture_output=True, text=True, timeout=300)
    assert first.stdout.startswith("emotion") and "Error" not in first.stderr  # the reader stopped: no BrokenPipeError
    missing = predict(project, str(scratch / "absent.wav"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    notes = scratch / "notes"
    notes.mkdir()
    (notes / "readme.txt").write_text("no clips here")
    nothing = predict(project, str(video), str(notes))
    assert nothing.returncode == 2 and "notes: no audio, video or images in this folder" in nothing.stderr


def check_settings_come_from_the_models(project: Path, video: Path, before: list[dict]) -> None:
    """Edit the audio features' settings after training: predict extracts what the models were
    trained on (the same probabilities) and says where params.yaml now differs."""
    trained_with = (project / "params.yaml").read_text()
    params = yaml.safe_load(trained_with)
    params["audio_features"].update(n_mels=64, hop_length=320)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    done = predict(project, str(video), "--json")
    (project / "params.yaml").write_text(trained_with)
    assert done.returncode == 0, done.stderr
    assert "audio: features extracted with the settings the models were trained with, not params.yaml's " \
           "(hop_length 160 -> 320; n_mels 40 -> 64)" in done.stderr
    after = lines_of(done)[0]["predictions"]
    assert [p["model"] for p in after] == [p["model"] for p in before]
    for old, new in zip(before, after):
        assert new["probabilities"] == pytest.approx(old["probabilities"], abs=1e-9)


def check_robustness(project: Path, report: str, metrics: dict) -> None:
    """The sampled takes under each condition: measured for each voice, scored by each fold's models (as
    recorded, exactly their out-of-fold probabilities), fused by each fold's rule, in the report."""
    heard = pd.read_parquet(project / "features/conditions/audio.parquet")
    assert list(heard["condition"].unique()) == ["clean", "mp3_32k", "telephone", "babble_10db"]
    assert heard.groupby("condition").size().nunique() == 1 and not (project / "features/conditions/face.parquet").exists()
    scored = pd.read_parquet(project / "models/learners/audio/svm-none.conditions.parquet")
    oof = pd.read_parquet(project / "models/learners/audio/svm-none.oof.parquet").set_index("take")
    clean = scored[scored["condition"] == "clean"].set_index("take")
    columns = [c for c in oof.columns if c.startswith("p_")]
    np.testing.assert_allclose(clean[columns].to_numpy(), oof.loc[clean.index, columns].to_numpy(), rtol=1e-9, atol=1e-12)
    assert not np.allclose(scored[scored["condition"] == "telephone"][columns].to_numpy(), clean[columns].to_numpy())
    fused = pd.read_parquet(project / "models/fusion/audio+compare2016-none.conditions.parquet")
    assert set(fused["rule"]) == set(fusion.RULES) and fused.filter(like="p_").notna().all().all()
    flat = " ".join(report.split())
    assert "## Off the studio: recording conditions" in report and "| telephone |" in flat
    assert "(for voice: on their studio takes and on copies of them through effects drawn at random" in flat
    robust = metrics["robustness"]
    assert set(robust["decisions"]) == {"voice", "voice + speaker norm"} and set(robust["flagged"]) == {
        "clean", "mp3_32k", "telephone", "babble_10db"}
    assert 0 <= robust["decisions"]["voice"]["telephone"]["accuracy"] <= 1
    assert (project / "reports/figures/robustness.png").stat().st_size > 5000


def check_uncertainty_and_adaptation(project: Path, report: str, metrics: dict) -> None:
    """The calibrate and adaptation stages' records, in the report and its headline file."""
    calibrated = json.loads((project / "models/conformal.json").read_text())
    assert calibrated["coverage"] == 0.9 and "audio+compare2016+face/fused (selected)" in calibrated["decisions"]
    for record in calibrated["decisions"].values():
        assert 0 < record["threshold"] <= 1 and 0 <= record["coverage"]["coverage"] <= 1
    assert "## Uncertainty on new speakers" in report and "## Adapting to a new speaker: how many clips" in report
    assert "## Across corpora: trained here, tested elsewhere" in report
    emodb = metrics["across_corpora"]["emodb.voice"]  # 6 of the 7 takes: boredom is not known
    assert set(emodb) == {"none", "speaker", "corpus"}  # plain, by speaker, the corpus as one batch
    assert all(f["n_takes"] == 6 and 0 <= f["most_predicted_share"] <= 1 for f in emodb.values())
    # the real RAVDESS take: its voice was trained on, and its face is surprised, no emotion of the CK+ faces here
    assert "ravdess_video.face_face" not in metrics["across_corpora"]
    assert set(metrics["uncertainty"]) >= {"coverage_target", "audio+compare2016/fused (selected)", "novelty_flagged"}
    for modality in ("audio", "compare2016", "face"):  # each flag calibrated on held-out speakers' takes
        record = json.loads((project / f"models/novelty/{modality}.json").read_text())
        assert 0 <= record["held_out_flagged"] <= 0.5 and record["threshold"] > 0
        assert metrics["uncertainty"]["novelty_flagged"][modality] == record["held_out_flagged"]
    assert "Held-out takes flagged (target 5.0%): audio " in " ".join(report.split())
    by_rule = json.loads((project / "models/cross_corpus/emodb.json").read_text())["by_rule"]
    assert set(by_rule) == set(fusion.RULES)  # every rule scored: the report shows the deployed one
    assert 0 <= by_rule["selected"]["voice"]["none"]["flagged_share"] <= 1
    assert by_rule["mean"]["voice"]["none"]["decision"] == "audio+compare2016/fused (mean)"
    curve = pd.read_csv(project / "models/adaptation.csv")
    assert set(curve["clips"]) == {0, 1, 2, 4} and set(curve["prior_clips"]) == {0.0, 8.0}
    assert set(pd.read_parquet(project / "models/priors/audio.parquet")["statistic"]) == {"mean", "variance"}
    for figure in ("reliability.png", "adaptation.png"):
        assert (project / "reports/figures" / figure).stat().st_size > 5000


def check_importance(project: Path, report: str, metrics: dict) -> None:
    """The importance stages' tables: each learner's folds and feature families, in the report with their
    figures, every modality's learners together."""
    def read(modality: str) -> pd.DataFrame:
        return pd.concat([pd.read_csv(path).assign(learner=path.stem)
                          for path in sorted((project / "models/importance" / modality).glob("*.csv"))])

    audio = read("audio")
    assert set(audio["learner"]) == {"svm", "rf", "xgb"} and set(audio["fold"]) == {0, 1, 2}
    assert {"MFCC", "Δ MFCC", "pitch", "energy", "(none shuffled)"} <= set(audio["family"])
    assert {f"recall_{e}" for e in FOUR_CLASSES} <= set(audio.columns)
    au = read("au")
    units = pd.read_csv(SHARED / "ravdess-openface" / "au_clip_means.csv", nrows=1).columns.drop("take")
    assert set(au["family"]) - {"(none shuffled)"} == {c.split("_")[0] for c in units}  # AU12_r and AU12_c: AU12
    assert "## What the models listen and look at" in report and "| MFCC |" in report
    assert set(metrics["importance"]) == {"audio", "face", "au", "compare2016"} and "MFCC" in metrics["importance"]["audio"]
    for modality in ("audio", "face", "au", "compare2016"):
        assert (project / f"reports/figures/importance-{modality}.png").stat().st_size > 5000


def check_predict_one_speaker(project: Path) -> None:
    """`predict --speaker`: one speaker's clips decided by the speaker-normalised models, or refused
    with the figures when they are fewer than the adaptation stage found useful."""
    useful = json.loads((project / "models/adaptation.json").read_text())["useful_from"]
    takes = sorted((SPEECH / "Actor_02").glob("*.flac"))
    if useful is None:
        refused = predict(project, "--speaker", "ana", *map(str, takes[:4]))
        assert refused.returncode == 2 and "never beat the plain model" in refused.stderr
        return
    done = predict(project, "--speaker", "ana", "--json", *map(str, takes[:useful]))
    assert done.returncode == 0, done.stderr
    assert all(r["answer"]["model"].endswith("+ speaker norm (selected)") for r in lines_of(done))
    if useful > 1:
        refused = predict(project, "--speaker", "ana", *map(str, takes[:useful - 1]))
        assert refused.returncode == 2 and f"give at least {useful} clips of this speaker" in refused.stderr


def check_predict_with_measured_faces(project: Path, scratch: Path, learners: list[str]) -> None:
    """--features au=TABLE joins a clip's row by take: the action units fuse with its voice and its own face.
    The one real RAVDESS video take (no audio track) is scored by its face alone."""
    video = scratch / "videos" / "Video_Speech_Actor_01" / "01-01-05-01-01-01-01.mp4"
    done = predict(project, str(video), "--features", f"au={scratch / 'au.csv'}", "--json")
    assert done.returncode == 0, done.stderr
    assert "column AU12_r holds text" in done.stderr  # the table's bad row, named as it is read
    fused = ["audio/fused (selected)", "face/fused (selected)", "au/fused (selected)", "audio+compare2016/fused (selected)",
             "audio+compare2016+face/fused (selected)", "audio+compare2016+au/fused (selected)"]
    assert [p["model"] for p in lines_of(done)[0]["predictions"]] == (
        learners + ["au/svm", "au/rf", "au/xgb", "compare2016/logreg"] + fused)
    elsewhere = predict(project, str(SHARED / "faces" / "videos" / "single_face.mp4"), "--features", f"au={scratch / 'au.csv'}")
    assert elsewhere.returncode == 0 and "au: no row of --features au names this clip (single_face)" in elsewhere.stdout
    wrong = predict(project, str(video), "--features", f"pose={scratch / 'au.csv'}")
    assert wrong.returncode == 2 and "NAME one of the trained external_features modalities (au)" in wrong.stderr
    real = predict(project, str(SHARED / "faces" / "ravdess" / "01-01-08-02-01-01-19.mp4"), "--json")
    assert real.returncode == 0, real.stderr
    result = lines_of(real)[0]
    assert [p["model"] for p in result["predictions"]] == learners[3:] + fused[1:2]
    assert result["errors"] == [] and result["notes"] == [  # one note, not an error per voice modality
        "no audio track in the video: the face alone answers (audio, compare2016 not used)"]


def check_fusion(project: Path, report: str) -> None:
    """Fusion groups on the same outer folds as their members; the voices with the face on the RAVDESS takes."""
    for group in ("audio-none", "face-none", "audio+compare2016-none", "audio+compare2016+face-none", "audio-speaker"):
        figures = json.loads((project / f"models/fusion/{group}.json").read_text())
        assert set(figures["rules"]) == {"mean", "weighted", "product", "stacked", "selected"}
        chosen = figures["rules"]["selected"]
        assert len(chosen["chosen_per_fold"]) == 3 and set(chosen["chosen_per_fold"]) | {chosen["chosen"]} <= set(fusion.RULES)
        for rule in figures["rules"].values():
            assert 0 <= rule["accuracy"] <= 1 and len(rule["per_fold"]) == 3
        assert sum(figures["rules"]["weighted"]["weights"].values()) == pytest.approx(1)
    across = json.loads((project / "models/fusion/audio+compare2016+face-none.json").read_text())
    assert set(across["modalities_present"]) <= {"audio+compare2016+face", "audio+compare2016", "face"}
    assert "audio+compare2016+face" in across["modalities_present"]
    assert across["rules"]["mean"]["n_takes"] == sum(across["modalities_present"].values())
    fused = pd.read_parquet(project / "models/fusion/audio+compare2016+face-none.oof.parquet")
    assert set(fused["corpus"]) == {"ravdess"}  # CK+ has no voice: not an audio+face take
    member = pd.read_parquet(project / "models/learners/audio/svm-none.oof.parquet").set_index("take")["fold"]
    assert (fused["take"].map(member) == fused["fold"]).all()  # the same outer folds as the members
    mean = json.loads((project / "models/fusion/audio-none.json").read_text())["rules"]["mean"]
    table = pd.read_parquet(project / "models/fusion/audio-none.oof.parquet").query("rule == 'mean'")
    correct = (table["label"] == table["predicted"]).groupby(table["intensity"]).mean()
    assert mean["accuracy_by"]["intensity"] == pytest.approx(correct.to_dict())
    assert "| normal test takes |" in report  # the test takes here are all normal-intensity
    for heading in ("## Late fusion", "### audio/fused\n", "### audio+compare2016+face/fused\n", "## Comparisons"):
        assert heading in report
    assert "| speech_only |" in report and "| three_classes |" in report
    assert (project / "reports/figures/confusion_fused_audio-none.png").stat().st_size > 5000


def check_voice_face(project: Path, voices: pd.DataFrame, report: str) -> None:
    """The action units as a modality of their own, fused with the voice on the takes that have both."""
    au = pd.read_parquet(project / "features/au.parquet")
    assert set(au["take"]) == set(voices["take"]) - {AU_TEXT_ROW} and au.shape[1] == 36
    au_rejects = pd.read_parquet(project / "features/au_rejects.parquet")
    assert f"clip '01-{AU_TEXT_ROW}'): column AU12_r holds text, not a number" in " ".join(au_rejects["reason"])
    assert au_rejects["reason"].str.contains("is not in the manifest").sum() == 7 * 60 - len(voices)
    across = json.loads((project / "models/fusion/audio+compare2016+au-none.json").read_text())
    assert across["modalities_present"] == {"audio+compare2016+au": len(voices) - 1, "audio+compare2016": 1}
    assert "## Voice + face: ravdess (audio+compare2016 + au)" in report
    assert report.index("## Voice + face") < report.index("## Details")  # the answer comes first
    start = report.index("## Voice + face: ravdess (audio+compare2016 + au)")
    section = report[start:report.index("\n## ", start + 1)]
    for row in ("| audio/svm |", "| compare2016/logreg |", "| au/xgb |", "| audio+compare2016/fused (selected) |",
                "| au/fused (selected) |", "| fused: stacked |"):
        assert row in section
    assert "accuracy + speaker norm" in section and "face adds" in section and "1 audio+compare2016-only speech" in section
    assert f"The {len(voices) - 1} takes that carry both" in section
    assert (project / "reports/figures/recall_voice_face_audio+compare2016+au.png").stat().st_size > 5000
    metrics = json.loads((project / "reports/metrics_details.json").read_text())["voice_face"]["audio+compare2016+au"]
    assert metrics["n_takes_with_both"] == len(voices) - 1 and 0 <= metrics["fused: selected"]["accuracy"] <= 1


def check_evaluate(project: Path, scratch: Path) -> None:
    """`avemotion evaluate` on real EmoDB files with the RAVDESS-trained 4-class models:
    shared emotions scored, the others counted and left out."""
    emodb = scratch / "emodb"
    emodb.mkdir()
    for name in ("03a01Wa", "03a01Fa", "03a01Nc", "08a01Wa", "08a01Na", "09a01Wb", "03a02Ta", "09a01Ea", "16b10Lb"):
        shutil.copy(SHARED / "emodb" / "wav" / f"{name}.flac", emodb)
    faces = project / "models/learners/face"
    faces.rename(scratch / "face_models")  # an audio-only folder needs no face model
    done = subprocess.run([AVEMOTION, "evaluate", str(emodb), "--corpus", "emodb", "--jobs", "1"],
                          cwd=project, capture_output=True, text=True, timeout=300)
    (scratch / "face_models").rename(faces)
    assert done.returncode == 0, done.stderr
    summary = json.loads((project / "evaluation/evaluation.json").read_text())
    # every voice model, plain and speaker-normalised, and every fusion rule (EmoDB has no video)
    learners = ["audio/svm", "audio/rf", "audio/xgb", "compare2016/logreg"]
    fused = [f"{group}{norm} ({rule})" for norm in ("", " + speaker norm")
             for group in ("audio/fused", "audio+compare2016/fused") for rule in fusion.RULES]
    assert set(summary) == {*learners, *(f"{name} + speaker norm" for name in learners), *fused}
    assert {name for name, figures in summary.items() if figures["deployed"]} == {
        "audio/fused (selected)", "audio+compare2016/fused (selected)"}
    n_scored = len(list(emodb.iterdir())) - 2  # disgust and boredom are not among the 4 trained classes
    assert all(figures["n_takes"] == n_scored for figures in summary.values())
    cross_validated = json.loads((project / "models/learners/audio/svm-none.json").read_text())
    assert summary["audio/svm"]["cross_validated"] == {k: cross_validated[k] for k in ("accuracy", "uar", "macro_f1")}
    markdown = (project / "evaluation/evaluation.md").read_text()
    assert markdown.index("## Verdict") < markdown.index("## Summary") and "actors 21-24" not in markdown
    deployed = summary["audio+compare2016/fused (selected)"]
    assert deployed["channels_matched"] == "speech" and deployed["accuracy_ci"][0] <= deployed["accuracy"]
    assert "- **audio+compare2016/fused (selected)**: " in markdown and "cross-validated (speech takes)" in markdown
    assert "against chance " in markdown and "left out, labels it does not know: " in markdown
    models = (project / "evaluation/models.md").read_text()
    assert "Left out (labels this model was not trained on): " in models and "boredom 1" in models
    assert "## Summary: these takes against cross-validation" in markdown and "| accuracy gap |" in markdown
    assert "| **audio+compare2016/fused (selected)** (deployed) |" in markdown
    assert "## Fusion rules" in markdown and "- audio+compare2016/fused (selected): `selected` chose " in markdown
    assert "### audio/rf + speaker norm\n" in models and "### " not in markdown and "(models.md)" in markdown
    assert (project / "evaluation/confusion_audio_svm.png").stat().st_size > 5000
    assert (project / "evaluation/confusion_audio_fused_selected.png").stat().st_size > 5000
    check_evaluate_a_table(project, scratch, summary)
    wrong = subprocess.run([sys.executable, "-m", "pipeline.apply.evaluate", str(emodb), "--corpus", "cremad"],
                           cwd=project, capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "is --corpus right?" in wrong.stderr
    check_evaluate_leaves_out_trained_takes(project, scratch)
    missing = subprocess.run([sys.executable, "-m", "pipeline.apply.evaluate", str(scratch / "absent")],
                             cwd=project, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def check_evaluate_a_table(project: Path, scratch: Path, by_names: dict) -> None:
    """The same EmoDB files described by a table of your own (file, speaker, emotion) score the same."""
    rows = [{"file": f"emodb/{clip.name}", "speaker": clip.name[:2], "emotion": EMODB_EMOTIONS[clip.name[5]]}
            for clip in sorted((scratch / "emodb").iterdir())]
    pd.DataFrame(rows).to_csv(scratch / "mine.csv", index=False)
    faces = project / "models/learners/face"
    faces.rename(scratch / "face_models")
    done = subprocess.run([AVEMOTION, "evaluate", str(scratch / "mine.csv"), "--out", str(scratch / "table_out"),
                           "--jobs", "1"], cwd=project, capture_output=True, text=True, timeout=300)
    (scratch / "face_models").rename(faces)
    assert done.returncode == 0, done.stderr
    summary = json.loads((scratch / "table_out/evaluation.json").read_text())
    assert {name: (f["n_takes"], f["accuracy"], f["uar"]) for name, f in summary.items()} == {
        name: (f["n_takes"], f["accuracy"], f["uar"]) for name, f in by_names.items()}
    assert (scratch / "table_out/evaluation.md").read_text().startswith(f"# Evaluation on table: {scratch / 'mine.csv'}")


def check_evaluate_leaves_out_trained_takes(project: Path, scratch: Path) -> None:
    """A take the models were trained on (actor 1) is counted and left out; a new speaker (actor 7) is scored;
    a folder of trained takes only is refused."""
    mixed = scratch / "mixed"
    write_clip(mixed / "Actor_01" / "03-01-05-01-01-01-01.wav", real_take(1, "03-01-05-01-01-01-01"))
    write_clip(mixed / "Actor_07" / "03-01-05-01-01-01-07.wav", real_take(7, "03-01-05-01-01-01-07"))
    done = subprocess.run([sys.executable, "-m", "pipeline.apply.evaluate", str(mixed), "--out", str(scratch / "mixed_out"),
                           "--features", f"au={scratch / 'au.csv'}"],
                          cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "1 takes the models were trained on left out" in done.stdout, done.stderr
    summary = json.loads((scratch / "mixed_out" / "evaluation.json").read_text())
    assert {figures["n_takes"] for figures in summary.values()} == {1}
    assert {"au/svm", "au/fused (selected)", "audio+compare2016+au/fused (selected)"} <= set(summary)  # the new speaker's face
    splits = r"Accuracy by vocal channel: speech \d+\.\d% \(1 takes\)\. Accuracy by intensity: normal \d+\.\d% \(1 takes\)\."
    assert re.search(splits, (scratch / "mixed_out" / "models.md").read_text())
    shutil.rmtree(mixed / "Actor_07")
    refused = subprocess.run([sys.executable, "-m", "pipeline.apply.evaluate", str(mixed)],
                             cwd=project, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "all 1 labelled takes were used to train the models" in refused.stderr
    check_evaluate_refuses_renamed_training_takes(project, scratch)


def check_evaluate_refuses_renamed_training_takes(project: Path, scratch: Path) -> None:
    """Training takes copied under new speakers' names (actor 1 as actor 21) are known by the content hashes
    the train stage recorded, counted and left out; a real new speaker beside them is scored."""
    renamed = scratch / "renamed"
    (renamed / "Actor_21").mkdir(parents=True)
    (renamed / "Actor_23").mkdir()
    with zipfile.ZipFile(project / "data/downloads/Audio_Speech_Actors_01-24.zip") as archive:
        for take in ("03-01-05-01-01-01-01", "03-01-04-01-01-02-01"):
            copy = take[:-2] + "21"
            (renamed / "Actor_21" / f"{copy}.wav").write_bytes(archive.read(f"Actor_01/{take}.wav"))
            # re-encoded: resampled to 44.1 kHz, or +-1 LSB of dither (the content hash differs, the fingerprint not)
            samples, rate = soundfile.read(io.BytesIO(archive.read(f"Actor_01/{take}.wav")), dtype="float32")
            if take.endswith("01-01"):
                samples, rate = soxr.resample(samples, rate, 44100), 44100
            else:
                samples = samples + np.random.default_rng(0).integers(-1, 2, samples.shape) / 32768
            soundfile.write(renamed / "Actor_23" / f"{take[:-2]}23.wav", samples, rate)
    write_clip(renamed / "Actor_22" / "03-01-05-01-01-01-22.wav", real_take(17, "03-01-05-01-01-01-17"))
    (scratch / "mine").mkdir()
    (scratch / "mine" / "notes.txt").write_text("a user's notes")
    for out in (scratch / "mine", renamed, project / "models"):  # refused before any work, nothing removed
        kept = subprocess.run([AVEMOTION, "evaluate", str(renamed), "--out", str(out)], cwd=project,
                              capture_output=True, text=True, timeout=300)
        assert kept.returncode == 2 and f"--out {out}: " in kept.stderr, kept.stderr
    assert (scratch / "mine" / "notes.txt").exists() and len(list(renamed.rglob("*.wav"))) == 5
    assert (project / "models/learners/audio/svm-none.joblib").exists()
    done = subprocess.run([AVEMOTION, "evaluate", str(renamed), "--out", str(scratch / "renamed_out")],
                          cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "0 takes the models were trained on left out, and 4 copies of training takes" in done.stdout
    assert {figures["n_takes"] for figures in json.loads((scratch / "renamed_out/evaluation.json").read_text()).values()} == {1}
    assert (scratch / "renamed_out" / evaluate.MARKER).exists()  # an evaluation's folder: the next run may replace it
    told = subprocess.run([AVEMOTION, "predict", str(renamed / "Actor_23"), str(renamed / "Actor_21")], cwd=project,
                          capture_output=True, text=True, timeout=300)
    assert told.stdout.count("ravdess 01-05-01-01-01-01, re-encoded: the models trained on it") == 1, told.stdout
    assert told.stdout.count("the models trained on it, so its answer is no test of them") == 4
    shutil.rmtree(renamed / "Actor_22")
    refused = subprocess.run([AVEMOTION, "evaluate", str(renamed)], cwd=project, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2 and "(4 of them under another name)" in refused.stderr
    for out, words in ((scratch / "renamed_out" / "evaluation.md", "is a file; name a folder"),
                       (Path("/proc/evaluation"), "cannot be written")):
        write_clip(renamed / "Actor_22" / "03-01-05-01-01-01-22.wav", real_take(17, "03-01-05-01-01-01-17"))
        bad = subprocess.run([AVEMOTION, "evaluate", str(renamed), "--out", str(out)], cwd=project,
                             capture_output=True, text=True, timeout=300)
        assert bad.returncode == 2 and f"--out {out}: {words}" in bad.stderr and "Traceback" not in bad.stderr


def test_dvc_repro_end_to_end_then_only_the_edited_learner_reruns(server, tmp_path):
    www, url = server
    (www / "files").mkdir()
    archive = www / "files" / "Audio_Speech_Actors_01-24.zip"
    make_archive(archive, tmp_path / "scratch")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(REPO / "pipeline", project / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "dvc.yaml", project)
    shutil.copy(REPO / ".gitignore", project)
    n_sequences = make_ckplus(tmp_path / "ckplus")
    make_videos(tmp_path / "videos")
    make_au_table(tmp_path / "au.csv")
    few_emodb = tmp_path / "emodb_few"  # scored across corpora, never trained on
    few_emodb.mkdir()
    for name in ("03a01Wa", "03a01Fa", "08a01Na", "09a01Wb", "10a05Tb", "10a02Fa", "16b10Lb"):
        shutil.copy(SHARED / "emodb" / "wav" / f"{name}.flac", few_emodb)
    params = small_params(url, hashlib.md5(archive.read_bytes()).hexdigest(), tmp_path / "videos", tmp_path / "ckplus",
                          tmp_path / "au.csv", few_emodb)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(project, "init", "-q", program="git")
    run(project, "init", "-q")
    run(project, "config", "core.analytics", "false")

    first = run(project, "repro", AVEMOTION_PARAMS_READ=str(tmp_path / "reads"))
    assert untracked_reads(project, tmp_path / "reads") == {}
    trained = {
        f"train@{modality}-{learner}-{norm}"
        for modality in ("audio", "face", "au") for learner in ("svm", "rf", "xgb") for norm in ("none", "speaker")
    }
    variants = {"compare@speech_only", "compare@three_classes"}
    wide = {"opensmile_features@compare2016", "train_wide@compare2016-logreg-none", "train_wide@compare2016-logreg-speaker",
            "learning_curve", "novelty_wide@compare2016"}
    novelty = {f"novelty@{modality}" for modality in ("audio", "face", "au")}
    importance = {f"importance@{stage[6:-5]}" for stage in trained if stage.endswith("-none")} | {
        "importance_wide@compare2016-logreg"}
    assert stages_run(first) == ({"fetch", "ingest", "fingerprints", "audio_features", "face_features",
                                  "conditions", "augment", "external_features@au", "fuse", "calibrate", "adaptation",
                                  "cross_corpus@emodb",
                                  "cross_corpus@ravdess_video", "report"}
                                 | trained | wide | variants | novelty | importance)
    assert (project / "data/downloads/Audio_Speech_Actors_01-24.zip").read_bytes() == archive.read_bytes()

    takes = pd.read_parquet(project / "data/manifest.parquet")
    voices, faces = takes[takes["corpus"] == "ravdess"], takes[takes["corpus"] == "ckplus"]
    archived = voices[~voices["take"].isin(MP4_ONLY)]
    assert len(archived) == 6 * 4 * 2  # 6 actors, 4 classes, 2 repetitions (the truncated extra take is rejected)
    assert set(voices["label"]) == set(FOUR_CLASSES) and set(faces["label"]) == {"happy", "sad", "angry"}
    assert archived["audio_path"].str.contains("Audio_Speech_Actors_01-24.zip::Actor_").all()
    assert all(v.endswith(f"01-{t}.mp4") for t, v in zip(archived["take"], archived["video_path"]))  # one take
    mp4_only = voices[voices["take"].isin(MP4_ONLY)]
    assert len(mp4_only) == 2 and (mp4_only["audio_path"] == mp4_only["video_path"]).all()
    assert len(faces) == n_sequences and faces["video_path"].str.endswith("_*.png").all()
    assert set(MP4_ONLY) <= set(pd.read_parquet(project / "features/audio.parquet")["take"])
    face_takes = set(pd.read_parquet(project / "features/face.parquet")["take"])
    assert set(voices["take"]) | set(faces["take"]) == face_takes  # every take here has video or frames

    report = (project / "reports/report.md").read_text()
    assert report.index("## The answer") < report.index("## Voice + face")  # the answer first
    details = {p.stem: p.read_text() for p in (project / "reports/details").glob("*.md")}
    assert set(details) == {"data", "audio", "face", "au", "compare2016", "fusion", "comparisons", "importance"}
    for name in details:  # each linked from the report; their figures are found from their folder
        assert f"](details/{name}.md)" in report
    assert all((project / "reports/details" / link).exists() for text in details.values()
               for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text))
    assert len(report.splitlines()) <= 340 and "### audio/svm" not in report  # ten sections and an index: details apart
    report += "".join(details.values())  # every check below reads the report with its details
    assert "| ravdess | voice + face | audio+compare2016+au/fused (selected) | " in report
    answer = json.loads((project / "reports/metrics.json").read_text())  # the headline: the answer alone
    assert set(answer["ravdess"]) == {"voice", "face_au", "face_face", "voice_face_au", "voice_face_face"}
    assert set(answer["ckplus"]) == {"face_face"} and 0 < answer["ravdess"]["voice"]["accuracy"] <= 1
    assert set(answer["ravdess"]["voice"]) == {"accuracy", "uar", "accuracy_speaker_norm"}
    details = json.loads((project / "reports/metrics_details.json").read_text())["answer"]
    assert answer["ravdess"]["voice"]["uar"] == details["ravdess"]["voice"]["uar"]
    for name in ("audio/svm", "audio/rf", "audio/xgb", "audio/svm + speaker norm", "face/svm", "face/xgb"):
        assert f"### {name}\n" in report
    assert "03-01-05-02-02-02-06.wav" in report and "truncated" in report
    assert "desktop.ini" in report and "S999_001_00000001.png" in report
    for modality, n_takes in (("audio", len(voices)), ("face", len(face_takes))):
        for learner in ("svm-none", "rf-none", "xgb-speaker"):
            assert (project / f"reports/figures/confusion_{modality}_{learner}.png").stat().st_size > 5000
            assert (project / f"models/learners/{modality}/{learner}.joblib").exists()
            oof = pd.read_parquet(project / f"models/learners/{modality}/{learner}.oof.parquet")
            assert len(oof) == n_takes and oof["fold"].between(0, 2).all()
            for _, fold in oof.groupby("fold"):
                assert not set(fold["speaker"]) & set(oof.loc[oof["fold"] != fold["fold"].iloc[0], "speaker"])
    check_fusion(project, report)
    check_voice_face(project, voices, report)
    metrics = json.loads((project / "reports/metrics_details.json").read_text())
    assert metrics["n_takes"] == len(takes)
    assert {"audio/svm", "audio/rf + speaker norm"} <= set(metrics["audio"]["results"])
    assert {"face/svm", "face/xgb"} <= set(metrics["face"]["results"])
    shown = run(project, "metrics", "show")  # the answer only: per corpus, accuracy, UAR, speaker-normalised
    assert "ravdess.voice.accuracy" in shown and "audio/svm" not in shown
    compare = pd.read_parquet(project / "features/compare2016.parquet")  # openSMILE ComParE_2016 of every voice
    assert compare.shape == (len(voices), 1 + 6373) and set(compare["take"]) == set(voices["take"])
    copies = pd.read_parquet(project / "features/compare2016_copies.parquet")
    assert len(copies) == 2 * len(voices) and copies.groupby("speed")["take"].apply(set).to_dict() == {
        0.9: set(voices["take"]), 1.1: set(voices["take"])}
    assert pd.read_parquet(project / "features/audio_copies.parquet").empty  # the own features make none
    drawn = pd.read_parquet(project / "features/augmented/compare2016.parquet")  # one copy a take, heard off the studio
    assert drawn[["take", "copy"]].values.tolist() == [[t, 0] for t in sorted(voices["take"])]
    assert drawn.shape[1] == 2 + 6373 and not np.allclose(
        drawn.set_index("take").loc[compare["take"]].iloc[:, 1:].to_numpy(), compare.iloc[:, 1:].to_numpy())
    wide = json.loads((project / "models/learners/compare2016/logreg-none.json").read_text())  # train.augmented: [none]
    assert (wide["training_copies"], wide["augmented_copies"], wide["n_takes"]) == (3 * len(voices), len(voices),
                                                                                    len(voices))
    normalised = json.loads((project / "models/learners/compare2016/logreg-speaker.json").read_text())
    assert (normalised["training_copies"], normalised["augmented_copies"]) == (2 * len(voices), 0)
    assert (f"trained on the copies of its training takes: {2 * len(voices)} speed-perturbed (`speed_copies`) and "
            f"{len(voices)} heard off the studio (`augment`)") in " ".join(report.split())
    assert "## Voice: feature sets alone and together" in report
    curve = pd.read_csv(project / "models/learning_curve.csv")
    assert curve[["fold", "speakers"]].values.tolist() == [[f, n] for f in range(3) for n in (2, 4)]
    assert "## Learning curve: accuracy by number of training speakers" in report
    assert (project / "reports/figures/learning_curve.png").stat().st_size > 5000
    assert {"audio/fused (selected)", "compare2016/logreg", "audio+compare2016/fused (selected)",
            "audio+compare2016/fused (selected) + speaker norm"} <= set(metrics["voice_sets"])
    check_uncertainty_and_adaptation(project, report, metrics)
    check_robustness(project, report, metrics)
    check_importance(project, report, metrics)

    run(project, "add", "-A", program="git")
    run(project, "commit", "-qm", "first run", program="git")
    for file in (tmp_path / "ckplus").rglob("*.png"):
        os.utime(file)  # the data touched: fetch's fingerprint is of content, so nothing downstream reruns
    assert stages_run(run(project, "repro")) == {"fetch"}  # nothing else to do
    assert run(project, "status", "--porcelain", program="git") == ""  # and no committed file changed
    timing = json.loads((project / "logs/models/learners/audio/svm-none.json").read_text())
    assert timing["seconds"] > 0 and len(timing["fold_fit_seconds"]) == 3  # the times, in the log git ignores
    assert "seconds" not in json.loads((project / "models/learners/audio/svm-none.json").read_text())
    info = subprocess.run([AVEMOTION, "info", "--json"], cwd=project, capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    overview = {record["model"]: record for record in json.loads(info.stdout)}
    assert overview["audio/svm"]["takes"] == len(voices) and overview["face/rf"]["corpora"]["ckplus"] == len(faces)
    assert overview["audio+compare2016/fused (selected)"]["chosen"]["rule"] in fusion.RULES

    check_predict(project, tmp_path)
    check_evaluate(project, tmp_path)

    params["learners"]["svm"]["n_iter"] = 3
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    svm_stages = {f"train@{m}-svm-{n}" for m in ("audio", "face", "au") for n in ("none", "speaker")}
    across = {"cross_corpus@emodb", "cross_corpus@ravdess_video"}
    assert stages_run(run(project, "repro")) == ({"fetch", "fuse", "calibrate", "report"} | svm_stages | variants
                                                 | across | {f"importance@{m}-svm" for m in ("audio", "face", "au")})
    cached = json.loads((project / "logs/models/learners/audio/svm-none.json").read_text())["fit_cache"]
    assert cached["hits"] > 0 and cached["fits"] > 0  # the two candidates kept were not fitted again
    # the deployed rule is the report's choice: no rule is refitted or scored again for it (cross_corpus scored
    # every rule); back at `selected`, DVC's run cache restores what was measured with it
    for deploy, measured in (("mean", {"calibrate"}), ("selected", set())):
        params["fuse"]["deploy"] = deploy
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        assert stages_run(run(project, "repro")) == {"fetch", "report"} | measured
        across_corpora = (project / "reports/report.md").read_text().split("## Across corpora")[1].split("\n## ")[0]
        assert f"| audio+compare2016/fused ({deploy}) |" in across_corpora

    run(project, "add", "-A", program="git")
    run(project, "commit", "-qm", "trained", program="git")
    run(project, "exp", "run", "-S", "compare.learner=rf", "-n", "rf-variants")
    shown = run(project, "exp", "show", "--json")
    assert "rf-variants" in shown and "speech_only" in shown
    dvc = str(Path(sys.executable).parent / "dvc")
    table = subprocess.run([dvc, "exp", "show", "--only-changed", "--drop", ".*/.*|models"], cwd=project,
                           env=ENV | {"COLUMNS": "160"}, capture_output=True, text=True, timeout=300).stdout
    assert "compare.learner" in table and max(map(len, table.splitlines())) <= 160  # as the README gives it
    diff = subprocess.run([dvc, "plots", "diff", "HEAD", "rf-variants", "--json", "--targets",
                           "reports/plots/answer/ravdess-voice.csv", "-t", "confusion", "-x", "predicted", "-y", "actual"],
                          cwd=project, env=ENV, capture_output=True, text=True, timeout=300)
    (plot,) = json.loads(diff.stdout)["data"]["reports/plots/answer/ravdess-voice.csv"]  # a confusion matrix from data
    assert set(plot["revisions"]) == {"HEAD", "rf-variants"} and plot["content"]["data"]["values"][0].keys() >= {
        "take", "actual", "predicted"} and "xy_count" in json.dumps(plot["content"])  # counted per cell, not a line
    opened = subprocess.run([dvc, "plots", "show", "--json"], cwd=project, env=ENV, capture_output=True, text=True,
                            timeout=300)  # what `dvc plots show` opens with: the answer and the learning curve
    assert {Path(p).name for p in json.loads(opened.stdout)["data"]} == {
        "ravdess-voice.csv", "ravdess-face_au.csv", "ravdess-face_face.csv", "ravdess-voice_face_au.csv",
        "ravdess-voice_face_face.csv", "ckplus-face_face.csv", "learning_curve.csv"}

    n_mfcc = params["audio_features"]["n_mfcc"]
    params["audio_features"]["n_mfcc"] = 13  # the models keep extracting what they were trained on, and say so
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    stale = subprocess.run([sys.executable, "-m", "pipeline.apply.evaluate", str(tmp_path / "emodb"), "--corpus", "emodb"],
                           cwd=project, capture_output=True, text=True, timeout=300)
    assert stale.returncode == 0 and "evaluate: note: audio: features extracted with the settings the models were " \
        "trained with, not params.yaml's (n_mfcc 20 -> 13)" in stale.stderr
    params["audio_features"]["n_mfcc"] = n_mfcc
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    video = str(next((tmp_path / "videos").rglob("01-*.mp4")))
    trained = lines_of(predict(project, video, "--json"))
    params["run"]["learners"] = ["svm", "rf"]  # edits `dvc repro` has not trained: the trained run answers
    params["run"]["modalities"] = ["audio", "face"]
    params["fuse"]["deploy"] = "mean"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    edited = predict(project, video, "--json")
    assert edited.returncode == 0 and lines_of(edited) == trained, edited.stderr  # the same probabilities
    assert "predict: note: params.yaml: fuse.deploy is mean, the models deploy selected;" in edited.stderr
    assert "run trains audio: svm+rf, face: svm+rf, compare2016: logreg; the models are audio: svm+rf+xgb" \
        in edited.stderr

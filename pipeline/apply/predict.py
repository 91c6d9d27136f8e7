"""Label your own clips with the models `dvc repro` trained.

Usage: python -m pipeline.apply.predict PATH... [--features NAME=PATH]... [--speaker NAME] [--max-seconds S] [--json]

A PATH is an audio file (wav, flac), a video (mp4, flv, mov, ...), an image, or a folder:
every audio or video file in it is a clip, and the images of each folder together are one
clip (a sequence, as in CK+). Each clip is scored by every plain learner of each modality it
carries, and their probabilities are fused by the `fuse.deploy` rule the fuse stage fitted:
per modality, and across modalities for a video with a voice and a face. The table shows
one line per clip as it finishes: the deployed answer (the fused decision over every modality
the clip carries), its probability, its prediction set (the emotions holding the true one for
`calibrate.coverage` of held-out speakers' takes: the calibrate stage's conformal threshold),
which decision it is, the clip; notes, warnings and errors below it. A clip unlike the training
takes (its novelty score above what 5% of held-out speakers' takes reach: the novelty stage) is
flagged: a warning, and the wider set of `calibrate.flagged_coverage`; "uncertain" when that set
holds every emotion. --json prints one object per
clip and line, with every learner. With --speaker NAME every clip is that one speaker's: the
speaker-normalised models decide, from the statistics of all of them (drawn towards the
training speakers'), once every clip is measured; fewer clips than the adaptation stage found
useful are refused, with its figures.
A clip longer than `predict.max_seconds` is refused before it is read. `--features au=PATH`
gives the clips' measurements for an `external_features` modality (a table or a folder of
OpenFace per-frame CSVs, read as that source's params say): a row joins a clip by take (RAVDESS
names) or by file name, and its face then fuses with the clip's voice. Run from the project
root; features are extracted with the settings each model records (those it was trained with),
and a note says where params.yaml now differs. Folders are read by ingest's scanner: what it
leaves out (links to nothing, names that are not UTF-8, unreadable folders, devices and FIFOs)
is named on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import checks, cli, io
from pipeline.apply import ensemble, seen
from pipeline.apply.given import Measured, measured_features, settings_notes
from pipeline.extract import audio, extractors, frames, tables
from pipeline.ingest import sources
from pipeline.learn import adaptation, conformal
from pipeline.apply.ensemble import ModelError
from pipeline.errors import ClipError, InputError
from pipeline.checks import SettingError


def reading(settings: dict[str, object], columns: set[str]) -> list[str]:
    """The modalities extracted from the files of these manifest `columns` (audio_path, video_path)."""
    return [m for m, s in settings.items() if extractors.of(s).reads in columns]


MAX_SECONDS = 300.0  # predict.max_seconds: RAVDESS takes last 3-5 s; ten minutes of 48 kHz audio is 115 MB as floats


class Voice:
    """A clip's audio, decoded once for every voice modality, and only if it is not too long."""

    def __init__(self, address: str, silence_dbfs: float, max_seconds: float) -> None:
        self.address, self.silence_dbfs, self.max_seconds = address, silence_dbfs, max_seconds
        self._decoded: audio.Decoded | None = None

    def decoded(self) -> audio.Decoded:
        if self._decoded is None:
            seconds = audio.declared_seconds(self.address)
            if seconds is not None and seconds > self.max_seconds:
                raise audio.AudioError(f"lasts {seconds:.0f} s, beyond predict.max_seconds ({self.max_seconds:g} s): "
                                       "not read (cut it, or raise the setting or --max-seconds)")
            decoded = audio.decode(self.address, self.max_seconds)
            audio.check_level(decoded.samples, self.silence_dbfs)
            self._decoded = decoded
        return self._decoded

    @property
    def note(self) -> str | None:
        """Which of several audio tracks was used (once decoded)."""
        return self._decoded.note if self._decoded is not None else None

    def decoded_already(self) -> audio.Decoded | None:
        """The audio, if a voice model has decoded it."""
        return self._decoded


def clip_features(voice: Voice, settings: object) -> np.ndarray:
    """One clip's feature vector; a clip where no face was found, or whose audio is silent (below
    ingest.silence_dbfs, as in training) or too long, is an error for a user."""
    extractor = extractors.of(settings)
    if extractor.per_voice is not None:
        return extractor.per_voice(voice.decoded(), settings)
    features = extractor.per_file(voice.address, settings)
    if features[0] == 0:  # face_fraction: training imputes such takes, a user needs to know
        raise frames.FrameError("no face detected in any sampled frame")
    return features


CLIP_SUFFIXES = sources.VIDEO_SUFFIXES + sources.AUDIO_SUFFIXES


def clips(arguments: list[str]) -> Iterator[str]:
    """Clip addresses from the paths given: files as they are, folders through ingest's scanner
    (zip archives inside them too; the images of one folder are one sequence). What a folder holds
    that is left out is named on stderr."""
    for argument in arguments:
        path = Path(argument)
        try:
            exists, is_file, is_dir = path.exists(), path.is_file(), path.is_dir()
        except OSError as error:  # e.g. a path longer than the system allows
            raise InputError(f"{sources.printable(argument)}: cannot be opened ({error.strerror})") from None
        if not exists:
            raise InputError(f"{argument}: no such file or folder")
        if is_file:
            yield str(path)
            continue
        if not is_dir:
            raise InputError(f"{argument}: {sources.NOT_REGULAR.removesuffix(': left out')}")
        found = sources.scan_roots([argument])
        for where, reason in found.problems:
            print(f"predict: left out {where}: {reason}", file=sys.stderr)
        inside = [c for c in found.clips if sources.suffix(c) in CLIP_SUFFIXES]
        for other in sorted(c for c in found.clips if sources.suffix(c) not in CLIP_SUFFIXES + sources.IMAGE_SUFFIXES):
            print(f"predict: left out {sources.printable(other)}: not audio ({', '.join(sources.AUDIO_SUFFIXES)}), "
                  "video or images", file=sys.stderr)
        folders = sorted({Path(c).parent for c in found.clips
                          if sources.ZIP_SEPARATOR not in c and sources.suffix(c) in sources.IMAGE_SUFFIXES})
        for folder in folders:
            suffix = max(sources.IMAGE_SUFFIXES, key=lambda s: len(list(folder.glob(f"*{s}"))))
            inside.append(str(folder / f"*{suffix}"))
        if not inside:
            raise InputError(f"{argument}: no audio, video or images in this folder")
        yield from inside


def modalities_of(address: str, settings: dict[str, object]) -> list[str]:
    """The modalities extracted from clips that this file carries: voices from an audio file,
    the face from images, both from a video."""
    suffix = Path(address).suffix.lower()
    if suffix in sources.AUDIO_SUFFIXES:
        wanted = {"audio_path"}
    elif suffix in sources.IMAGE_SUFFIXES:
        wanted = {"video_path"}
    elif suffix in sources.VIDEO_SUFFIXES:
        wanted = {"audio_path", "video_path"}
    else:
        raise ClipError(f"suffix {suffix!r} is not audio ({', '.join(sources.AUDIO_SUFFIXES)}), video "
                        f"({', '.join(sources.VIDEO_SUFFIXES)}) or an image")
    return reading(settings, wanted)


NO_TRACK = "no audio track in the video"
NARROWBAND_HZ = 16000  # below this a clip lacks the band above 8 kHz the training takes have (telephone: 8 kHz)


def measure(
    address: str, predictor: ensemble.Predictor, settings: dict[str, object], measured: Measured | None = None,
    silence_dbfs: float = -60.0, max_seconds: float = MAX_SECONDS, training: seen.Training | None = None,
) -> tuple[dict, dict[str, np.ndarray]]:
    """One clip's result so far (`predict`'s, without predictions) and its feature row per modality;
    with `training`, a note when the clip is a recording the models trained on."""
    result: dict = {"clip": address, "answer": None, "predictions": [], "errors": [], "warnings": [], "notes": []}
    features, failed = {}, {}
    voice = Voice(address, silence_dbfs, max_seconds)
    try:
        carried = modalities_of(address, settings)
    except ClipError as error:
        result["errors"].append(str(error))
        return result, features
    for modality in (m for m in carried if m in predictor.modalities):
        try:
            features[modality] = clip_features(voice, settings[modality])
        except ClipError as error:
            failed.setdefault(str(error), []).append(modality)
    if voice.note:
        result["notes"].append(voice.note)
    if (decoded := voice.decoded_already()) is not None and decoded.sample_rate < NARROWBAND_HZ:
        result["notes"].append(f"recorded at {decoded.sample_rate} Hz: it holds nothing above {decoded.sample_rate // 2} Hz, "
                               "where the training takes (16 kHz and up) carry part of what the voice models hear; "
                               "expect lower accuracy than the report's")
    if training is not None and (trained := trained_recording(voice, training)):
        result["notes"].append(f"this clip is {trained}: the models trained on it, so its answer is no test of them")
    for modality, rows in (measured or {}).items():
        key = tables.clip_key(settings[modality].corpus, address)
        if key in rows:
            features[modality] = rows[key]
        else:
            failed.setdefault(f"no row of --features {modality} names this clip ({key})", []).append(modality)
    for message, modalities in failed.items():  # one line per cause, naming every modality it cost
        if message == NO_TRACK and features:
            result["notes"].append(f"{NO_TRACK}: the face alone answers ({', '.join(modalities)} not used)")
        else:
            result["errors"].append(f"{', '.join(modalities)}: {message}")
    tested = sum(m in predictor.novelty for m in features)
    for modality, row in features.items():
        if unlike := predictor.unlike_training(modality, row, tested):
            result["warnings"].append(f"{modality}: {unlike}")
    if not features and not result["errors"]:
        result["errors"].append("no trained model for what this clip carries")
    return result, features


def trained_recording(voice: Voice, training: seen.Training) -> str | None:
    """Which training recording the clip is (its decoded audio, else its video file), or None."""
    if (decoded := voice.decoded_already()) is not None and (found := training.recording(decoded)):
        return found
    if sources.suffix(voice.address) in sources.VIDEO_SUFFIXES and sources.file_hash(voice.address) in training.content:
        return "a training take's video"
    return None


def decide(results: list[dict], features: list[dict[str, np.ndarray]], predictor: ensemble.Predictor,
           calibrated: Calibrated, speaker: str | None = None) -> None:
    """Fill in every model's prediction and the answer of each clip that has features; with
    `speaker`, the clips are that one speaker's, and the speaker-normalised models standardise
    them with their own statistics (drawn towards the training speakers')."""
    scored = [i for i, row in enumerate(features) if row]
    if not scored:
        return
    modalities = sorted({m for i in scored for m in features[i]})
    blank = {m: np.full(len(predictor.columns(m)), np.nan) for m in modalities}  # a clip without that modality
    X = {m: np.vstack([features[i].get(m, blank[m]) for i in scored]) for m in modalities}
    sides = {f.name: f.sides for f in predictor.fused}
    outputs = predictor.predict(X, np.full(len(scored), speaker) if speaker else None)
    for row, i in enumerate(scored):
        for name, (classes, proba) in outputs.items():
            if np.isnan(proba[row]).any() or len(sides.get(name, ())) > 1 and not all(
                    set(side) & set(features[i]) for side in sides[name]):
                continue  # a modality this clip lacks, or a cross-modal decision with one side of it
            probabilities = dict(zip(classes, map(float, proba[row])))
            results[i]["predictions"].append({"model": name, "fused": name in sides,
                                              "emotion": max(probabilities, key=probabilities.get),
                                              "probabilities": probabilities})
        results[i]["answer"] = answer(results[i]["predictions"], calibrated, bool(results[i]["warnings"]))


def predict(
    address: str, predictor: ensemble.Predictor, settings: dict[str, object], calibrated: Calibrated,
    measured: Measured | None = None, silence_dbfs: float = -60.0, max_seconds: float = MAX_SECONDS,
    training: seen.Training | None = None,
) -> dict:
    """{'clip', 'answer': the deployed decision {'model', 'emotion', 'probability', 'flagged', 'set',
    'set_coverage'} or None, 'predictions': [{'model', 'fused', 'emotion', 'probabilities'}],
    'errors', 'warnings', 'notes'} (a warning: a modality's features unlike the training takes,
    which widens the answer's set; a note: what the answer rests on)."""
    result, features = measure(address, predictor, settings, measured, silence_dbfs, max_seconds, training)
    decide([result], [features], predictor, calibrated)
    return result


def answer(predictions: list[dict], calibrated: Calibrated, flagged: bool = False) -> dict:
    """The deployed decision: the last fused one (the fusion groups come in order of growing reach,
    voice + face last), or the one learner when nothing was fused; with its prediction set (the
    emotions holding the true one for `calibrated`'s coverage of new speakers' clips). A clip
    `flagged` as unlike the training takes gets the wider set of the flagged coverage, and
    "uncertain" instead of an emotion when even that set cannot leave any emotion out."""
    chosen = ([p for p in predictions if p["fused"]] or predictions)[-1]
    ranked = sorted(chosen["probabilities"], key=chosen["probabilities"].get, reverse=True)
    out = {"model": chosen["model"], "emotion": chosen["emotion"],
           "probability": chosen["probabilities"][chosen["emotion"]], "flagged": flagged}
    thresholds, coverage = ((calibrated.flagged_thresholds, calibrated.flagged_coverage) if flagged else
                            (calibrated.thresholds, calibrated.coverage))
    if (members := conformal_set(chosen, predictions, thresholds)) is not None:
        out |= {"set": [c for c in ranked if c in members], "set_coverage": coverage}
        if flagged and len(out["set"]) == len(ranked):
            out |= {"emotion": "uncertain", "probability": None}
    return out


def conformal_set(chosen: dict, predictions: list[dict], thresholds: dict[str, float]) -> set[str] | None:
    """The emotions of the chosen decision's conformal set. A cross-modal decision no take could
    calibrate (voice and face trained on different corpora, none carrying both) gets the union of
    the sets of the widest calibrated decisions among its parts: the union holds the truth whenever
    one of them does, so its coverage is at least theirs. None when nothing is calibrated."""
    def members(p: dict) -> set[str]:
        classes = list(p["probabilities"])
        inside = conformal.sets(np.array([list(p["probabilities"].values())]), thresholds[p["model"]])[0]
        return {c for c, member in zip(classes, inside) if member}

    if chosen["model"] in thresholds:
        return members(chosen)
    parts = [p for p in predictions if p["model"] in thresholds and modalities_of_decision(p["model"])
             < modalities_of_decision(chosen["model"])]
    widest = [p for p in parts if not any(modalities_of_decision(p["model"]) < modalities_of_decision(q["model"])
                                          for q in parts)]
    return set().union(*map(members, widest)) if widest else None


def modalities_of_decision(name: str) -> frozenset[str]:
    """The modalities a decision named as `runplan.model_name` names them (`audio+face/fused (mean)`)."""
    return frozenset(name.split("/")[0].split("+"))


@dataclass(frozen=True)
class Calibrated:
    """The calibrate stage's conformal thresholds by deployed decision, the coverage they promise, and
    the wider ones of clips flagged as unlike the training takes."""

    coverage: float
    thresholds: dict[str, float]
    flagged_coverage: float
    flagged_thresholds: dict[str, float]

    @classmethod
    def load(cls) -> Calibrated:
        if not Path(conformal.PATH).exists():
            raise ModelError(f"{conformal.PATH} is missing (run `dvc repro`)")
        record = io.read_json(conformal.PATH)
        if "flagged_coverage" not in record:
            raise ModelError(f"{conformal.PATH} holds no sets for flagged clips (made before them: run `dvc repro`)")
        decisions = record["decisions"].items()
        return cls(record["coverage"], {name: d["threshold"] for name, d in decisions},
                   record["flagged_coverage"], {name: d["flagged_threshold"] for name, d in decisions})


def shown_set(emotions: list[str], total: int) -> str:
    """A prediction set in a few words: every emotion of a short set, 'any of N' for all of them."""
    if len(emotions) == total and total > 2:
        return f"any of {total}"
    return ", ".join(emotions[:3]) + (f" +{len(emotions) - 3}" if len(emotions) > 3 else "")


HEADER = f"{'emotion':10s} {'prob':>5s}  {'90% set':32s} {'decided by':40s} clip"


def shown(name: str) -> str:
    """A clip's name on one line: a newline, tab or other control character in it escaped (\\n)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in sources.printable(name))


def render(result: dict) -> str:
    """One clip's lines: the answer and its prediction set in aligned columns, the clip's name whole
    at the end; then its notes, warnings and errors, indented."""
    if result["answer"]:
        best = result["answer"]
        chosen = next(p for p in result["predictions"] if p["model"] == best["model"])
        probability = "-" if best["probability"] is None else f"{best['probability']:.0%}"
        members = shown_set(best["set"], len(chosen["probabilities"])) if "set" in best else "-"
        if best["flagged"] and "set" in best:  # its set is the wider one of the flagged clips
            members += f" ({best['set_coverage']:.0%})"
        line = f"{best['emotion']:10s} {probability:>5s}  {members:32s} {best['model']:40s} {shown(result['clip'])}"
    else:
        line = f"{'-':10s} {'':>5s}  {'no answer':32s} {'':40s} {shown(result['clip'])}"
    return "\n".join([line] + [f"    {kind}: {text}" for kind in ("note", "warning", "error")
                                for text in result[f"{kind}s"]])


def run(args: argparse.Namespace) -> int:
    try:
        params = io.load_params()
        max_seconds = args.max_seconds or max_seconds_from(params.get("predict") or {})
        trained = ensemble.load_run()
        predictor = ensemble.load(trained, normalisations=("none", "speaker") if args.speaker else ("none",))
        calibrated = Calibrated.load()
        settings = predictor.settings
        for note in settings_notes(settings, params, trained):
            print(f"predict: note: {note}", file=sys.stderr)
        measured = measured_features(args.features, settings, predictor)
        training = seen.Training.of(predictor)
        addresses = list(clips(args.paths))
        silence_dbfs = params["ingest"]["silence_dbfs"]
        if args.speaker:
            results = one_speaker(addresses, args.speaker, predictor, settings, calibrated, measured, silence_dbfs,
                                  max_seconds, training)
        else:
            results = (predict(address, predictor, settings, calibrated, measured, silence_dbfs, max_seconds, training)
                       for address in addresses)
        answered = True
        if not args.json:
            print(HEADER.replace("90%", f"{calibrated.coverage:.0%}"), flush=True)
        for result in results:
            print(json.dumps(result) if args.json else render(result), flush=True)
            answered &= bool(result["predictions"]) or not result["errors"]
    except (ModelError, InputError, ValueError) as error:  # ValueError: a setting of params.yaml refused
        print(f"predict: {error}", file=sys.stderr)
        return 2
    return 0 if answered else 1


def one_speaker(addresses: list[str], speaker: str, predictor: ensemble.Predictor, settings: dict[str, object],
                calibrated: Calibrated, measured: Measured, silence_dbfs: float, max_seconds: float,
                training: seen.Training | None = None) -> list[dict]:
    """Every clip's result, the clips being one speaker's: the speaker-normalised models decide, from
    the statistics of all of them; refused when fewer clips have features than the adaptation stage
    found speaker normalisation needs to beat the plain models on held-out speakers."""
    measured_clips = [measure(a, predictor, settings, measured, silence_dbfs, max_seconds, training) for a in addresses]
    try:
        record = adaptation.Record.load()
    except FileNotFoundError:
        raise ModelError(f"{adaptation.RECORD} is missing (run `dvc repro`)") from None
    if refused := record.refusal(speaker, sum(bool(features) for _, features in measured_clips)):
        raise InputError(refused)
    predictor = predictor.adapted(record.prior_clips)
    results = [result for result, _ in measured_clips]
    decide(results, [features for _, features in measured_clips], predictor, calibrated, speaker)
    return results


def max_seconds_from(block: dict) -> float:
    """`predict.max_seconds`, checked (MAX_SECONDS when the block does not set it)."""
    checks.only_known("predict", block, ["max_seconds"])
    value = block.get("max_seconds", MAX_SECONDS)
    if not (checks.is_number(value) and value > 0):
        raise SettingError(f"predict.max_seconds: {value!r} is not allowed; it must be a number of seconds above 0")
    return float(value)


def main(argv: list[str] | None = None, prog: str = "python -m pipeline.apply.predict") -> int:
    return cli.run_command("predict", argv if argv is not None else sys.argv[1:], prog)


if __name__ == "__main__":
    sys.exit(main())

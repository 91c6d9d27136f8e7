"""Label your own clips with the models `dvc repro` trained.

Usage: python -m pipeline.apply.predict PATH... [--features NAME=SOURCE]... [--json]

A PATH is an audio file (wav, flac), a video (mp4, flv, mov, ...), an image, or a folder:
every audio or video file in it is a clip, and the images of each folder together are one
clip (a sequence, as in CK+). Each clip is scored by every plain learner of each modality it
carries, and their probabilities are fused by the `fuse.deploy` rule the fuse stage fitted:
per modality, and across modalities for a video with a voice and a face. The table shows
the fused decisions (the last line of a clip is its decision); --json adds every learner.
`--features au=SOURCE` gives the clips' measurements for an `external_features` modality (a
table or a folder of OpenFace per-frame CSVs, read as that source's params say): a row joins a
clip by take (RAVDESS names) or by file name, and its face then fuses with the clip's voice.
Run from the project root; the feature settings come from params.yaml and must be the ones
the models were trained with.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline import io
from pipeline.apply import ensemble
from pipeline.extract import audio, face, frames, smile, tables
from pipeline.ingest import manifest, sources
from pipeline.learn import runplan
from pipeline.apply.ensemble import ModelError
from pipeline.errors import ClipError
from pipeline.stages import audio_features, external_features, face_features, opensmile_features


class InputError(RuntimeError):
    """A path given cannot be read as clips (missing, or a folder with none)."""


def feature_settings(params: dict) -> dict[str, object]:
    """Each modality's feature settings, from params.yaml as it is now (for a modality measured
    elsewhere, its `external_features` source)."""
    modalities = runplan.plan(params).modalities
    return {"audio": audio_features.settings_from(params["audio_features"]),
            "face": face_features.settings_from(params["face_features"]),
            **{m: opensmile_features.settings_from(m, params) for m in modalities
               if m in (params.get("opensmile_features") or {})},
            **{m: external_features.source_from(m, params) for m in modalities
               if m in (params.get("external_features") or {})}}


def extractor(settings: object) -> tuple[str, Callable[[str, object], np.ndarray]] | None:
    """(the manifest column naming the file it reads, its per-file feature function) for a
    modality extracted from clips; None for one measured elsewhere."""
    if isinstance(settings, audio.AudioSettings):
        return "audio_path", audio.file_features
    if isinstance(settings, smile.SmileSettings):
        return "audio_path", smile.file_features
    if isinstance(settings, face.FaceSettings):
        return "video_path", face.file_features
    return None


def reading(settings: dict[str, object], columns: set[str]) -> list[str]:
    """The modalities extracted from the files of these manifest `columns` (audio_path, video_path)."""
    return [m for m, s in settings.items() if extractor(s) is not None and extractor(s)[0] in columns]


Measured = dict[str, dict[str, np.ndarray]]  # modality -> clip key -> feature row


def measured_features(options: list[str], settings: dict[str, object], predictor: ensemble.Predictor) -> Measured:
    """The rows of each `NAME=SOURCE` option, read like `external_features.NAME` but from SOURCE,
    keyed by clip; unusable rows are listed on stderr."""
    out: Measured = {}
    for option in options:
        name, _, path = option.partition("=")
        source = settings.get(name)
        if not isinstance(source, tables.ExternalSource) or name not in predictor.modalities:
            known = [m for m, s in settings.items() if isinstance(s, tables.ExternalSource)]
            raise InputError(f"--features {option}: expected NAME=SOURCE with NAME one of the trained "
                             f"external_features modalities ({', '.join(known) or 'none'})")
        if not Path(path).exists():
            raise InputError(f"--features {option}: {path}: no such file or folder")
        rows = tables.read_rows(dataclasses.replace(source, path=path))
        manifest.print_rejects(manifest.reject_table(rows.rejects))
        try:
            out[name] = tables.lookup(rows, source.corpus, predictor.columns(name))
        except tables.TableError as error:
            raise InputError(f"--features {option}: {error}") from None
        if not out[name]:
            raise InputError(f"--features {option}: no usable row")
    return out


def clip_features(address: str, settings: object, silence_dbfs: float) -> np.ndarray:
    """One clip's feature vector; a clip where no face was found, or whose audio is silent (below
    ingest.silence_dbfs, as in training), is an error for a user."""
    column, _ = extractor(settings)
    if column == "audio_path":
        decoded = audio.decode(address)
        audio.check_level(decoded.samples, silence_dbfs)
        features_of = audio.clip_features if isinstance(settings, audio.AudioSettings) else smile.clip_features
        return features_of(decoded, settings)
    features = face.file_features(address, settings)
    if features[0] == 0:  # face_fraction: training imputes such takes, a user needs to know
        raise frames.FrameError("no face detected in any sampled frame")
    return features


def clips(arguments: list[str]) -> list[str]:
    """Clip addresses from the paths given: files as they are, folders searched."""
    found = []
    for argument in arguments:
        path = Path(argument)
        if not path.exists():
            raise InputError(f"{argument}: no such file or folder")
        if path.is_file():
            found.append(str(path))
            continue
        inside = [str(p) for p in sorted(path.rglob("*"))
                  if p.is_file() and p.suffix.lower() in sources.VIDEO_SUFFIXES + (".wav", ".flac")]
        for folder in sorted({p.parent for p in path.rglob("*") if p.suffix.lower() in frames.IMAGE_SUFFIXES}):
            suffix = max(frames.IMAGE_SUFFIXES, key=lambda s: len(list(folder.glob(f"*{s}"))))
            inside.append(str(folder / f"*{suffix}"))
        if not inside:
            raise InputError(f"{argument}: no audio, video or images in this folder")
        found += inside
    return found


def modalities_of(address: str, settings: dict[str, object]) -> list[str]:
    """The modalities extracted from clips that this file carries: voices from an audio file,
    the face from images, both from a video."""
    suffix = Path(address).suffix.lower()
    if suffix in (".wav", ".flac"):
        wanted = {"audio_path"}
    elif suffix in frames.IMAGE_SUFFIXES:
        wanted = {"video_path"}
    else:
        wanted = {"audio_path", "video_path"}
    return reading(settings, wanted)


def predict(
    address: str, predictor: ensemble.Predictor, settings: dict[str, object], measured: Measured | None = None,
    silence_dbfs: float = -60.0,
) -> dict:
    """{'clip', 'predictions': [{'model', 'fused', 'emotion', 'probabilities'}], 'errors': [...],
    'warnings': [...]} (a warning: a modality's features unlike every training take)."""
    result: dict = {"clip": address, "predictions": [], "errors": [], "warnings": []}
    features = {}
    for modality in (m for m in modalities_of(address, settings) if m in predictor.modalities):
        try:
            features[modality] = clip_features(address, settings[modality], silence_dbfs)[None, :]
        except ClipError as error:
            result["errors"].append(f"{modality}: {error}")
    for modality, rows in (measured or {}).items():
        key = tables.clip_key(settings[modality].corpus, address)
        if key in rows:
            features[modality] = rows[key][None, :]
        else:
            result["errors"].append(f"{modality}: no row of --features {modality} names this clip ({key})")
    for modality, rows in features.items():
        if unlike := predictor.unlike_training(modality, rows[0]):
            result["warnings"].append(f"{modality}: {unlike}")
    if features:
        fused = {f.name for f in predictor.fused}
        for name, (classes, proba) in predictor.predict(features).items():
            probabilities = dict(zip(classes, map(float, proba[0])))
            result["predictions"].append({"model": name, "fused": name in fused,
                                          "emotion": max(probabilities, key=probabilities.get),
                                          "probabilities": probabilities})
    elif not result["errors"]:
        result["errors"].append("no trained model for what this clip carries")
    return result


def render(results: list[dict]) -> str:
    """A readable table: clip, model, predicted emotion, the three most likely with probabilities."""
    lines = [f"{'clip':40s} {'model':28s} {'emotion':10s} top three"]
    for result in results:
        shown = [p for p in result["predictions"] if p["fused"]] or result["predictions"]
        for p in shown:
            top = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])[:3]
            lines.append(f"{result['clip'][-40:]:40s} {p['model']:28s} {p['emotion']:10s} "
                         + ", ".join(f"{c} {v:.0%}" for c, v in top))
        lines += [f"{result['clip'][-40:]:40s} error: {e}" for e in result["errors"]]
        lines += [f"{result['clip'][-40:]:40s} warning: {w}" for w in result["warnings"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str = "python -m pipeline.apply.predict") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Predict the emotion of your own clips.",
        epilog="Exit codes: 0 every clip got a prediction; 1 some clip got none (unreadable, silent, no face "
               "and no voice); 2 nothing could be predicted (missing or stale models, bad arguments). A warning "
               "(a clip's features far outside every training take's) leaves the prediction and exit code as they are.",
    )
    parser.add_argument("paths", nargs="+", help="audio, video or image files, or folders of them")
    parser.add_argument("--features", action="append", default=[], metavar="NAME=SOURCE",
                        help="the clips' measurements for external_features modality NAME (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    args = parser.parse_args(argv)
    params = io.load_params()
    settings = feature_settings(params)
    try:
        predictor = ensemble.load(params, settings)
        measured = measured_features(args.features, settings, predictor)
        results = [predict(address, predictor, settings, measured, params["ingest"]["silence_dbfs"])
                   for address in clips(args.paths)]
    except (ModelError, InputError) as error:
        print(f"predict: {error}", file=sys.stderr)
        return 2
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 1 if any(r["errors"] and not r["predictions"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

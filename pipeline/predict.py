"""Label your own clips with the models `dvc repro` trained.

Usage: python -m pipeline.predict PATH... [--json]

A PATH is an audio file (wav, flac), a video (mp4, flv, mov, ...), an image, or a folder:
every audio or video file in it is a clip, and the images of each folder together are one
clip (a sequence, as in CK+). Each clip is scored by the best plain learner of every
modality it carries (reports/metrics.json names them; speaker-normalised models need a
batch of the same speaker's clips, so they are not used here). A video with a voice and a
face also gets the mean of the two modalities' probabilities over the emotions both know.
Run from the project root; the feature settings come from params.yaml and must be the ones
the models were trained with.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np

from pipeline import audio, face, frames, io, paths, sources
from pipeline.errors import ClipError
from pipeline.stages import audio_features, face_features

METRICS = Path("reports/metrics.json")


class PredictError(RuntimeError):
    """Nothing can be predicted (no models, models from other params, no input)."""


@dataclass(frozen=True)
class Model:
    modality: str
    name: str
    estimator: object
    classes: list[str]
    settings: object

    def probabilities(self, address: str) -> np.ndarray:
        features_of = audio.file_features if self.modality == "audio" else face.file_features
        features = features_of(address, self.settings)
        if self.modality == "face" and features[0] == 0:  # face_fraction: training imputes, a user needs to know
            raise frames.FrameError("no face detected in any sampled frame")
        return self.estimator.predict_proba(features[None, :])[0]


def feature_settings(params: dict) -> dict[str, object]:
    """Each modality's feature settings, from params.yaml as it is now."""
    return {"audio": audio_features.settings_from(params["audio_features"]),
            "face": face_features.settings_from(params["face_features"])}


def load_model(modality: str, learner: str, settings: object) -> Model:
    """A trained plain learner, refused if its feature columns differ from what `settings` give."""
    stem = paths.model_stem(modality, learner, "none")
    if not Path(f"{stem}.joblib").exists():
        raise PredictError(f"{stem}.joblib is missing (run `dvc repro`)")
    saved = joblib.load(f"{stem}.joblib")
    names = audio.feature_names(settings) if modality == "audio" else face.feature_names(settings)
    if saved["features"] != names:
        raise PredictError(f"{stem}.joblib was trained with other {modality}_features params than "
                           "params.yaml holds now (run `dvc repro` to retrain)")
    return Model(modality, f"{modality}/{learner}", saved["model"], saved["classes"], settings)


def load_models(params: dict) -> dict[str, Model]:
    """The best plain learner of each trained modality (as reports/metrics.json names it)."""
    if not METRICS.exists():
        raise PredictError(f"no trained models: {METRICS} is missing (run `dvc repro` first)")
    metrics = io.read_json(METRICS)
    settings = feature_settings(params)
    models = {
        modality: load_model(modality, metrics[modality]["best"].split("/")[1].split(" ")[0], settings[modality])
        for modality in settings if modality in metrics
    }
    if not models:
        raise PredictError(f"{METRICS} names no trained model (run `dvc repro`)")
    return models


def clips(arguments: list[str]) -> list[str]:
    """Clip addresses from the paths given: files as they are, folders searched."""
    found = []
    for argument in arguments:
        path = Path(argument)
        if not path.exists():
            raise PredictError(f"{argument}: no such file or folder")
        if path.is_file():
            found.append(str(path))
            continue
        found += [str(p) for p in sorted(path.rglob("*"))
                  if p.is_file() and p.suffix.lower() in sources.VIDEO_SUFFIXES + (".wav", ".flac")]
        for folder in sorted({p.parent for p in path.rglob("*") if p.suffix.lower() in frames.IMAGE_SUFFIXES}):
            suffix = max(frames.IMAGE_SUFFIXES, key=lambda s: len(list(folder.glob(f"*{s}"))))
            found.append(str(folder / f"*{suffix}"))
        if not found:
            raise PredictError(f"{argument}: no audio, video or images in this folder")
    return found


def modalities_of(address: str) -> list[str]:
    suffix = Path(address).suffix.lower()
    if suffix in (".wav", ".flac"):
        return ["audio"]
    if suffix in frames.IMAGE_SUFFIXES:
        return ["face"]
    return ["audio", "face"]


def predict(address: str, models: dict[str, Model]) -> dict:
    """{'clip', 'predictions': [{'model', 'emotion', 'probabilities'}], 'errors': [...]}."""
    result: dict = {"clip": address, "predictions": [], "errors": []}
    for modality in (m for m in modalities_of(address) if m in models):
        model = models[modality]
        try:
            proba = model.probabilities(address)
        except ClipError as error:
            result["errors"].append(f"{modality}: {error}")
            continue
        result["predictions"].append(_prediction(model.name, dict(zip(model.classes, map(float, proba)))))
    if len(result["predictions"]) == 2:
        first, second = (p["probabilities"] for p in result["predictions"])
        shared = [c for c in first if c in second]
        mean = np.array([(first[c] + second[c]) / 2 for c in shared])
        result["predictions"].append(_prediction("mean of both", dict(zip(shared, mean / mean.sum()))))
    if not result["predictions"] and not result["errors"]:
        result["errors"].append("no trained model for what this clip carries")
    return result


def _prediction(model: str, probabilities: dict[str, float]) -> dict:
    return {"model": model, "emotion": max(probabilities, key=probabilities.get), "probabilities": probabilities}


def render(results: list[dict]) -> str:
    """A readable table: clip, model, predicted emotion, the three most likely with probabilities."""
    lines = [f"{'clip':40s} {'model':14s} {'emotion':10s} top three"]
    for result in results:
        for p in result["predictions"]:
            top = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])[:3]
            lines.append(f"{result['clip'][-40:]:40s} {p['model']:14s} {p['emotion']:10s} "
                         + ", ".join(f"{c} {v:.0%}" for c, v in top))
        lines += [f"{result['clip'][-40:]:40s} error: {e}" for e in result["errors"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict the emotion of your own clips.")
    parser.add_argument("paths", nargs="+", help="audio, video or image files, or folders of them")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    args = parser.parse_args(argv)
    try:
        models = load_models(io.load_params())
        results = [predict(address, models) for address in clips(args.paths)]
    except PredictError as error:
        print(f"predict: {error}", file=sys.stderr)
        return 2
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 1 if any(r["errors"] and not r["predictions"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

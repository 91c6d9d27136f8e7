"""Label your own clips with the models `dvc repro` trained.

Usage: python -m pipeline.predict PATH... [--json]

A PATH is an audio file (wav, flac), a video (mp4, flv, mov, ...), an image, or a folder:
every audio or video file in it is a clip, and the images of each folder together are one
clip (a sequence, as in CK+). Each clip is scored by every plain learner of each modality it
carries, and their probabilities are fused by the `fuse.deploy` rule the fuse stage fitted:
per modality, and across modalities for a video with a voice and a face. The table shows
the fused decisions (the last line of a clip is its decision); --json adds every learner.
Run from the project root; the feature settings come from params.yaml and must be the ones
the models were trained with.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from pipeline import audio, ensemble, face, frames, io, sources
from pipeline.ensemble import ModelError
from pipeline.errors import ClipError
from pipeline.stages import audio_features, face_features


class InputError(RuntimeError):
    """A path given cannot be read as clips (missing, or a folder with none)."""


def feature_settings(params: dict) -> dict[str, object]:
    """Each modality's feature settings, from params.yaml as it is now."""
    return {"audio": audio_features.settings_from(params["audio_features"]),
            "face": face_features.settings_from(params["face_features"])}


def clip_features(modality: str, address: str, settings: object) -> np.ndarray:
    """One clip's feature vector; a clip where no face was found is an error for a user."""
    if modality == "audio":
        return audio.file_features(address, settings)
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


def modalities_of(address: str) -> list[str]:
    suffix = Path(address).suffix.lower()
    if suffix in (".wav", ".flac"):
        return ["audio"]
    if suffix in frames.IMAGE_SUFFIXES:
        return ["face"]
    return ["audio", "face"]


def predict(address: str, predictor: ensemble.Predictor, settings: dict[str, object]) -> dict:
    """{'clip', 'predictions': [{'model', 'fused', 'emotion', 'probabilities'}], 'errors': [...]}."""
    result: dict = {"clip": address, "predictions": [], "errors": []}
    features = {}
    for modality in (m for m in modalities_of(address) if m in predictor.modalities):
        try:
            features[modality] = clip_features(modality, address, settings[modality])[None, :]
        except ClipError as error:
            result["errors"].append(f"{modality}: {error}")
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
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict the emotion of your own clips.")
    parser.add_argument("paths", nargs="+", help="audio, video or image files, or folders of them")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    args = parser.parse_args(argv)
    params = io.load_params()
    settings = feature_settings(params)
    try:
        predictor = ensemble.load(params, settings)
        results = [predict(address, predictor, settings) for address in clips(args.paths)]
    except (ModelError, InputError) as error:
        print(f"predict: {error}", file=sys.stderr)
        return 2
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 1 if any(r["errors"] and not r["predictions"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

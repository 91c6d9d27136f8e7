"""The ways a modality's features are made, one registry entry each.

The contract of an extractor (`Extractor`): its settings class, the manifest column of the file
it measures (none for features measured by another tool), its per-file function (what the batch
runner calls), its per-voice function (from audio decoded once for every voice) and its column
names. A feature table records the settings that made it (`outputs.record`, in the Parquet file's
metadata); the train stage copies that metadata into every model, and `predict` and `evaluate`
rebuild extraction from a model's copy (`rebuild`), not from params.yaml as it is now. Adding a
way touches this registry and its own module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import checks
from pipeline.extract import audio, face, outputs, smile, tables


@dataclass(frozen=True)
class Extractor:
    settings_type: type
    reads: str | None = None  # the manifest column of the file it measures (audio_path, video_path)
    per_file: Callable[[str, Any], np.ndarray] | None = None
    per_voice: Callable[[audio.Decoded, Any], np.ndarray] | None = None
    names: Callable[[Any], list[str]] | None = None  # None: the table's own columns


EXTRACTORS: dict[str, Extractor] = {
    "audio": Extractor(audio.AudioSettings, "audio_path", audio.file_features, audio.clip_features,
                       audio.feature_names),
    "opensmile": Extractor(smile.SmileSettings, "audio_path", smile.file_features, smile.clip_features,
                           smile.feature_names),
    "face": Extractor(face.FaceSettings, "video_path", face.file_features, None, face.feature_names),
    "external": Extractor(tables.ExternalSource),
}


def of(settings: object) -> Extractor:
    """The extractor these settings belong to."""
    return next(e for e in EXTRACTORS.values() if isinstance(settings, e.settings_type))


def recorded_way(metadata: dict[str, Any]) -> str:
    """The registry key of the extractor that made a feature table (from its metadata, `outputs.record`)."""
    saved = metadata[outputs.RECORD]["settings_type"]
    return next(way for way, e in EXTRACTORS.items() if e.settings_type.__name__ == saved)


def rebuild(metadata: dict[str, Any]) -> object:
    """The settings a feature table's (or a model's copy of its) metadata records (`outputs.record`)."""
    saved = metadata[outputs.RECORD]
    extractor = EXTRACTORS[recorded_way(metadata)]
    return checks.from_block(saved["settings_type"], extractor.settings_type, saved["settings"])


def way_of(modality: str, params: dict) -> str:
    """The registry key of the extractor that measures `modality`: the own audio and face, an
    `opensmile_features` set, or an `external_features` source."""
    if modality in ("audio", "face"):
        return modality
    return "opensmile" if modality in (params.get("opensmile_features") or {}) else "external"


def from_audio(params: dict) -> list[str]:
    """The modalities of `run` (both lists, in order) measured from audio files: the voices a
    degraded or augmented signal can be measured by."""
    run = params["run"]
    return [m for m in [*run["modalities"], *(run.get("wide_modalities") or [])]
            if EXTRACTORS[way_of(m, params)].reads == "audio_path"]


def from_params(modality: str, params: dict) -> object:
    """The settings params.yaml gives `modality` now."""
    way = way_of(modality, params)
    if way == "audio":
        return audio.settings_from(params["audio_features"])
    if way == "face":
        return face.settings_from(params["face_features"])
    if way == "opensmile":
        return smile.job_from(modality, params["opensmile_features"]).settings
    return tables.source_from(modality, params)


def changes(saved: object, now: object) -> list[str]:
    """The settings that differ between a model's record and params.yaml now ("n_mels 40 -> 64")."""
    if type(saved) is not type(now):
        return [f"made with {type(saved).__name__}, params.yaml now gives {type(now).__name__}"]
    old, new = dataclasses.asdict(saved), dataclasses.asdict(now)
    return [f"{key} {old[key]!r} -> {new[key]!r}" for key in old if old[key] != new[key]]

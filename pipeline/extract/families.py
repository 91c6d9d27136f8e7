"""The family of each feature column: the columns one measurement gave, which permutation
importance shuffles together (a descriptor's eight functionals carry one thing; shuffled alone,
each would look unimportant while its seven twins still told the model the same).

A family is named by what was measured, whichever functional pooled it: the own voice features by
descriptor group (MFCC, their deltas, energy, pitch, spectral shape, ...), the own face features
by geometry measure (left and right together), openSMILE's by low-level descriptor (its delta
apart), action units by unit (intensity and presence together).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from pipeline.extract import face

_AUDIO = {"mfcc": "MFCC", "delta": "Δ MFCC", "delta2": "ΔΔ MFCC", "rms_db": "energy", "zcr": "zero-crossing rate",
          "centroid_hz": "spectral shape", "rolloff_hz": "spectral shape", "flatness": "spectral shape",
          "f0_semitones": "pitch", "voiced_fraction": "pitch", "active_duration_s": "duration"}
_COEFFICIENT = re.compile(r"^(mfcc|delta2|delta)\d{2}$")  # delta2 first: delta200 is ΔΔ coefficient 00
_ACTION_UNIT = re.compile(r"^(AU\d+)_")
_SIDE = re.compile(r"_(left|right)$")


def _descriptor(column: str) -> str:
    """The pooled descriptor of `<descriptor>_<functional>`, or the column itself if it is not pooled."""
    return column.rsplit("_", 1)[0] if "_" in column else column


def audio_family(column: str) -> str:
    """The own voice features (`extract.audio.feature_names`)."""
    if column in _AUDIO:
        return _AUDIO[column]
    descriptor = _descriptor(column)
    coefficient = _COEFFICIENT.match(descriptor)
    return _AUDIO.get(coefficient.group(1) if coefficient else descriptor, column)


def face_family(column: str) -> str:
    """The own face features (`extract.face.feature_names`): a geometry measure with both sides and
    its motion, the aligned landmark positions, the head's motion, the detection rate."""
    if column in ("face_fraction", "frames_sampled"):
        return "face detection"
    descriptor = _descriptor(column)
    if re.fullmatch(r"[xy]\d{2}", descriptor):
        return "landmark positions"
    if descriptor == face.MOTION[0]:
        return "landmark motion"
    measure = _SIDE.sub("", descriptor.removesuffix("_speed"))
    return measure.replace("_", " ") if descriptor.removesuffix("_speed") in face.GEOMETRY else column


def smile_family(column: str) -> str:
    """openSMILE's functionals (`<LLD>_sma[_de][<index>]_<functional>`): the low-level descriptor, its
    delta a family of its own."""
    if "_sma" not in column:
        return column
    lld, rest = column.split("_sma", 1)
    return f"{lld} Δ" if re.match(r"\d*(nz)?_de", rest) else lld


def external_family(column: str) -> str:
    """Another tool's features: an action unit by unit (`AU12_r`, `AU12_c`, `AU12_r_mean`), landmark
    features as the own face's, anything else a family of its own."""
    unit = _ACTION_UNIT.match(column)
    return unit.group(1) if unit else face_family(column)


FAMILY_OF: dict[str, Callable[[str], str]] = {
    "audio": audio_family, "face": face_family, "opensmile": smile_family, "external": external_family,
}


def families(columns: list[str], family: Callable[[str], str]) -> dict[str, np.ndarray]:
    """Family name -> the indices of its columns, families in the order their first column comes."""
    named = [family(c) for c in columns]
    return {name: np.flatnonzero(np.array(named) == name) for name in dict.fromkeys(named)}

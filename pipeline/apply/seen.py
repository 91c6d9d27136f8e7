"""Which clips the models trained on, whatever they are called now: by take, by the content hash
of their decoded audio or video, by an audio fingerprint that survives resampling, codecs and
dither, and (for measured features) by a row equal to a training row. `evaluate` leaves such
takes out of a verdict on speakers the models never heard; `predict` says so beside its answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.apply.ensemble import Predictor
from pipeline.errors import ClipError, InputError
from pipeline.extract import audio, fingerprint


def trained_on(learner_stems: list[str]) -> set[tuple[str, str]]:
    """(corpus, take) of every take the learners were trained on: each one's out-of-fold table lists them all."""
    seen: set[tuple[str, str]] = set()
    for stem in learner_stems:
        oof = pd.read_parquet(f"{stem}.oof.parquet", columns=["corpus", "take"])
        seen.update(zip(oof["corpus"], oof["take"]))
    return seen


@dataclass
class Training:
    """What is known of the models' training takes."""

    takes: set[tuple[str, str]]  # (corpus, take)
    content: set[str]  # content hashes of their audio and video (`manifest`: audio_hash, video_hash)
    prints: list[fingerprint.Fingerprint] = field(default_factory=list)  # their audio fingerprints
    printed: list[tuple[str, str]] = field(default_factory=list)  # (corpus, take) of each of `prints`

    @classmethod
    def of(cls, predictor: Predictor) -> Training:
        takes = trained_on(list(predictor.learners))
        content = set().union(*(learner.content for learner in predictor.learners.values()))
        if not paths.FINGERPRINTS.exists():
            return cls(takes, content)
        table = pd.read_parquet(paths.FINGERPRINTS)
        table = table[[key in takes for key in zip(table["corpus"], table["take"])]]
        return cls(takes, content, fingerprint.from_frame(table), list(zip(table["corpus"], table["take"])))

    def re_encoding(self, decoded: audio.Decoded) -> str | None:
        """The training take this audio is a re-encoding of (resampled, compressed, dithered), by
        its fingerprint, or None."""
        found = fingerprint.same_recording(fingerprint.of_samples(decoded.samples, decoded.sample_rate), self.prints)
        return None if found is None else "training take {} {}, re-encoded".format(*self.printed[found])

    def recording(self, decoded: audio.Decoded) -> str | None:
        """Which training recording this audio is, or None: the same samples (its content hash), or
        a named training take re-encoded (its fingerprint)."""
        if audio.content_hash(decoded) in self.content:
            return "a training take's samples"
        return self.re_encoding(decoded)


def re_encoded(takes: pd.DataFrame, training: Training) -> np.ndarray:
    """Per take: whether its audio is a training take's recording, resampled, compressed or dithered
    (the same samples are known by the takes' `audio_hash` already)."""
    out = np.zeros(len(takes), dtype=bool)
    for i, address in enumerate(takes["audio_path"] if training.prints else []):
        if isinstance(address, str):
            try:
                out[i] = training.re_encoding(audio.decode(address)) is not None
            except ClipError:
                continue  # scoring names what is wrong with it
    return out


def unseen(takes: pd.DataFrame, training: Training, root: str) -> tuple[pd.DataFrame, int, int]:
    """The takes no model was trained on, how many were left out because a model was (by name), and
    how many because their audio or video is a training take's under another name (its content
    hash, or its fingerprint after resampling, a codec or dither)."""
    trained = np.array([key in training.takes for key in zip(takes["corpus"], takes["take"])], dtype=bool)
    copied = ~trained & (takes["audio_hash"].isin(training.content) | takes["video_hash"].isin(training.content)).to_numpy()
    copied[~(trained | copied)] = re_encoded(takes[~(trained | copied)], training)
    if (trained | copied).all():
        raise InputError(f"{root}: all {len(takes)} labelled takes were used to train the models "
                         f"({int(copied.sum())} of them under another name); evaluate scores takes they never saw "
                         "(e.g. RAVDESS actors 21-24)")
    return takes[~(trained | copied)].reset_index(drop=True), int(trained.sum()), int(copied.sum())


ROW_TOLERANCE = 1e-4  # in training standard deviations: a copy written to text with a few digits


def copied_rows(rows: dict[str, np.ndarray], training_rows: np.ndarray) -> set[str]:
    """The keys of `rows` (measured feature vectors by take) equal, within ROW_TOLERANCE, to a row
    of `training_rows`: a training take's measurements under another take's name."""
    if not rows or not len(training_rows):
        return set()
    scale = np.nanstd(training_rows, axis=0)
    scale[~(scale > 0)] = 1.0
    reference = np.nan_to_num(training_rows / scale)
    out = set()
    for key, row in rows.items():
        distance = np.abs(reference - np.nan_to_num(row / scale)).max(axis=1)
        if distance.min() < ROW_TOLERANCE:
            out.add(key)
    return out

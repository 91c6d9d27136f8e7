"""Adapting to a new speaker from k unlabelled clips: how many does speaker normalisation need?

Speaker normalisation standardises a speaker's features with that speaker's own mean and spread;
in training every take of the speaker gives them. A user has k clips of a new speaker: from a
few clips the mean and spread are noise, so they are drawn towards the training speakers' (a
prior worth `prior_clips` clips, set beforehand, never tuned on the curve). Here each
outer fold's speaker-normalised model (refit exactly as `train` refit it: the fold's chosen
parameters, its training part normalised with each training speaker's takes) scores each test
speaker's takes normalised with statistics from k of that speaker's takes drawn at random, the
drawn ones left out of the score, beside the plain model's out-of-fold guesses on the same takes.
No label of a test speaker is used before scoring.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import checks
from pipeline.learn import learners

CURVE, RECORD, PRIORS = "models/adaptation.csv", "models/adaptation.json", "models/priors"  # the stage's outputs


def prior_path(modality: str) -> str:
    return f"{PRIORS}/{modality}.parquet"


ALL = 0  # the `clips` value of the row where every take of the speaker gives the statistics (train's setting)


@dataclass(frozen=True)
class Settings:
    """The `adaptation` block: whose curve, at which numbers of clips, how many draws of them."""

    modality: str
    learner: str
    clips: tuple[int, ...]
    draws: int = 5
    prior_clips: float = 8.0

    def __post_init__(self) -> None:
        checks.check("adaptation", self, [
            ("clips", "a list of whole numbers of at least 1", lambda s: bool(s.clips)
             and all(checks.is_int(k) and k >= 1 for k in s.clips)),
            ("draws", "a whole number of at least 1", lambda s: checks.is_int(s.draws) and s.draws >= 1),
            ("prior_clips", "a number of clips, 0 or more", lambda s: checks.is_number(s.prior_clips)
             and s.prior_clips >= 0),
        ])

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        return checks.from_block("adaptation", cls, params["adaptation"])


@dataclass(frozen=True)
class Prior:
    """What a speaker's statistics are before any clip is heard: the training speakers' mean of
    their own means and of their own variances, per feature."""

    mean: np.ndarray
    variance: np.ndarray

    @classmethod
    def read(cls, modality: str, columns: list[str]) -> Prior:
        """The adaptation stage's prior of `modality`, in the order of `columns`."""
        table = pd.read_parquet(prior_path(modality)).set_index("statistic")[columns]
        return cls(table.loc["mean"].to_numpy(), table.loc["variance"].to_numpy())

    def table(self, columns: list[str]) -> pd.DataFrame:
        """The prior as written to models/priors/ (rows mean and variance, a column per feature)."""
        frame = pd.DataFrame([self.mean, self.variance], columns=columns)
        return frame.assign(statistic=["mean", "variance"])[["statistic", *columns]]

    @classmethod
    def of(cls, raw: np.ndarray, speakers: np.ndarray) -> Prior:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a feature missing for a whole speaker
            means = np.vstack([np.nanmean(raw[speakers == s], axis=0) for s in np.unique(speakers)])
            variances = np.vstack([np.nanvar(raw[speakers == s], axis=0) for s in np.unique(speakers)])
            return cls(np.nanmean(means, axis=0), np.nanmean(variances, axis=0))


def per_speaker(X: np.ndarray, speakers: np.ndarray, prior: Prior, prior_clips: float) -> np.ndarray:
    """`standardised_by` applied to each speaker's rows with that speaker's rows as the reference."""
    out = np.empty_like(X, dtype=np.float64)
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        out[rows] = standardised_by(X[rows], X[rows], prior, prior_clips)
    return out


def standardised_by(raw: np.ndarray, reference: np.ndarray, prior: Prior | None = None,
                    prior_clips: float = 0.0) -> np.ndarray:
    """`raw` z-scored with the mean and variance of `reference` (one speaker's clips), each drawn
    towards `prior` as if it were `prior_clips` clips more (a conjugate-prior estimate: with few
    clips the population's statistics, with many the speaker's own). Without a prior it is
    `normalisation.speaker_standardise` with statistics from `reference`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature no clip of the speaker has
        mean, variance = np.nanmean(reference, axis=0), np.nanvar(reference, axis=0)
    if prior is not None and prior_clips > 0:
        k = np.sum(~np.isnan(reference), axis=0)
        mean = (k * np.nan_to_num(mean) + prior_clips * prior.mean) / (k + prior_clips)
        variance = (k * np.nan_to_num(variance) + prior_clips * prior.variance) / (k + prior_clips)
    spread = np.sqrt(variance)
    return (raw - mean) / np.where(spread > 0, spread, 1.0)


def fold_model(learner: str, seed: int, fixed: dict, best: dict, X: np.ndarray, y: np.ndarray) -> Any:
    """The outer fold's model as `train` refit it (`search._refit`)."""
    return learners.build(learner, seed, fixed).set_params(**best).fit(X, y)


def speaker_rows(model: Any, raw: np.ndarray, y: np.ndarray, plain: np.ndarray, clips: list[int], draws: int,
                 rng: np.random.Generator, prior: Prior, prior_clips: float) -> list[dict]:
    """One test speaker's rows: for each k of `clips` (fewer than the speaker's takes) and draw, the
    accuracy of `model`'s guesses (its `predict`) on the takes not drawn, normalised with the k
    drawn, with the prior (`prior_clips`) and with the speaker's own statistics alone (0), and of
    the plain guesses `plain` on the same takes; k = ALL: every take normalises and is scored."""
    n = len(y)
    drawn_sets = [(k, draw, rng.choice(n, size=k, replace=False)) for k in clips if k < n for draw in range(draws)]
    drawn_sets.append((ALL, 0, np.arange(n)))
    rows = []
    for k, draw, drawn in drawn_sets:
        scored = np.arange(n) if k == ALL else np.setdiff1d(np.arange(n), drawn)
        for strength in sorted({0.0, float(prior_clips)}):
            guess = model.predict(standardised_by(raw[scored], raw[drawn], prior, strength))
            rows.append({"clips": k, "prior_clips": strength, "draw": draw, "takes": len(scored),
                         "correct": int((guess == y[scored]).sum()),
                         "plain_correct": int((plain[scored] == y[scored]).sum())})
    return rows


def summary(curve: pd.DataFrame) -> pd.DataFrame:
    """Per prior strength and k: the pooled accuracy over every test speaker and draw, the plain
    model's on the same takes, the gain, and the smallest gain of an outer fold."""
    by = curve.groupby(["prior_clips", "clips"])
    folds = curve.groupby(["prior_clips", "clips", "fold"])[["correct", "plain_correct", "takes"]].sum()
    gain_by_fold = ((folds["correct"] - folds["plain_correct"]) / folds["takes"]).groupby(["prior_clips", "clips"])
    return pd.DataFrame({
        "accuracy": by["correct"].sum() / by["takes"].sum(),
        "plain": by["plain_correct"].sum() / by["takes"].sum(),
        "gain_min_fold": gain_by_fold.min(),
        "speakers": by["speaker"].nunique(),
    }).assign(gain=lambda s: s["accuracy"] - s["plain"])


def useful_from(table: pd.DataFrame) -> int | None:
    """The fewest clips from which speaker normalisation beats the plain model in every outer fold,
    at that k and every larger k measured (None: at no k); `table`: one prior strength's rows of
    `summary`, indexed by k."""
    ks = [k for k in table.index if k != ALL]
    better = [k for k in ks if all(table.loc[j, "gain_min_fold"] > 0 for j in ks if j >= k)]
    return min(better) if better else None


@dataclass(frozen=True)
class Record:
    """What `predict --speaker` needs of the adaptation stage: the fewest clips that beat the plain
    model (None: no number measured did), with the curve to quote."""

    model: str
    plain_model: str
    prior_clips: float
    useful_from: int | None
    curve: dict[str, dict[str, float]]  # k ("1", ..., "all") -> accuracy, plain, ... with the chosen prior

    @classmethod
    def load(cls) -> Record:
        """The record (FileNotFoundError when the stage has not run)."""
        with open(RECORD) as handle:
            saved = json.load(handle)
        return cls(saved["model"], saved["plain_model"], saved["prior_clips"], saved["useful_from"],
                   saved["curves"][str(float(saved["prior_clips"]))])

    def refusal(self, speaker: str, clips: int) -> str | None:
        """Why `clips` clips of `speaker` are too few to adapt to (None: enough)."""
        if self.useful_from is not None and clips >= self.useful_from:
            return None
        measured = sorted((int(k), figures) for k, figures in self.curve.items() if k != "all")
        nearest = [(k, f) for k, f in measured if k <= clips][-1:]
        said = "".join(f" (with {k} clip{'s' * (k > 1)} {f['accuracy']:.1%} against {f['plain']:.1%})"
                       for k, f in nearest)
        if self.useful_from is None:
            return (f"--speaker {speaker}: on held-out speakers, speaker normalisation from a speaker's clips never "
                    f"beat the plain model in every outer fold ({self.model} against {self.plain_model}; "
                    "models/adaptation.json): leave out --speaker")
        best = self.curve[str(self.useful_from)]
        return (f"--speaker {speaker}: {clips} clip{'s' * (clips != 1)} with features; on held-out speakers, "
                f"speaker normalisation beat the plain model in every outer fold only from {self.useful_from} clips "
                f"({self.model}: {best['accuracy']:.1%} against {best['plain']:.1%}){said}: give at least "
                f"{self.useful_from} clips of this speaker, or leave out --speaker")

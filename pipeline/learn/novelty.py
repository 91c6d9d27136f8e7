"""How unlike the training takes a clip is, and when that is too unlike for its answer to stand
plainly (`predict` flags it and widens its prediction set).

A clip's features are standardised (the training takes' mean and standard deviation, as the
learners see them), projected on the training takes' principal components, and scored by the mean
distance to its `neighbours` nearest training takes there. One descriptor out of range among thousands (a
codec's mark on a ComParE band) barely moves a clip in that space; a clip unlike the takes as a
whole moves far. The threshold is calibrated on speakers the model never saw: each outer fold's
takes are scored by a model fitted on the other folds' speakers, and the flag is set at the score
`flag_rate` of them exceed (a conformal quantile). The share flagged is measured the same honest
way: each fold against the threshold of the other folds' scores only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import linalg

from pipeline import checks


@dataclass(frozen=True)
class Settings:
    """The `novelty` block."""

    neighbours: int = 10
    components: int = 20
    flag_rate: float = 0.05

    def __post_init__(self) -> None:
        checks.check("novelty", self, [
            ("neighbours", "a whole number from 1 to 100", lambda s: checks.is_int(s.neighbours)
             and 1 <= s.neighbours <= 100),
            ("components", "a whole number from 1 to 200", lambda s: checks.is_int(s.components)
             and 1 <= s.components <= 200),
            ("flag_rate", "a share between 0.01 and 0.5", lambda s: checks.is_number(s.flag_rate)
             and 0.01 <= s.flag_rate <= 0.5),
        ])

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        return checks.from_block("novelty", cls, params["novelty"])


@dataclass(frozen=True)
class Model:
    """The training takes of one modality in the reduced space, and the score beyond which a clip is flagged."""

    center: np.ndarray  # per feature: the training mean (and what a missing value becomes): the takes centred
    scale: np.ndarray  # per feature: the training spread (1 where it is none)
    basis: np.ndarray  # (components, features)
    points: np.ndarray  # (training takes, components)
    neighbours: int
    held_out: np.ndarray = field(default_factory=lambda: np.empty(0))  # held-out speakers' takes' scores
    flag_rate: float = 0.0  # the share of held-out speakers' takes a clip's flag may mark

    def threshold(self, modalities: int = 1) -> float:
        """The score above which a clip is flagged, when `modalities` of its modalities are each tested:
        each at flag_rate / modalities (Bonferroni), so the clip's flag keeps to flag_rate."""
        return exceeded(self.held_out, self.flag_rate / modalities)

    @classmethod
    def fit(cls, X: np.ndarray, settings: Settings) -> Model:
        center = np.nan_to_num(np.nanmean(X, axis=0))
        spread = np.nanstd(X, axis=0)
        scale = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        Z = _standardised(X, center, scale)
        basis = principal_axes(Z, settings.components)
        return cls(center, scale, basis, Z @ basis.T, min(settings.neighbours, len(X)))

    def score(self, X: np.ndarray) -> np.ndarray:
        """Each row's mean distance to its nearest training takes in the reduced space (NaN for a row
        with no value at all: a take without this modality)."""
        projected = _standardised(X, self.center, self.scale) @ self.basis.T
        distances = np.sqrt(np.maximum(
            (projected ** 2).sum(axis=1)[:, None] - 2 * projected @ self.points.T + (self.points ** 2).sum(axis=1), 0))
        nearest = np.partition(distances, self.neighbours - 1, axis=1)[:, : self.neighbours]
        return np.where(np.isnan(X).all(axis=1), np.nan, nearest.mean(axis=1))

    def flagged(self, X: np.ndarray, modalities: int = 1) -> np.ndarray:
        """Which rows score above the threshold (never a row without values)."""
        return self.score(X) > self.threshold(modalities)


def principal_axes(Z: np.ndarray, k: int) -> np.ndarray:
    """An orthonormal basis (k, features) of the span of Z's first k right singular vectors.

    Only the span matters (a distance within it is the same in any basis of it), so it is read from
    the top k eigenvectors of the smaller Gram matrix, not a full SVD: fitting on ComParE's takes
    and their copies (about 4,000 x 6,373) 31 s -> 3.4 s, the same span to 1e-15."""
    k = min(k, *Z.shape)
    if Z.shape[0] >= Z.shape[1]:
        _, vectors = linalg.eigh(Z.T @ Z, subset_by_index=[Z.shape[1] - k, Z.shape[1] - 1])
        return vectors.T[::-1].copy()
    _, vectors = linalg.eigh(Z @ Z.T, subset_by_index=[Z.shape[0] - k, Z.shape[0] - 1])
    axes = (Z.T @ vectors).T[::-1]  # Z^T u has length sqrt(eigenvalue): normalised
    return axes / np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), np.finfo(float).tiny)


def _standardised(X: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (np.where(np.isnan(X), center, X) - center) / scale


def exceeded(scores: np.ndarray, flag_rate: float) -> float:
    """The score at most `flag_rate` of takes exchangeable with these exceed (the ceil((n + 1)(1 -
    flag_rate)) / n quantile); infinite when there are too few takes to say."""
    ranked = np.sort(scores)
    rank = int(np.ceil((len(ranked) + 1) * (1 - flag_rate)))
    return np.inf if rank > len(ranked) else float(ranked[rank - 1])


@dataclass(frozen=True)
class Rows:
    """Rows of a modality's features with the outer fold of each one's take."""

    X: np.ndarray
    fold: np.ndarray

    @classmethod
    def none(cls, n_features: int) -> Rows:
        return cls(np.empty((0, n_features)), np.empty(0, dtype=int))


def held_out_scores(takes: Rows, settings: Settings, extra: Rows, heard: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Each take's score by a model fitted on the other outer folds' speakers (and their rows of
    `extra`: perturbed copies of takes, fitted on, never scored); and the same for the `heard` rows
    (takes under other recording conditions, scored by their take's fold's model)."""
    scores, heard_scores = np.full(len(takes.X), np.nan), np.full(len(heard.X), np.nan)
    for f in np.unique(takes.fold):
        model = Model.fit(np.vstack([takes.X[takes.fold != f], extra.X[extra.fold != f]]), settings)
        scores[takes.fold == f] = model.score(takes.X[takes.fold == f])
        heard_scores[heard.fold == f] = model.score(heard.X[heard.fold == f])
    return scores, heard_scores


def calibrated(takes: Rows, settings: Settings, extra: Rows | None = None, heard: Rows | None = None,
               ) -> tuple[Model, np.ndarray, np.ndarray, dict]:
    """The model of all takes (and `extra`) holding the held-out scores its threshold comes from; those
    scores and the `heard` rows' (`held_out_scores`); its record: the threshold, and the share of each
    fold's takes the other folds' threshold flags."""
    X, fold = takes.X, takes.fold
    extra = extra or Rows.none(X.shape[1])
    scores, heard_scores = held_out_scores(takes, settings, extra, heard or Rows.none(X.shape[1]))
    per_fold = {int(f): float(np.mean(scores[fold == f] > exceeded(scores[fold != f], settings.flag_rate)))
                for f in np.unique(fold)}
    counts = {f: int(np.sum(fold == f)) for f in per_fold}
    model = Model.fit(np.vstack([X, extra.X]), settings)
    model = replace(model, held_out=np.sort(scores), flag_rate=settings.flag_rate)
    record = {"threshold": model.threshold(), "flag_rate": settings.flag_rate, "n_takes": len(X),
              "held_out_flagged": sum(per_fold[f] * counts[f] for f in per_fold) / len(X),
              "held_out_flagged_per_fold": per_fold}
    return model, scores, heard_scores, record


def flagged_together(scores: dict[str, np.ndarray], held_out: dict[str, np.ndarray], flag_rate: float) -> np.ndarray:
    """Per take (rows aligned across `scores`, NaN where a take lacks a modality): whether any of its
    modalities flags it, each tested against its `held_out` scores at flag_rate / the take's number of
    modalities (`Model.threshold`)."""
    S = np.column_stack([scores[m] for m in held_out])
    present = np.maximum((~np.isnan(S)).sum(axis=1), 1)
    limits = np.array([[exceeded(h, flag_rate / k) for h in held_out.values()] for k in range(1, len(held_out) + 1)])
    return (S > limits[present - 1]).any(axis=1)

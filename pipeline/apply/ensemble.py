"""The trained models as one predictor: each learner, each modality's fused decision, and the
decision fused across modalities, from feature matrices (used by predict and evaluate).

predict loads the plain learners and the deployed fusion rule; evaluate also the speaker-normalised
models (they need a batch of each speaker's clips, which a labelled folder has) and every rule.
"""

from __future__ import annotations

import os
import pickle
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import joblib
import numpy as np

from pipeline import io, paths
from pipeline.extract import extractors
from pipeline.learn import adaptation, fusion, novelty, records, run, runplan
from pipeline.ingest.corpora import label_order
from pipeline.learn.normalisation import normalise


class ModelError(RuntimeError):
    """Nothing can be predicted: models missing, or not made to be used together."""


@dataclass(frozen=True)
class Learner:
    modality: str
    name: str
    estimator: object
    classes: list[str]
    features: list[str]  # its input columns, in order
    normalisation: str = "none"
    content: frozenset[str] = frozenset()  # content hashes of its training takes (`manifest`: audio_hash, video_hash)
    settings: object = None  # what its features were made with (its feature table's record, `extractors`)


@dataclass(frozen=True)
class Fused:
    """One rule of a fusion group, as the fuse stage fitted it."""

    name: str
    stems: tuple[str, ...]
    classes: list[str]
    rule: fusion.Rule
    sides: tuple[tuple[str, ...], ...]  # a cross-modal decision needs two of them (`fusion.Group.sides`)
    figures: str | None  # the fuse stage's json of the group (None for a fallback it never evaluated)
    rule_name: str = "mean"


MODELS = Path("models")


DVC_CACHE = Path(".dvc/cache")  # where DVC's symlink or hardlink checkouts lead


def model_file(stem: Path) -> Path:
    """`<stem>.joblib`, refused unless it is a regular file whose real path lies under models/ (or
    DVC's cache): a model file is a pickle, and loading one runs code, so neither its name (an
    absolute path, `..`) nor a link in models/ may lead to a file elsewhere."""
    path = Path(f"{stem}.joblib")
    normal = Path(os.path.normpath(path))
    if path.is_absolute() or normal.parts[:1] != MODELS.parts or ".." in normal.parts:
        raise ModelError(f"{path}: outside {MODELS}/, refused (model files are pickles, trusted like code)")
    if not path.exists() and not path.is_symlink():
        raise ModelError(f"{path} is missing (run `dvc repro`)")
    real = os.path.realpath(path)
    if not any(os.path.commonpath([real, os.path.realpath(root)]) == os.path.realpath(root)
               for root in (MODELS, DVC_CACHE)):
        raise ModelError(f"{path}: leads to {real}, outside {MODELS}/ and DVC's cache; refused unread (model files "
                         "are pickles, trusted like code)")
    if not os.path.isfile(real):
        raise ModelError(f"{path}: not a regular file; refused unread")
    return path


def damage(path: Path) -> str | None:
    """Why a model file cannot be loaded, found without unpickling it (empty, or its compressed
    stream cut short), or None: what `info` checks before calling a model trained."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty (0 bytes)"
    stream = zlib.decompressobj()
    with open(path, "rb") as handle:
        if handle.read(1) != b"x":  # not the zlib stream `io.write_joblib` writes: nothing to check cheaply
            return None
        handle.seek(0)
        try:
            while (chunk := handle.read(1 << 20)) and not stream.eof:
                stream.decompress(chunk, 1 << 16)
                while stream.unconsumed_tail and not stream.eof:
                    stream.decompress(stream.unconsumed_tail, 1 << 16)
        except zlib.error as error:
            return f"corrupt ({error})"
    return None if stream.eof else "cut short (its compressed data ends early)"


def unpickled(path: Path, kind: type[records.Saved]) -> records.Saved:
    """A model file's record of `kind`; ModelError naming the file when it is empty, cut short, not a
    model or a record of another kind or version."""
    fix = f"restore it with `dvc checkout {path}` or retrain with `dvc repro`"
    if path.stat().st_size == 0:
        raise ModelError(f"{path}: empty (0 bytes); {fix}")
    try:
        saved = joblib.load(path)
    except (EOFError, ValueError, OSError, KeyError, IndexError, TypeError, AttributeError, ImportError,
            pickle.UnpicklingError, zlib.error) as error:
        problem = damage(path) or f"cannot be read ({type(error).__name__}: {str(error)[:120]})"
        raise ModelError(f"{path}: {problem}; {fix}") from None
    if not isinstance(saved, dict):
        raise ModelError(f"{path}: not a model file of this project; restore it with `dvc checkout {path}`")
    try:
        return kind.read(saved)
    except records.RecordError as error:
        raise ModelError(f"{path}: {error}; run `dvc repro` to retrain") from None


def load_learner(modality: str, learner: str, normalisation: str = "none") -> Learner:
    """A trained learner with the feature settings it was trained with, refused if its file is no
    learner record of this version or its columns are not what those settings give today's extractor."""
    stem = paths.model_stem(modality, learner, normalisation)
    saved = unpickled(model_file(stem), records.LearnerFile)
    settings = extractors.rebuild(saved.feature_table)
    names = extractors.of(settings).names
    if names is not None and saved.features != names(settings):
        raise ModelError(f"{stem}.joblib: the extractor no longer gives the columns it was trained on "
                         "(run `dvc repro` to retrain)")
    return Learner(modality, runplan.model_name(modality, learner, normalisation), saved.model, saved.classes,
                   saved.features, normalisation, frozenset(saved.content), settings)


def load_fused(group: fusion.Group, learners: dict[str, Learner], rules: list[str]) -> list[Fused]:
    """The group's `rules` as the fuse stage fitted them, checked against the learners loaded."""
    stem = paths.fusion_stem(group.slug)
    sides = group.sides or tuple((m,) for m in group.modalities)
    classes = label_order(set().union(*(learners[s].classes for s in group.stems)))
    if not Path(f"{stem}.joblib").exists() and Path(f"{stem}.json").exists() and len(group.modalities) > 1:
        # no take carried them together
        return [Fused(group.name.replace("/fused", "/mean"), group.stems, classes, fusion.Mean(), sides, None)]
    saved = unpickled(model_file(stem), records.FusionFile)
    if saved.stems != list(group.stems) or saved.classes != classes or not set(rules) <= set(saved.rules):
        raise ModelError(f"{stem}.joblib was fused from other models or rules than params.yaml names "
                         "(run `dvc repro`)")
    return [Fused(f"{group.name} ({rule})", group.stems, classes, saved.rules[rule], sides, f"{stem}.json", rule)
            for rule in rules]


@dataclass
class Predictor:
    learners: dict[str, Learner]  # by stem
    fused: list[Fused]
    # With priors (`adapted`), a speaker-normalised learner draws a speaker's statistics towards them
    priors: dict[str, adaptation.Prior] = field(default_factory=dict)
    prior_clips: float = 0.0
    novelty: dict[str, novelty.Model] = field(default_factory=dict)  # by modality: when a clip is unlike training

    def adapted(self, prior_clips: float) -> Predictor:
        """This predictor, its speaker normalisation drawing a speaker's statistics towards the
        training speakers' as if those were `prior_clips` more clips (the adaptation stage's priors)."""
        try:
            priors = {m: adaptation.Prior.read(m, self.columns(m)) for m in self.modalities}
        except (OSError, KeyError) as error:
            raise ModelError(f"{adaptation.PRIORS}/: no prior matching the models ({error}; run `dvc repro`)") from None
        return replace(self, priors=priors, prior_clips=prior_clips)

    def _normalised(self, learner: Learner, X: np.ndarray, speakers: np.ndarray | None) -> np.ndarray:
        if learner.normalisation == "speaker" and learner.modality in self.priors:
            return adaptation.per_speaker(X, speakers, self.priors[learner.modality], self.prior_clips)
        return normalise(learner.normalisation, X, speakers)

    @property
    def modalities(self) -> list[str]:
        return list(dict.fromkeys(learner.modality for learner in self.learners.values()))

    @property
    def settings(self) -> dict[str, object]:
        """modality -> the settings its learners' features were made with (they share one table)."""
        out: dict[str, object] = {}
        for learner in self.learners.values():
            if out.setdefault(learner.modality, learner.settings) != learner.settings:
                raise ModelError(f"the {learner.modality} models were trained on features made with different "
                                 "settings (run `dvc repro` to retrain them together)")
        return out

    def cross_validated(self) -> dict[str, dict[str, float]]:
        """name -> the outer-fold accuracy, UAR and macro F1 of every learner and fused decision
        `predict` names (read here, not when loading: predict never needs them)."""
        def kept(figures: dict) -> dict[str, float]:
            by_channel = figures.get("accuracy_by", {}).get("channel")  # a fused record splits its takes
            return {k: figures[k] for k in ("accuracy", "uar", "macro_f1")} | (
                {"accuracy_by_channel": by_channel} if by_channel else {})

        out = {learner.name: kept(io.read_json(f"{stem}.json")) for stem, learner in self.learners.items()}
        return out | {f.name: kept(io.read_json(f.figures)["rules"][f.rule_name]) if f.figures else {}
                      for f in self.fused}

    def columns(self, modality: str) -> list[str]:
        """The input columns of `modality`'s learners (they share one feature table)."""
        return next(learner.features for learner in self.learners.values() if learner.modality == modality)

    def unlike_training(self, modality: str, row: np.ndarray, modalities: int = 1) -> str | None:
        """Why one clip's `modality` features are unlike the training takes (its novelty score above the
        threshold calibrated on held-out speakers, for a clip with `modalities` tested), or None."""
        model = self.novelty.get(modality)
        if model is None:
            return None
        score, threshold = float(model.score(row[None])[0]), model.threshold(modalities)
        if not score > threshold:
            return None
        return (f"unlike the training takes: novelty {score:.3g}, above {threshold:.3g} (the flag marks "
                f"{model.flag_rate:.0%} of held-out speakers' clips); the answer stands with a wider set")

    def flagged(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """Per take: whether any of its modalities in `features` is unlike the training takes."""
        tested = {m: self.novelty[m] for m in features if m in self.novelty}
        if not tested:
            return np.zeros(len(next(iter(features.values()))), dtype=bool)
        return novelty.flagged_together({m: model.score(features[m]) for m, model in tested.items()},
                                        {m: model.held_out for m, model in tested.items()},
                                        next(iter(tested.values())).flag_rate)

    def predict(self, features: dict[str, np.ndarray], speakers: np.ndarray | None = None,
                ) -> dict[str, tuple[list[str], np.ndarray]]:
        """name -> (classes, probabilities) for every learner and fused decision.

        `features` maps a modality to a (takes, features) matrix, all with the same takes; an
        all-NaN row is a take without that modality, and gets NaN from that modality's
        learners. A speaker-normalised learner standardises each speaker's rows with that
        speaker's own (`speakers`: one per take). A fused decision falls back to the members
        present for each take; a cross-modal one is left out when only one of its modalities
        is given at all.
        """
        out: dict[str, tuple[list[str], np.ndarray]] = {}
        for learner in self.learners.values():
            if learner.modality in features:
                X = features[learner.modality]
                proba = np.full((len(X), len(learner.classes)), np.nan)
                rows = ~np.isnan(X).all(axis=1)
                if rows.any():
                    groups = None if speakers is None else speakers[rows]
                    proba[rows] = learner.estimator.predict_proba(self._normalised(learner, X[rows], groups))
                out[learner.name] = (learner.classes, proba)
        for fused in self.fused:
            names = [self.learners[s].name for s in fused.stems]
            if sum(bool(set(side) & set(features)) for side in fused.sides) < min(2, len(fused.sides)):
                continue  # a cross-modal decision needs at least two of its sides in play
            n_takes = len(next(iter(features.values())))
            P = np.full((n_takes, len(names), len(fused.classes)), np.nan)
            for m, name in enumerate(names):
                if name in out:
                    classes, proba = out[name]
                    P[:, m] = np.column_stack([proba[:, classes.index(c)] if c in classes else
                                               np.where(np.isnan(proba[:, 0]), np.nan, 0.0) for c in fused.classes])
            proba = np.full((n_takes, len(fused.classes)), np.nan)
            rows = fusion.present(P).any(axis=1)
            if rows.any():
                proba[rows] = fused.rule.predict_proba(P[rows])
            out[fused.name] = (fused.classes, proba)
        return out


def load_run(path: Path = paths.RUN) -> run.Run:
    """The run record `dvc repro` left (models/run.json): what predict and evaluate answer with."""
    try:
        return run.Run.read(path)
    except FileNotFoundError:
        raise ModelError(f"{path} is missing (run `dvc repro`)") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{path} is not a run record of this version ({error}); run `dvc repro`") from None


def load(trained: run.Run, modalities: set[str] | None = None, normalisations: tuple[str, ...] = ("none",),
         all_rules: bool = False) -> Predictor:
    """The learners of the `trained` run and their groups' fusion, as `dvc repro` left them: the
    plain ones and the deployed rule, unless `normalisations` names more and `all_rules` asks for
    every rule; with `modalities`, only those modalities' learners and the groups made of them
    (another's models need not exist)."""
    plan = trained.plan
    wanted = set(plan.modalities) if modalities is None else modalities
    learners = {str(paths.model_stem(m, learner, n)): load_learner(m, learner, n)
                for n in normalisations for m, names in plan.learners.items() if m in wanted for learner in names}
    groups = [g for g in trained.groups if g.normalisation in normalisations and set(g.modalities) <= wanted]
    rules = list(trained.rules) if all_rules else [trained.deploy]
    fused = [fused for g in groups for fused in load_fused(g, learners, rules)]
    plain = {learner.modality: learner.features for learner in learners.values() if learner.normalisation == "none"}
    return Predictor(learners, fused, novelty={m: load_novelty(m, columns) for m, columns in plain.items()})


def load_novelty(modality: str, columns: list[str]) -> novelty.Model:
    """The novelty stage's model of `modality`, refused unless it saw the learners' columns."""
    stem = paths.novelty_stem(modality)
    saved = unpickled(model_file(stem), records.NoveltyFile)
    if not isinstance(saved.novelty, novelty.Model) or saved.features != columns:
        raise ModelError(f"{stem}.joblib is not a novelty model of the {modality} models' features (run `dvc repro`)")
    return saved.novelty

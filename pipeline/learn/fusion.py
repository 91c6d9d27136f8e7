"""Late fusion of class probabilities from several trained models (learners, modalities):
the rules, the groups of models `run` fuses, and a group's evaluation on the outer folds.

Probabilities are stacked as an array `P` of shape (takes, members, classes), NaN where a
member has nothing for a take (an audio-only take has no face model output): every rule
falls back to the members present. Rules that learn (weights, a stacked classifier) are
fitted on probabilities their own test takes never influenced. A rule is `fit(P, y, speakers)`
then `predict_proba(P)`; `speakers` groups the rows for a rule that validates its own settings
(the stacker's C, and `Selected`'s choice among the other rules).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline import checks, paths
from pipeline.learn import evaluation, metrics, records
from pipeline.ingest.corpora import label_order
from pipeline.learn.runplan import RunPlan, model_name
from pipeline.checks import SettingError

FLOOR = 1e-4  # probabilities are floored here before logs: one member's 0 must not veto a class


@dataclass(frozen=True)
class FuseSettings:
    """The `fuse` block: the rules the fuse stage fits, and the one the report, `predict` and
    `evaluate` deploy (None where it is not read: the fuse stage fits every rule, so editing
    `fuse.deploy` refits none)."""

    rules: tuple[str, ...]
    deploy: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.rules, tuple) and self.rules):
            raise SettingError(f"fuse.rules: {self.rules!r} is not allowed; it must be a list of {', '.join(RULES)}")
        unknown = sorted(set(self.rules) - set(RULES))
        if unknown:
            raise SettingError(f"fuse.rules: unknown {', '.join(unknown)}; known: {', '.join(RULES)}")
        if self.deploy is not None and self.deploy not in self.rules:
            raise SettingError(f"fuse.deploy ({self.deploy}) must be one of fuse.rules ({', '.join(self.rules)})")

    @classmethod
    def from_params(cls, params: dict, deployed: bool = True) -> FuseSettings:
        block = params["fuse"]
        checks.only_known("fuse", block, ["rules", "deploy"])
        rules = tuple(block["rules"]) if isinstance(block.get("rules"), list) else block.get("rules")
        return cls(rules, block["deploy"] if deployed else None)


def align(frames: Sequence[pd.DataFrame], takes: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """(takes, members, classes) from each member's `take` + `p_<class>` table; NaN where a member
    lacks the take, 0 where it lacks a class the others know."""
    P = np.full((len(takes), len(frames), len(classes)), np.nan)
    for m, frame in enumerate(frames):
        rows = frame.set_index("take").reindex(list(takes))
        present = rows.index.isin(frame["take"])
        P[present, m] = np.column_stack(
            [rows[f"p_{c}"].to_numpy()[present] if f"p_{c}" in rows else np.zeros(present.sum()) for c in classes]
        )
    return P


def present(P: np.ndarray) -> np.ndarray:
    """(takes, members) True where the member gave probabilities for the take."""
    return ~np.isnan(P).any(axis=2)


def _normalised(scores: np.ndarray) -> np.ndarray:
    return scores / scores.sum(axis=1, keepdims=True)


def _weighted_mean(P: np.ndarray, weights: np.ndarray) -> np.ndarray:
    w = present(P) * weights[None, :]
    return _normalised(np.einsum("tm,tmk->tk", w, np.nan_to_num(P)) / w.sum(axis=1, keepdims=True))


class Rule:
    """The contract of a fusion rule (one entry of `RULES`): `fit(P, y, speakers)` then
    `predict_proba(P)`; `learnt` is what a fitted rule chose (kept in the fuse stage's record of
    the group), `told` says it in a sentence for the report and `evaluate` ("" when it learns
    nothing)."""

    def fit(self, P: np.ndarray, y: np.ndarray, speakers: np.ndarray) -> Rule:
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def learnt(self, stems: tuple[str, ...], per_fold: list[Rule]) -> dict[str, Any]:
        """What the rule refitted on every take chose (`per_fold`: the rule fitted for each outer fold)."""
        return {}

    @staticmethod
    def told(record: dict[str, Any], member: Callable[[str], str]) -> str:
        """`learnt` (in `record`, the rule's figures) as a sentence; `member` names a stem."""
        return ""


class Mean(Rule):
    """The plain average of the members present."""

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        return _weighted_mean(P, np.ones(P.shape[1]))


class Product(Rule):
    """The normalised product of the members present (a geometric mean): confident agreement wins."""

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        logs = np.where(present(P)[:, :, None], np.log(np.clip(np.nan_to_num(P), FLOOR, 1)), 0)
        mean_log = logs.sum(axis=1) / present(P).sum(axis=1, keepdims=True)
        return softmax(mean_log, axis=1)


class Weighted(Rule):
    """A weighted mean, the weights (softmax of free parameters) minimising log-loss on the training rows."""

    weights: np.ndarray

    def fit(self, P: np.ndarray, y: np.ndarray, speakers: np.ndarray) -> Weighted:
        def log_loss(theta: np.ndarray) -> float:
            fused = _weighted_mean(P, softmax(theta))
            return -float(np.mean(np.log(np.clip(fused[np.arange(len(y)), y], FLOOR, 1))))

        self.weights = softmax(minimize(log_loss, np.zeros(P.shape[1]), method="L-BFGS-B").x)
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        return _weighted_mean(P, self.weights)

    def learnt(self, stems: tuple[str, ...], per_fold: list[Rule]) -> dict[str, Any]:
        return {"weights": dict(zip(stems, map(float, self.weights)))}

    @staticmethod
    def told(record: dict[str, Any], member: Callable[[str], str]) -> str:
        return ("Weights of the weighted rule refitted on every take: "
                + ", ".join(f"{member(k)} {v:.2f}" for k, v in record["weights"].items()) + ".")


class Stacked(Rule):
    """A multinomial logistic regression on the members' log-probabilities; a missing member
    reads as the uniform distribution (no evidence). Its regularisation C is the one with the
    lowest speaker-grouped cross-validated log-loss on the training rows: they are all it sees."""

    model: Pipeline
    C: float

    def _inputs(self, P: np.ndarray) -> np.ndarray:
        filled = np.where(present(P)[:, :, None], np.nan_to_num(P), 1 / P.shape[2])
        return np.log(np.clip(filled, FLOOR, 1)).reshape(len(P), -1)

    def fit(self, P: np.ndarray, y: np.ndarray, speakers: np.ndarray) -> Stacked:
        X, n_classes = self._inputs(P), P.shape[2]
        k = min(STACKER_FOLDS, len(np.unique(speakers)))
        folds = evaluation.inner_folds(speakers, k) if k > 1 else []

        def log_loss(C: float) -> float:
            picked = np.concatenate([_class_proba(_logistic(C, X[train], y[train]), X[test], n_classes)
                                     [np.arange(len(test)), y[test]] for train, test in folds])
            return -float(np.mean(np.log(np.clip(picked, FLOOR, 1))))

        self.C = min(STACKER_C, key=log_loss) if folds else 1.0
        self.model = _logistic(self.C, X, y)
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        return _class_proba(self.model, self._inputs(P), P.shape[2])

    def learnt(self, stems: tuple[str, ...], per_fold: list[Rule]) -> dict[str, Any]:
        return {"C": self.C}

    @staticmethod
    def told(record: dict[str, Any], member: Callable[[str], str]) -> str:
        return f"The stacker refitted on every take chose C = {record['C']:g}."


STACKER_C = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
STACKER_FOLDS = 3
# A stacker has a few dozen columns, where Newton-CG's ~10 Hessian-guided steps beat lbfgs's ~80
# gradient steps: `fuse` fits thousands of stackers (`python bench/fusion_solver.py`).
STACKER_SOLVER = "newton-cg"


def _logistic(C: float, X: np.ndarray, y: np.ndarray) -> Pipeline:
    """Standardised inputs: log-probabilities span [-9, 0], on which the stacker converged 20x slower
    (measured with lbfgs, its solver then)."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, solver=STACKER_SOLVER, max_iter=2000)).fit(X, y)


def _class_proba(model: Pipeline, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all `n_classes`, 0 for a class the model's training rows lacked."""
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    return proba


class Selected(Rule):
    """Whichever of the other rules has the highest unweighted average recall on speaker-grouped
    folds of the rows it is fitted on (ties go to the simpler rule), refitted on all of them: the
    choice of rule is learnt like any other setting, never read off the test speakers' results."""

    CANDIDATES = ("mean", "product", "weighted", "stacked")  # simplest first
    chosen: str
    rule: Rule

    def fit(self, P: np.ndarray, y: np.ndarray, speakers: np.ndarray) -> Selected:
        k = min(STACKER_FOLDS, len(np.unique(speakers)))
        folds = evaluation.inner_folds(speakers, k) if k > 1 else []

        def uar(name: str) -> float:
            predicted = np.empty(len(y), dtype=int)
            for train, test in folds:
                predicted[test] = RULES[name]().fit(P[train], y[train], speakers[train]).predict_proba(P[test]).argmax(1)
            return float(balanced_accuracy_score(y, predicted))

        scores = {name: uar(name) for name in self.CANDIDATES} if folds else {"mean": 0.0}
        self.chosen = max(scores, key=lambda name: (round(scores[name], 4), -self.CANDIDATES.index(name)))
        self.rule = RULES[self.chosen]().fit(P, y, speakers)
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        return self.rule.predict_proba(P)

    def learnt(self, stems: tuple[str, ...], per_fold: list[Rule]) -> dict[str, Any]:
        return {"chosen": self.chosen, "chosen_per_fold": [r.chosen for r in per_fold]}

    @staticmethod
    def told(record: dict[str, Any], member: Callable[[str], str]) -> str:
        return (f"`selected` chose {', '.join(record['chosen_per_fold'])} in the outer folds and {record['chosen']} "
                "on every take.")


RULES: dict[str, type[Rule]] = {"mean": Mean, "weighted": Weighted, "product": Product, "stacked": Stacked,
                                "selected": Selected}


def cross_validate(
    rule: str, P_outer: np.ndarray, fold: np.ndarray, P_inner: np.ndarray, y_inner: np.ndarray,
    speakers_inner: np.ndarray, inner_fold: np.ndarray,
) -> tuple[np.ndarray, list[Rule]]:
    """Fused out-of-fold probabilities, and the rule fitted for each outer fold: on the inner
    out-of-fold rows of that fold's training part (`inner_fold == f`), applied to its test takes."""
    fused = np.full(P_outer.shape[::2], np.nan)
    fitted = []
    for f in np.unique(fold):
        rows = inner_fold == f
        fitted.append(RULES[rule]().fit(P_inner[rows], y_inner[rows], speakers_inner[rows]))
        fused[fold == f] = fitted[-1].predict_proba(P_outer[fold == f])
    return fused, fitted


@dataclass(frozen=True)
class Group:
    """Models fused together: their stems, and what the group is called in the report. A group of
    several modalities fuses the corpora that have takes on more than one of its `sides` (by
    default each modality is a side; voices+face: the voices are one)."""

    modalities: tuple[str, ...]
    normalisation: str
    stems: tuple[str, ...]
    sides: tuple[tuple[str, ...], ...] = ()

    @property
    def name(self) -> str:
        return model_name("+".join(self.modalities), "fused", self.normalisation)

    @property
    def slug(self) -> str:
        return f"{'+'.join(self.modalities)}-{self.normalisation}"


def groups(plan: RunPlan) -> list[Group]:
    """Per normalisation: each modality's learners (when there are several); every voice
    modality's learners together (when there are several voices: the feature sets of the voice
    fused); and for each face modality, every voice learner with every learner of that face
    (audio+face for videos, audio+au for action units)."""
    out = []
    for normalisation in plan.normalisations:
        stems = {m: [str(paths.model_stem(m, learner, normalisation)) for learner in learners]
                 for m, learners in plan.learners.items()}
        out += [Group((m,), normalisation, tuple(stems[m])) for m in plan.modalities if len(stems[m]) > 1]
        voices = plan.of_kind("voice")
        voice_stems = [s for m in voices for s in stems[m]]
        if len(voices) > 1:
            out.append(Group(tuple(voices), normalisation, tuple(voice_stems)))
        if voices:
            out += [Group((*voices, f), normalisation, tuple(voice_stems + stems[f]), (tuple(voices), (f,)))
                    for f in plan.of_kind("face")]
    return out


TAKE_COLUMNS = ["take", "corpus", "speaker", "label", "channel", "intensity", "fold"]


@dataclass
class GroupData:
    """One group's probabilities, aligned: outer rows (one per take) and inner rows (per outer fold)."""

    takes: pd.DataFrame  # TAKE_COLUMNS
    classes: list[str]
    y: np.ndarray
    P: np.ndarray  # (takes, members, classes), outer out-of-fold
    y_inner: np.ndarray
    speakers_inner: np.ndarray
    P_inner: np.ndarray  # (rows, members, classes), inner out-of-fold
    inner_fold: np.ndarray  # the outer fold whose training part each inner row belongs to


def gather(group: Group, oofs: list[pd.DataFrame], inners: list[pd.DataFrame]) -> GroupData | None:
    """Align a group's members; a cross-modal group keeps the corpora that have takes on more than
    one of its sides (None if there are none)."""
    modality_of = [Path(stem).parent.name for stem in group.stems]
    takes = pd.concat(oofs)[TAKE_COLUMNS].drop_duplicates("take").reset_index(drop=True)
    if len(group.modalities) > 1:
        corpora = [set().union(*(set(o["corpus"]) for o, m in zip(oofs, modality_of) if m in side))
                   for side in group.sides or [(m,) for m in group.modalities]]
        shared = {c for c in set(takes["corpus"]) if sum(c in s for s in corpora) > 1}
        takes = takes[takes["corpus"].isin(shared)].reset_index(drop=True)
        if takes.empty:
            return None
    classes = label_order({c.removeprefix("p_") for o in oofs for c in o.columns if c.startswith("p_")})
    code = {c: i for i, c in enumerate(classes)}
    label_of, speaker_of = takes.set_index("take")["label"], takes.set_index("take")["speaker"]
    parts = [(f, sorted(set().union(*(set(i.loc[i["fold"] == f, "take"]) for i in inners)) & set(label_of.index)))
             for f in np.unique(takes["fold"])]
    return GroupData(
        takes, classes, takes["label"].map(code).to_numpy(), align(oofs, takes["take"], classes),
        np.concatenate([label_of[part].map(code).to_numpy() for _, part in parts]),
        np.concatenate([speaker_of[part].to_numpy() for _, part in parts]),
        np.concatenate([align([i[i["fold"] == f] for i in inners], part, classes) for f, part in parts]),
        np.concatenate([np.full(len(part), f) for f, part in parts]),
    )


def fuse_group(
    group: Group, oofs: list[pd.DataFrame], inners: list[pd.DataFrame], rules: tuple[str, ...],
    heards: list[pd.DataFrame] | None = None,
) -> tuple[dict, pd.DataFrame, records.FusionFile, pd.DataFrame] | None:
    """Figures, fused out-of-fold table, deployable rules and fused table of the takes heard under
    other conditions of one group, from its members' outer (`oofs`), inner (`inners`) and
    conditions (`heards`: take, condition, p_<class>) tables; None when `gather` finds no take.

    Fold f's rule is fitted on the inner rows of fold f's training part (and fuses that fold's
    test takes under every condition too); the deployable rules are refitted on every take's
    outer out-of-fold probabilities.
    """
    data = gather(group, oofs, inners)
    if data is None:
        return None
    takes, classes, y, P = data.takes, data.classes, data.y, data.P
    fold, speakers = takes["fold"].to_numpy(), takes["speaker"].to_numpy()
    modality_of = [Path(stem).parent.name for stem in group.stems]
    available = present(P)
    carried = pd.Series(["+".join(m for m in group.modalities if m in {modality_of[k] for k in np.flatnonzero(row)})
                         for row in available])
    figures: dict[str, Any] = {**describe(group), "classes": classes,
                               "modalities_present": carried.value_counts().to_dict()}
    for m, stem in enumerate(group.stems):
        rows = available[:, m]
        figures["members"][stem] = _figures(y[rows], P[rows, m], classes, takes[rows])
    complete = available.all(axis=1)
    tables, deployable, heard_tables = [], {}, []
    heard = heard_takes(heards or [], takes)
    P_heard = align([h.assign(take=h["take"] + KEY + h["condition"]) for h in heards or []], heard["key"], classes)
    for rule in rules:
        fused, per_fold = cross_validate(rule, P, fold, data.P_inner, data.y_inner, data.speakers_inner, data.inner_fold)
        fused_heard = np.full(P_heard.shape[::2], np.nan)
        for f, fitted in zip(np.unique(fold), per_fold):
            rows = (heard["fold"] == f).to_numpy() & present(P_heard).any(axis=1)
            if rows.any():
                fused_heard[rows] = fitted.predict_proba(P_heard[rows])
        heard_tables.append(heard.drop(columns="key").assign(
            rule=rule, **{f"p_{c}": fused_heard[:, k] for k, c in enumerate(classes)}))
        figures["rules"][rule] = _figures(y, fused, classes, takes)
        if len(group.modalities) > 1 and complete.any():
            figures["rules"][rule]["accuracy_all_modalities"] = float(np.mean(fused[complete].argmax(1) == y[complete]))
        tables.append(takes.assign(rule=rule, carried=carried, **{f"p_{c}": fused[:, k] for k, c in enumerate(classes)}))
        deployable[rule] = RULES[rule]().fit(P, y, speakers)
        figures["rules"][rule].update(deployable[rule].learnt(group.stems, per_fold))
    table = pd.concat(tables, ignore_index=True)
    table["predicted"] = [classes[i] for i in table[[f"p_{c}" for c in classes]].to_numpy().argmax(axis=1)]
    return figures, table, records.FusionFile(list(group.stems), classes, deployable), pd.concat(
        heard_tables, ignore_index=True)


KEY = "\x1f"  # joins a take and a condition into one row key (no take or condition name holds it)


def heard_takes(heards: list[pd.DataFrame], takes: pd.DataFrame) -> pd.DataFrame:
    """The (take, condition) rows any member scored, of the group's takes, with their take's speaker,
    label and fold, and the key `align` joins them by."""
    keys = pd.concat([h[["take", "condition"]] for h in heards] or [pd.DataFrame(columns=["take", "condition"])])
    rows = keys.drop_duplicates().merge(takes[["take", "speaker", "label", "fold"]], on="take")
    rows = rows.sort_values(["take", "condition"], kind="stable").reset_index(drop=True)
    return rows.assign(key=rows["take"] + KEY + rows["condition"])


def describe(group: Group) -> dict:
    """What the report needs to name a group, with no figures yet."""
    return {"name": group.name, "slug": group.slug, "modalities": list(group.modalities),
            "normalisation": group.normalisation, "members": {}, "rules": {}}


SPLIT_COLUMNS = ("channel", "intensity")


def _figures(y: np.ndarray, proba: np.ndarray, classes: list[str], takes: pd.DataFrame) -> dict:
    """The metrics of every model, plus accuracy on the test takes of each channel and intensity."""
    correct = pd.Series(proba.argmax(axis=1) == y, index=takes.index)
    by = {column: correct.groupby(takes[column]).mean().to_dict() for column in SPLIT_COLUMNS}
    figures = metrics.figures(y, proba, classes, takes["speaker"].to_numpy(), takes["fold"].to_numpy())
    return {**figures, "n_takes": int(len(y)), "accuracy_by": by}

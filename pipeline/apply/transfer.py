"""The truth across corpora: the trained models scored on a corpus they never trained on.

Each side of the answer (the voice: every voice modality's deployed decision; each face modality
extracted from video or images) is scored on the takes of the other corpus that it never
trained on (by name and by content, as `evaluate` leaves them out), plain and speaker-normalised
(each speaker standardised with that speaker's own takes, as in training) and corpus-normalised
(the speaker-normalised models with every take of the corpus standardised as one batch: what a
user with a folder of clips from one recording setup and no speaker names can do), on the
emotions the models know; beside it, the same decision's cross-validated figure on its own corpora.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import checks
from pipeline.apply import ensemble, scoring, seen
from pipeline.errors import InputError
from pipeline.ingest.corpora import registry
from pipeline.learn.run import Run


@dataclass(frozen=True)
class Source:
    """One `cross_corpus` entry: a named corpus's root (a side scores only the takes it never trained on)."""

    corpus: str
    path: str

    def __post_init__(self) -> None:
        checks.check("cross_corpus", self, [
            ("corpus", f"a corpus adapter ({', '.join(registry.ADAPTERS)})", lambda s: s.corpus in registry.ADAPTERS),
            ("path", "a folder or zip archive", lambda s: isinstance(s.path, str) and bool(s.path)),
        ])

    @classmethod
    def from_params(cls, key: str, params: dict) -> Source:
        return checks.from_block(f"cross_corpus.{key}", cls, (params.get("cross_corpus") or {}).get(key))


def sides(trained: Run) -> dict[str, tuple[str, ...]]:
    """The answer's sides a clip's own files give: the voices together, each face read from video
    or images (a face measured elsewhere needs its table, and is left out)."""
    plan = trained.plan
    out = {"voice": tuple(plan.of_kind("voice"))} if plan.of_kind("voice") else {}
    for face in plan.of_kind("face"):
        if trained.reads(face) == "video_path":
            out[f"face_{face}"] = (face,)
    return out


def decision_of(predictor: ensemble.Predictor, rule: str, normalisation: str) -> str:
    """The name of the side's decision under `rule`: its widest fused group's, or its one learner."""
    fused = [f.name for f in predictor.fused if f.rule_name == rule
             and all(predictor.learners[s].normalisation == normalisation for s in f.stems)]
    if fused:
        return fused[-1]
    return next(learner.name for learner in predictor.learners.values() if learner.normalisation == normalisation)


CORPUS_BATCH = "corpus"  # the record's key for the speaker-normalised models given the corpus as one batch


def side_figures(trained: Run, takes: pd.DataFrame, modalities: tuple[str, ...], root: str,
                 ) -> dict[str, dict[str, Any]] | None:
    """Per fusion rule, the side's decision under it (plain, speaker-normalised and corpus-normalised)
    on the takes it never trained on; None when it trained on every take, none carries it, or none is
    of an emotion it knows. Every rule is scored, so the report shows the deployed one whichever it is."""
    plan = trained.plan
    carried = [m for m in modalities if takes[trained.reads(m)].notna().any()]
    if not carried:
        return None
    predictor = ensemble.load(trained, set(carried), plan.normalisations, all_rules=True)
    try:
        fresh, n_trained, n_copied = seen.unseen(takes, seen.Training.of(predictor), root)
    except InputError:
        return None
    settings = predictor.settings
    X = {m: scoring.features_of_takes(fresh, m, settings[m])[0] for m in carried}
    by_speaker = predictor.predict(X, fresh["speaker"].to_numpy())
    flagged = predictor.flagged(X)
    ways = {normalisation: (normalisation, by_speaker) for normalisation in plan.normalisations}
    if "speaker" in plan.normalisations:
        ways[CORPUS_BATCH] = ("speaker", predictor.predict(X, np.full(len(fresh), CORPUS_BATCH)))
    cross_validated = predictor.cross_validated()
    measured: dict[tuple[str, str], dict[str, Any] | None] = {}  # a decision in several rules is scored once
    out: dict[str, dict[str, Any]] = {}
    for rule in trained.rules:
        found = {}
        for way, (normalisation, outputs) in ways.items():
            name = decision_of(predictor, rule, normalisation)
            if (way, name) not in measured:
                measured[way, name] = _figures(name, *outputs[name], fresh, flagged, cross_validated[name],
                                               normalisation == "none")
            if measured[way, name] is not None:
                found[way] = measured[way, name]
        if found:
            out[rule] = found | {"left_out_trained": n_trained + n_copied}
    return out or None


def _figures(name: str, classes: list[str], probabilities: np.ndarray, fresh: pd.DataFrame, flagged: np.ndarray,
             cross_validated: dict[str, Any], plain: bool) -> dict[str, Any] | None:
    """One decision's figures on the takes (None: no take of an emotion it knows)."""
    known = ~np.isnan(probabilities).any(axis=1) & fresh["label"].isin(classes).to_numpy()
    if not known.any():
        return None
    figures = scoring.score(classes, probabilities, fresh, flagged)
    return {
        "decision": name, "n_takes": int(known.sum()), "n_speakers": int(fresh.loc[known, "speaker"].nunique()),
        **{k: figures[k] for k in ("accuracy", "uar", "accuracy_ci", "uar_ci")},
        "most_predicted": figures["top_answer"], "most_predicted_share": figures["top_answer_share"],
        "emotions": sorted(set(fresh.loc[known, "label"])),
        "labels_left_out": figures["left_out"],
        "within": {k: cross_validated[k] for k in ("accuracy", "uar")},
    } | ({"flagged_share": figures["flagged_share"]} if plain else {})


def scored(trained: Run, ingest: dict, source: Source) -> dict[str, Any]:
    """Per fusion rule, every side's figures on the corpus at `source` (sides it cannot score left
    out), and the rejects' count; `ingest`: the ingest block (what a take must be to be scored)."""
    takes, rejects = scoring.labelled_takes(source.path, source.corpus, ingest["silence_dbfs"], ingest["max_take_mb"])
    found = {side: side_figures(trained, takes, modalities, source.path) for side, modalities in sides(trained).items()}
    return {"corpus": source.corpus, "path": source.path, "n_takes": len(takes),
            "n_rejected": int((rejects["outcome"] != "kept").sum()),
            "by_rule": {rule: {side: by_rule[rule] for side, by_rule in found.items() if by_rule and rule in by_rule}
                        for rule in trained.rules}}

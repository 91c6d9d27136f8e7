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


def deployed(predictor: ensemble.Predictor, deploy: str, normalisation: str) -> str:
    """The name of the side's deployed decision: its widest fused group's `deploy` rule, or its one learner."""
    fused = [f.name for f in predictor.fused if f.rule_name == deploy
             and all(predictor.learners[s].normalisation == normalisation for s in f.stems)]
    if fused:
        return fused[-1]
    return next(learner.name for learner in predictor.learners.values() if learner.normalisation == normalisation)


CORPUS_BATCH = "corpus"  # the record's key for the speaker-normalised models given the corpus as one batch


def side_figures(trained: Run, takes: pd.DataFrame, modalities: tuple[str, ...], root: str) -> dict[str, Any] | None:
    """The side's deployed decisions (plain, speaker-normalised and corpus-normalised) on the takes it
    never trained on; None when it trained on every take, none carries it, or none is of an emotion it knows."""
    plan = trained.plan
    carried = [m for m in modalities if takes[trained.reads(m)].notna().any()]
    if not carried:
        return None
    predictor = ensemble.load(trained, set(carried), plan.normalisations)
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
    deploy = trained.deploy
    out: dict[str, Any] = {}
    for way, (normalisation, outputs) in ways.items():
        name = deployed(predictor, deploy, normalisation)
        classes, probabilities = outputs[name]
        known = ~np.isnan(probabilities).any(axis=1) & fresh["label"].isin(classes).to_numpy()
        if not known.any():  # no take of an emotion it knows
            continue
        figures = scoring.score(classes, probabilities, fresh, flagged)
        out[way] = {
            "decision": name, "n_takes": int(known.sum()), "n_speakers": int(fresh.loc[known, "speaker"].nunique()),
            **{k: figures[k] for k in ("accuracy", "uar", "accuracy_ci", "uar_ci")},
            "most_predicted": figures["top_answer"], "most_predicted_share": figures["top_answer_share"],
            "emotions": sorted(set(fresh.loc[known, "label"])),
            "labels_left_out": figures["left_out"],
            "within": {k: cross_validated[name][k] for k in ("accuracy", "uar")},
        } | ({"flagged_share": figures["flagged_share"]} if normalisation == "none" else {})
    return out | {"left_out_trained": n_trained + n_copied} if out else None


def scored(trained: Run, ingest: dict, source: Source) -> dict[str, Any]:
    """Every side's figures on the corpus at `source` (sides it cannot score left out), and the
    rejects' count; `ingest`: the ingest block (what a take must be to be scored)."""
    takes, rejects = scoring.labelled_takes(source.path, source.corpus, ingest["silence_dbfs"], ingest["max_take_mb"])
    found = {side: side_figures(trained, takes, modalities, source.path) for side, modalities in sides(trained).items()}
    return {"corpus": source.corpus, "path": source.path, "n_takes": len(takes),
            "n_rejected": int((rejects["outcome"] != "kept").sum()),
            "sides": {side: figures for side, figures in found.items() if figures is not None}}

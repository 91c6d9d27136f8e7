"""Scoring trained models on labelled takes they never trained on: what the `evaluate` command
and the cross_corpus stages share. The takes of a corpus or table (no selection, no hold-out),
their features as each model's settings make them, and the figures of one model on them (with
chance, the commonest answer's share and the labels it does not know)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import InputError
from pipeline.extract import extractors
from pipeline.extract.batch import extract
from pipeline.ingest import manifest, rejected, sources
from pipeline.ingest.corpora import table
from pipeline.learn import metrics
from pipeline.report import intervals


def labelled_takes(
    root: str, corpus: str, silence_dbfs: float, max_take_mb: float, spec: table.TableSpec | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every labelled take of `corpus` under `root`, or in the table `spec` (no selection, no
    hold-out), and the rejects."""
    found = sources.scan_roots([] if spec else [root])
    if not (found.clips or spec):
        raise InputError(f"{root}: {'; '.join(reason for _, reason in found.problems) or 'no files'}")
    takes, rejects = manifest.build({} if spec else {corpus: found.clips}, manifest.Selection.everything(),
                                    silence_dbfs, max_take_mb, {corpus: spec} if spec else None)
    left_out = rejected.table([rejected.reject(path, reason) for path, reason in found.problems])
    rejects = pd.concat([left_out, rejects], ignore_index=True)
    if takes.empty:
        examples = "; ".join(f"{sources.name(p)}: {r}" for p, r in zip(rejects["path"][:3], rejects["reason"][:3]))
        if spec:
            raise InputError(f"{root}: no usable row ({len(rejects)} refused{', e.g. ' + examples if examples else ''})")
        raise InputError(f"no {corpus} takes under {root} ({len(rejects)} files refused, e.g. {examples}): "
                           "is --corpus right?")
    spoken = takes["channel"].isna() & takes["audio_path"].notna()  # corpora without RAVDESS's channel code speak
    takes["channel"] = takes["channel"].astype(object).where(~spoken, "speech")
    return takes, rejects


SPLITS = {"channel": "vocal channel", "intensity": "intensity"}  # as the main report splits the test takes


def score(classes: list[str], probabilities: np.ndarray, takes: pd.DataFrame, flagged: np.ndarray | None = None,
          ) -> dict:
    """Figures on the takes a model gave probabilities for and whose label it knows (with accuracy
    per vocal channel and intensity, where the takes have them, the counts of labels it does not
    know, and with `flagged` (per take) the share of them the novelty flag marks)."""
    rows = ~np.isnan(probabilities).any(axis=1)
    given, proba = takes[rows], probabilities[rows]
    known = given["label"].isin(classes).to_numpy()
    left_out = given.loc[~known, "label"].value_counts()
    y = given.loc[known, "label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    groups = given.loc[known, "speaker"].to_numpy()
    figures = metrics.figures(y, proba[known], classes, groups, np.zeros(len(y), dtype=int))
    guess = proba[known].argmax(axis=1)
    bounds = intervals.interval(y, guess, groups)
    figures |= {f"{k}_ci": [bounds[k].low, bounds[k].high] for k in ("accuracy", "uar")}
    answers = pd.Series(guess).map(dict(enumerate(classes))).value_counts()
    figures |= {"chance_uar": 1 / len(figures["classes_present"]) if len(y) else np.nan,
                "top_answer": str(answers.index[0]) if len(y) else "",
                "top_answer_share": float(answers.iloc[0] / len(y)) if len(y) else np.nan,
                "left_out": {str(label): int(n) for label, n in left_out.items()}}
    if flagged is not None:
        figures["flagged_share"] = float(np.asarray(flagged)[rows][known].mean())
    correct = pd.Series(guess == y)
    figures["accuracy_by"] = {}
    for column in SPLITS:
        by = correct.groupby(given.loc[known, column].to_numpy()).agg(["mean", "size"])
        figures["accuracy_by"][column] = {value: (float(r["mean"]), int(r["size"])) for value, r in by.iterrows()}
    return figures


def same_channels(figures: dict, cross_validated: dict) -> tuple[float, str]:
    """The cross-validated accuracy on the same kind of takes as these (each vocal channel weighted
    by its takes here: speech against speech, song against song), and which kind that is; the
    whole outer-fold figure where the model's record has no split by channel."""
    here = figures["accuracy_by"].get("channel", {})
    there = cross_validated.get("accuracy_by_channel", {})
    shared = {channel: n for channel, (_, n) in here.items() if channel in there}
    if not shared:
        return cross_validated["accuracy"], "all"
    value = sum(n * there[channel] for channel, n in shared.items()) / sum(shared.values())
    return value, " and ".join(sorted(shared))


def features_of_takes(
    takes: pd.DataFrame, modality: str, settings: object
) -> tuple[np.ndarray, pd.DataFrame]:
    """(takes, features) for one modality, all-NaN rows where a take lacks it or extraction failed,
    and the failures as rejects."""
    extractor = extractors.of(settings)
    column = extractor.reads
    carrying = np.flatnonzero(takes[column].notna().to_numpy())
    n_features = len(extractor.names(settings))
    X = np.full((len(takes), n_features), np.nan)
    found, failures = extract(extractor.per_file, takes[column].iloc[carrying].tolist(), settings, n_features,
                              f"{modality} features", cached=True)
    X[carrying] = found
    X[carrying[list(failures)]] = np.nan
    rejects = rejected.table(
        [rejected.reject(takes[column].iloc[carrying[i]], reason) for i, reason in failures.items()])
    return X, rejects

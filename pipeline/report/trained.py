"""What the train and fuse stages left, as the report reads it: each learner's summary and
out-of-fold table, a fusion group's table under one rule, the decision a set of modalities makes
on its own, the novelty stages' held-out scores; and what is derived from them (a model's figures
on a subset of takes, its guesses, accuracy per channel, which takes the novelty flag marks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import io, paths
from pipeline.learn import metrics, novelty
from pipeline.learn.runplan import model_name
from pipeline.report import formatting


@dataclass
class LearnerResult:
    """One trained learner: its figures (`<learner>.json`) and out-of-fold predictions."""

    modality: str
    learner: str
    normalisation: str
    summary: dict[str, Any]
    oof: pd.DataFrame

    @property
    def name(self) -> str:
        return model_name(self.modality, self.learner, self.normalisation)

    @property
    def slug(self) -> str:
        return f"{self.modality}_{self.learner}-{self.normalisation}"


def accuracy_by(result: LearnerResult, column: str) -> pd.Series:
    """Out-of-fold accuracy of the test takes grouped by a manifest column (e.g. channel)."""
    correct = result.oof["label"] == result.oof["predicted"]
    return correct.groupby(result.oof[column]).mean()


def results_table(results: list[LearnerResult]) -> pd.DataFrame:
    """One row per learner; per-channel columns when the test takes have a vocal channel, and
    per-corpus columns when they come from several corpora."""
    rows = []
    for r in results:
        s = r.summary
        splits = accuracy_by(r, "channel").to_dict()
        if r.oof["corpus"].nunique() > 1:
            splits.update(accuracy_by(r, "corpus").to_dict())
        rows.append(
            {
                "learner": r.name,
                "accuracy": f"{formatting.pct(s['accuracy'])} ± {formatting.pct(s['fold_accuracy_std'])}",
                "UAR": f"{formatting.pct(s['uar'])} ± {formatting.pct(s['fold_uar_std'])}",
                "macro F1": formatting.pct(s["macro_f1"]),
                "top-3": formatting.pct(s["top3_accuracy"]),
                **{name: formatting.pct(value) for name, value in splits.items()},
                "permuted labels": formatting.pct(np.mean([f["permuted_accuracy"] for f in s["folds"]]))
                if "permuted_accuracy" in s["folds"][0] else "not run",
            }
        )
    return pd.DataFrame(rows)


def _rows(oof: pd.DataFrame, takes: pd.Index, classes: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """One model's out-of-fold rows (take, label, speaker, fold, p_<class>) of `takes`, and their
    probabilities over `classes` (0 for a class the model never learnt)."""
    rows = oof.set_index("take").loc[takes]
    return rows, np.column_stack([rows[f"p_{c}"] if f"p_{c}" in rows else np.zeros(len(rows)) for c in classes])


def subset_figures(oof: pd.DataFrame, takes: pd.Index, classes: list[str]) -> dict[str, Any]:
    """Metrics of one model's out-of-fold table on `takes`."""
    rows, proba = _rows(oof, takes, classes)
    y = rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return metrics.figures(y, proba, classes, rows["speaker"].to_numpy(), rows["fold"].to_numpy())


def guesses(oof: pd.DataFrame, takes: pd.Index, classes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, most probable class, speakers) of one model's out-of-fold table on `takes`."""
    rows, proba = _rows(oof, takes, classes)
    return rows["label"].to_numpy(), np.asarray(classes)[proba.argmax(axis=1)], rows["speaker"].to_numpy()


def figures_row(name: str, s: dict[str, Any]) -> dict[str, str]:
    return {
        "model": name,
        "takes": str(s["n_takes"]),
        "accuracy": f"{formatting.pct(s['accuracy'])} ± {formatting.pct(s['fold_accuracy_std'])}",
        "UAR": f"{formatting.pct(s['uar'])} ± {formatting.pct(s['fold_uar_std'])}",
        "macro F1": formatting.pct(s["macro_f1"]),
        "top-3": formatting.pct(s["top3_accuracy"]),
    }


def accuracy_by_channel(oof: pd.DataFrame, takes: pd.Index) -> pd.Series:
    rows = oof.set_index("take").loc[takes]
    return (rows["label"] == rows["predicted"]).groupby(rows["channel"]).mean()


def load_result(stem: str | Path, modality: str, learner: str, normalisation: str) -> LearnerResult:
    summary, oof = io.read_json(f"{stem}.json"), pd.read_parquet(f"{stem}.oof.parquet")
    return LearnerResult(modality, learner, normalisation, summary, oof)


def fused_rows(slug: str, rule: str) -> pd.DataFrame | None:
    """The out-of-fold rows of fusion group `slug` under `rule`; None if the fuse stage wrote none."""
    path = Path(f"{paths.fusion_stem(slug)}.oof.parquet")
    if not path.exists():
        return None
    table = pd.read_parquet(path)
    return table[table["rule"] == rule]


def deployed_alone(
    modalities: tuple[str, ...], normalisation: str, results: list[LearnerResult], deploy: str
) -> tuple[str, pd.DataFrame]:
    """(row name, out-of-fold table) of the decision `modalities` make on their own: their fused
    group's deployed rule, or their one learner."""
    fused = fused_rows(f"{'+'.join(modalities)}-{normalisation}", deploy)
    if fused is not None:
        return f"{'+'.join(modalities)}/fused ({deploy})", fused
    (only,) = [r for r in results if r.modality in modalities and r.normalisation == normalisation]
    return f"{only.modality}/{only.learner}", only.oof


def heard_alone(modalities: tuple[str, ...], normalisation: str, results: list[LearnerResult], deploy: str,
                ) -> pd.DataFrame:
    """The rows of the decision `modalities` make on their own (as `deployed_alone`) on the sampled
    takes under each recording condition (empty where none were heard)."""
    slug = f"{'+'.join(modalities)}-{normalisation}"
    if Path(f"{paths.fusion_stem(slug)}.oof.parquet").exists():
        path = Path(f"{paths.fusion_stem(slug)}.conditions.parquet")
        table = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=["rule"])
        return table[table["rule"] == deploy]
    (only,) = [r for r in results if r.modality in modalities and r.normalisation == normalisation]
    path = Path(f"{paths.model_stem(only.modality, only.learner, normalisation)}.conditions.parquet")
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def learner_rows(modalities: tuple[str, ...], normalisation: str, results: list[LearnerResult]) -> dict:
    return {f"{r.modality}/{r.learner}": r.oof for r in results
            if r.modality in modalities and r.normalisation == normalisation}


def held_out_scores(modalities: tuple[str, ...] | list[str]) -> tuple[dict[str, pd.Series], float]:
    """Each modality's held-out novelty scores by take (the novelty stages' out-of-fold tables) and the flag rate."""
    scores = {m: pd.read_parquet(f"{paths.novelty_stem(m)}.oof.parquet").set_index("take")["score"] for m in modalities}
    return scores, io.read_json(f"{paths.novelty_stem(modalities[0])}.json")["flag_rate"]


def flagged_where_all(scored: dict[str, pd.Series], held_out: dict[str, pd.Series], rate: float) -> pd.Series:
    """For each row every modality scored (their scores joined on the index): whether the novelty
    flag marks it, each modality tested against its held-out scores at the rate their number leaves."""
    carried = pd.concat(scored.values(), axis=1, join="inner", keys=list(scored))
    sorted_out = {m: np.sort(held_out[m].to_numpy()) for m in scored}
    flagged = novelty.flagged_together({m: carried[m].to_numpy() for m in scored}, sorted_out, rate)
    return pd.Series(flagged, index=carried.index)

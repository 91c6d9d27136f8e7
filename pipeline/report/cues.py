"""The report's section on what the models listen and look at: permutation importance of each
measured modality's learners on the outer folds (the importance stage's tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.learn import importance
from pipeline.report import charts, formatting, registry

SHOWN = 5  # families named per modality in the report; every family is in the details


def by_family(table: pd.DataFrame) -> pd.DataFrame:
    """Per family, the mean fall (over learners and folds, in accuracy and in each emotion's recall),
    its fold range, and whether it fell in every fold; most important first."""
    shuffled = table[table["family"] != importance.BASELINE]
    per_fold = shuffled.groupby(["family", "fold"])["accuracy"].mean().unstack()
    recall = [c for c in table.columns if c.startswith("recall_")]
    out = shuffled.groupby("family")[["accuracy", *recall]].mean()
    out["fold_low"], out["fold_high"] = per_fold.min(axis=1), per_fold.max(axis=1)
    out["every_fold"] = (per_fold > 0).all(axis=1)
    out["columns"] = shuffled.groupby("family")["columns"].first()
    return out.sort_values("accuracy", ascending=False)


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def _named(family: str, row: pd.Series) -> str:
    return f"{family} {_points(row['accuracy'])}{'' if row['every_fold'] else ' (not in every fold)'}"


def section(tables: dict[str, pd.DataFrame], figures: Path) -> tuple[str, str, dict[str, Any]]:
    """The report's Markdown, the details file's and the figures of every modality's importance table."""
    rows, details, found = [], [], {}
    for modality, table in tables.items():
        families = by_family(table)
        base = table[table["family"] == importance.BASELINE]["accuracy"].mean()
        png = figures / f"importance-{modality}.png"
        charts.importance_figure(families, modality, png)
        learners = ", ".join(table["learner"].unique())
        rows.append({"modality": modality, "learners": learners, "accuracy unshuffled (its learners' mean)": formatting.pct(base),
                     f"the {SHOWN} families it leans on most (fall in accuracy, points)":
                     "; ".join(_named(f, r) for f, r in families.head(SHOWN).iterrows())})
        recall = [c for c in families.columns if c.startswith("recall_")]
        shown = pd.DataFrame({
            "family": families.index.to_numpy(), "columns": families["columns"].astype(int),
            "accuracy": families["accuracy"].map(_points),
            "fold range": [f"{_points(lo)} to {_points(hi)}" for lo, hi in zip(families["fold_low"], families["fold_high"])],
            **{c.removeprefix("recall_"): families[c].map(_points) for c in recall},
        }).reset_index(drop=True)
        details += [f"## {modality} ({learners})", "", f"![importance of {modality}](figures/{png.name})", "",
                    formatting.table(shown), ""]
        found[modality] = {"accuracy_unshuffled": float(base),
                           **{f: float(r["accuracy"]) for f, r in families.iterrows()}}
    method = (
        "Each learner refit on every outer training part with the point that fold's search chose; one feature "
        "family at a time (the columns one measurement gave, whatever pooled them) shuffled across the fold's "
        "test speakers' takes; the fall in accuracy, in points, is the mean over learners, folds and shuffles. "
        "A family that falls by about 0 is one the models do without on new speakers (another family may "
        "carry the same information).")
    markdown = "\n".join([
        "## What the models listen and look at", "", method, "",
        formatting.table(pd.DataFrame(rows)), "",
        *[line for m in tables for line in (f"![importance of {m}](figures/importance-{m}.png)", "")],
        "Each family's fall per emotion: [details/importance.md](details/importance.md).", "",
    ])
    detail = "\n".join(["# What the models listen and look at: every feature family", "", method + " Per "
                        "emotion: the fall in that emotion's recall.", "", *details])
    return markdown, detail, found


@registry.section("importance", place=50)
def part(inputs: registry.Inputs) -> registry.Part:
    """Every trained learner's importance (the importance stages' tables), by modality."""
    markdown, details, found = section({m: importance.read(m, learners) for m, learners in inputs.plan.learners.items()},
                                       inputs.figures)
    return registry.Part(markdown, found, details)

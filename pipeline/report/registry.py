"""The report's sections after the per-model ones, as a registry: a section module registers its
writer (`@section(key, place)`), which reads what it needs from the run's `Inputs` and returns its
`Part`. A new section is its own module; `sections.build` takes every registered part, not one
argument per section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.learn import evaluation, fusion, runplan
from pipeline.report import trained


@dataclass(frozen=True)
class Inputs:
    """What the report stage read of the trained run, for every section."""

    plan: runplan.RunPlan
    deploy: str  # the fusion rule the answer deploys
    takes: pd.DataFrame  # the manifest
    results: list[trained.LearnerResult]  # every learner, plain and normalised
    groups: list[fusion.Group]
    fusions: list[dict[str, Any]]  # each group's fuse record, in the order of `groups`
    figures: Path  # where sections draw their PNGs
    curve: evaluation.CurveSettings | None  # the learning curve's learner (None: not run)
    cross_corpus: tuple[str, ...]  # the cross_corpus keys scored


@dataclass(frozen=True)
class Part:
    """One section's share of the report: its Markdown ("" for none), its figures for
    metrics_details.json under the section's key (None for none) and a details page of its own."""

    markdown: str
    metrics: Any = None
    details: str | None = None


Writer = Callable[[Inputs], Part | None]


@dataclass(frozen=True)
class Section:
    key: str  # its figures' key in metrics_details.json, and its details page's name
    place: int  # where it stands in the report: smaller first
    write: Writer


SECTIONS: dict[str, Section] = {}


def section(key: str, place: int) -> Callable[[Writer], Writer]:
    """Register the decorated writer as the report section `key`, shown at `place`."""
    def register(write: Writer) -> Writer:
        SECTIONS[key] = Section(key, place, write)
        return write
    return register


def written(inputs: Inputs) -> dict[str, Part]:
    """Every registered section's part, in report order (a section with nothing to say left out)."""
    parts = {s.key: s.write(inputs) for s in sorted(SECTIONS.values(), key=lambda s: s.place)}
    return {key: part for key, part in parts.items() if part is not None}

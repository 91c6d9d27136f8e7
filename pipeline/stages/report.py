"""Stage `report`: every trained learner's, fusion group's and comparison variant's results ->
reports/report.md, metrics.json, figures/."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from pipeline import fusion, io, paths, report


def load_result(stem: str | Path, modality: str, learner: str, normalisation: str) -> report.LearnerResult:
    summary, oof = io.read_json(f"{stem}.json"), pd.read_parquet(f"{stem}.oof.parquet")
    return report.LearnerResult(modality, learner, normalisation, summary, oof)


def main() -> None:
    params = io.load_params()
    takes = pd.read_parquet(paths.MANIFEST)
    rejects = pd.concat(
        [pd.read_parquet(paths.REJECTS)]
        + [pd.read_parquet(paths.feature_rejects(m)) for m in params["run"]["modalities"]],
        ignore_index=True,
    )
    results = []
    run = params["run"]
    for modality, normalisation, learner in product(run["modalities"], run["normalisations"], run["learners"]):
        results.append(load_result(paths.model_stem(modality, learner, normalisation), modality, learner, normalisation))
    fusions = [io.read_json(f"{paths.fusion_stem(group.slug)}.json") for group in fusion.groups(run)]
    compare = params["compare"]
    main_run = (compare["modality"], compare["learner"], compare["normalisation"])
    comparisons = None
    if compare["variants"]:
        comparisons = (
            next((r for r in results if (r.modality, r.learner, r.normalisation) == main_run), None),
            {name: (selection, load_result(paths.variant_stem(name), *main_run))
             for name, selection in compare["variants"].items()},
        )
    markdown, headline = report.build(takes, rejects, results, fusions, comparisons, Path("reports/figures"),
                                      params["train"], params["fuse"]["deploy"])
    io.write_text(markdown + "\n", "reports/report.md")
    io.write_json(headline, "reports/metrics.json")
    best = ", ".join(headline[m]["best"] for m in params["run"]["modalities"])
    print(f"report: reports/report.md (best: {best})")


if __name__ == "__main__":
    main()

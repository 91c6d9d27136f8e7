"""Stage `report`: every trained learner's results -> reports/report.md, metrics.json, figures/."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from pipeline import io, paths, report


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
        stem = paths.model_stem(modality, learner, normalisation)
        summary, oof = io.read_json(f"{stem}.json"), pd.read_parquet(f"{stem}.oof.parquet")
        results.append(report.LearnerResult(modality, learner, normalisation, summary, oof))
    markdown, headline = report.build(takes, rejects, results, Path("reports/figures"), params["train"])
    io.write_text(markdown + "\n", "reports/report.md")
    io.write_json(headline, "reports/metrics.json")
    best = ", ".join(headline[m]["best"] for m in params["run"]["modalities"])
    print(f"report: reports/report.md (best: {best})")


if __name__ == "__main__":
    main()

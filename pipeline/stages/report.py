"""Stage `report`: every trained learner's results -> reports/report.md, metrics.json, figures/."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from pipeline import io, report


def main() -> None:
    params = io.load_params()
    takes = pd.read_parquet("data/manifest.parquet")
    rejects = pd.concat(
        [pd.read_parquet("data/rejects.parquet"), pd.read_parquet("features/audio_rejects.parquet")],
        ignore_index=True,
    )
    results = []
    run = params["run"]
    for modality, normalisation, learner in product(run["modalities"], run["normalisations"], run["learners"]):
        base = Path("models") / modality / f"{learner}-{normalisation}"
        summary, oof = io.read_json(f"{base}.json"), pd.read_parquet(f"{base}.oof.parquet")
        results.append(report.LearnerResult(modality, learner, normalisation, summary, oof))
    markdown, headline = report.build(takes, rejects, results, Path("reports/figures"), params["train"])
    io.write_text(markdown + "\n", "reports/report.md")
    io.write_json(headline, "reports/metrics.json")
    print(f"report: reports/report.md (best {headline['best']})")


if __name__ == "__main__":
    main()

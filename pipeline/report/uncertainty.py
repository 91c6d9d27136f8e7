"""The report's section on uncertainty: how often `predict`'s prediction sets hold the true
emotion on held-out speakers, how large they are, and how well the deployed decisions'
confidence matches their accuracy (from the calibrate stage's models/conformal.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.report import charts, formatting


def section(calibrated: dict[str, Any], figures: Path) -> tuple[str, dict[str, Any]]:
    """Markdown and figures of every deployed decision's sets and reliability."""
    target = calibrated["coverage"]
    rows, shown, measured = [], {}, {}
    plain_first = sorted(calibrated["decisions"].items(), key=lambda kv: ("speaker norm" in kv[0], kv[0]))
    for name, record in plain_first:
        cover, ece = record["coverage"], record["reliability"]["ece"]
        rows.append({"decision": name, "takes": record["n_takes"],
                     f"{target:.0%} set holds the truth": formatting.pct(cover["coverage"]),
                     "per fold": f"{formatting.pct(min(cover['per_fold']))}–{formatting.pct(max(cover['per_fold']))}",
                     "emotions per set": f"{cover['mean_size']:.2f}",
                     "one-emotion sets": formatting.pct(cover["singletons"]), "ECE": f"{ece:.3f}"})
        measured[name] = {"coverage": cover["coverage"], "mean_size": cover["mean_size"],
                          "singletons": cover["singletons"], "ece": ece}
        if "speaker norm" not in name:
            shown[name] = record["reliability"]
    png = figures / "reliability.png"
    charts.reliability_figure(shown, png)
    markdown = "\n".join([
        "## Uncertainty on new speakers",
        "",
        f"What `avemotion predict` promises beside each answer: the set of emotions that holds the true one "
        f"for {target:.0%} of clips of a new speaker (conformal sets from the deployed decisions' out-of-fold "
        "probabilities). Measured here on held-out speakers: each outer fold's sets use a threshold computed "
        "from the other folds' speakers only. ECE (expected calibration error) is the mean gap between a "
        "decision's top probability and its accuracy, weighted by takes; the figure draws both per bin of "
        "confidence (`calibrate` params).",
        "",
        f"![reliability](figures/{png.name})",
        "",
        formatting.table(pd.DataFrame(rows)),
        "",
    ])
    return markdown, {"coverage_target": target, **measured}

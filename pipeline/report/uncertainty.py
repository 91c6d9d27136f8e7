"""The report's section on uncertainty: how often `predict`'s prediction sets hold the true
emotion on held-out speakers, how large they are, and how well the deployed decisions'
confidence matches their accuracy (from the calibrate stage's models/conformal.json); how often
the novelty flag marks a held-out speaker's take as unlike the training takes (models/novelty/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import io, paths
from pipeline.learn import conformal, fusion, runplan
from pipeline.report import charts, formatting, registry, trained


def section(calibrated: dict[str, Any], figures: Path, novelty: dict[str, dict[str, Any]],
            flagged: dict[str, float]) -> tuple[str, dict[str, Any]]:
    """Markdown and figures of every deployed decision's sets and reliability, and of the novelty
    flag: each modality's (`novelty`: the novelty stages' records) and each fused decision's
    (`flagged`: the share of held-out takes carrying its modalities that it marks)."""
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
        "A clip unlike the training takes (its novelty score, `novelty` params) is flagged and gets the wider "
        f"set holding the truth for {calibrated['flagged_coverage']:.0%} of new speakers' clips; the flag is set on "
        "held-out speakers' takes (each outer fold against the other folds' threshold), and a clip of several "
        "modalities is flagged when any is, each tested at the target over their number. Held-out takes flagged "
        f"(target {formatting.pct(next(iter(novelty.values()))['flag_rate']) if novelty else '–'}): "
        + ", ".join(f"{m} {formatting.pct(r['held_out_flagged'])} (folds "
                    f"{formatting.pct(min(r['held_out_flagged_per_fold'].values()))}–"
                    f"{formatting.pct(max(r['held_out_flagged_per_fold'].values()))})" for m, r in novelty.items())
        + "; by decision: " + ", ".join(f"{name} {formatting.pct(share)}" for name, share in flagged.items()) + ".",
        "",
    ])
    by_modality = {m: r["held_out_flagged"] for m, r in novelty.items()}
    return markdown, {"coverage_target": target, **measured, "novelty_flagged": by_modality,
                      "novelty_flagged_by_decision": flagged}


def flagged_by_decision(plan: runplan.RunPlan) -> dict[str, float]:
    """Each plain fused decision's share of held-out takes (those carrying all its modalities) that
    the novelty flag marks: any of its modalities, each at the rate their number leaves."""
    held_out, rate = trained.held_out_scores(plan.modalities)
    out = {}
    for group in (g for g in fusion.groups(plan) if g.normalisation == "none"):
        flagged = trained.flagged_where_all({m: held_out[m] for m in group.modalities}, held_out, rate)
        if len(flagged):
            out[group.name] = float(flagged.mean())
    return out


@registry.section("uncertainty", place=80)
def part(inputs: registry.Inputs) -> registry.Part:
    """The calibrate stage's sets and reliability, and the novelty stages' flags."""
    return registry.Part(*section(io.read_json(conformal.PATH), inputs.figures,
                                  {m: io.read_json(f"{paths.novelty_stem(m)}.json") for m in inputs.plan.modalities},
                                  flagged_by_decision(inputs.plan)))

"""The report's section on recording conditions: the deployed voice decision, plain and
speaker-normalised, on the sampled takes heard under each condition (the conditions stage), each
scored by its own outer fold's models and rule (speakers they never trained on), beside the same
takes as recorded measured the same way (condition `clean`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.extract.conditions import CLEAN
from pipeline import io, paths
from pipeline.learn.normalisation import suffix
from pipeline.report import charts, formatting, intervals, registry, trained


def figures_of(heard: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per condition: accuracy and UAR with their speaker-bootstrap intervals, and the takes."""
    classes = [c.removeprefix("p_") for c in heard.columns if c.startswith("p_")]
    heard = heard[heard[[f"p_{c}" for c in classes]].notna().all(axis=1)]
    out = {}
    for condition, rows in heard.groupby("condition", sort=False):
        y = rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
        guess = rows[[f"p_{c}" for c in classes]].to_numpy().argmax(axis=1)
        found = intervals.interval(y, guess, rows["speaker"].to_numpy())
        out[str(condition)] = {"n_takes": int(len(rows)), "n_speakers": int(rows["speaker"].nunique()),
                               **{k: found[k].value for k in ("accuracy", "uar")},
                               **{f"{k}_ci": [found[k].low, found[k].high] for k in ("accuracy", "uar")}}
    return out


def section(decisions: dict[str, pd.DataFrame], figures: Path, flagged: dict[str, float], order: list[str],
            augmented: list[str] = ()) -> tuple[str, dict[str, Any]]:
    """Markdown and figures of each decision's table of fused probabilities under the conditions
    (`decisions`: name -> its rows of the deployed rule; plain first, then speaker-normalised),
    with the share of takes the novelty flag marks under each (`flagged`), conditions in `order`;
    `augmented`: the decisions whose models also trained on augmented copies."""
    measured = {name: figures_of(table) for name, table in decisions.items() if len(table)}
    if not measured or not all(CLEAN in m for m in measured.values()):
        return "", {}
    names = list(measured)
    conditions = [c for c in order if c != CLEAN and c in measured[names[0]]]
    rows = []
    for condition in [CLEAN, *conditions]:
        row = {"condition": condition, "flagged": formatting.pct(flagged[condition]) if condition in flagged else ""}
        for name in names:
            f, clean = measured[name].get(condition), measured[name][CLEAN]
            if f is None:
                continue
            row[f"{name}: accuracy [95% CI]"] = (f"{formatting.pct(f['accuracy'])} "
                                                 f"{formatting.ci(intervals.Estimate(f['accuracy'], *f['accuracy_ci']))}")
            row[f"{name}: UAR"] = formatting.pct(f["uar"])
            row[f"{name}: vs clean"] = "" if condition == CLEAN else f"{100 * (f['accuracy'] - clean['accuracy']):+.1f}"
        rows.append(row)
    png = figures / "robustness.png"
    accuracy = pd.DataFrame({name: [measured[name].get(c, {}).get("accuracy", np.nan) for c in conditions]
                             for name in names}, index=conditions)
    charts.conditions_figure(accuracy, {name: measured[name][CLEAN]["accuracy"] for name in names}, png)
    first = measured[names[0]][CLEAN]
    markdown = "\n".join([
        "## Off the studio: recording conditions",
        "",
        f"The deployed voice decision on {first['n_takes']} takes of {first['n_speakers']} speakers (`robustness` "
        "params: sampled per speaker) heard through codecs, a telephone line, noise, rooms, a low level and "
        "clipping; each take is scored by its own outer fold's models and fusion rule, trained on other speakers "
        + ("and on studio takes only" if not augmented else f"(for {', '.join(augmented)}: on their studio takes and "
           "on copies of them through effects drawn at random from the `augment` ranges, not from the conditions "
           "below)") + ". `clean` is the same takes as recorded, measured the same way (speaker norm: "
        "each speaker's takes under one condition standardised together). The interval is over speakers; "
        "`vs clean` in points; `flagged`: the share of the takes `predict` would mark as unlike the training "
        "takes (the novelty flag, each take scored by its fold's novelty model).",
        "",
        f"![robustness](figures/{png.name})",
        "",
        formatting.table(pd.DataFrame(rows).fillna("")),
        "",
    ])
    return markdown, {"decisions": measured, "flagged": flagged}


def conditions_heard() -> list[str]:
    """The recording conditions the conditions stage measured, in the order `robustness.conditions` names them."""
    record = paths.CONDITIONS / "conditions.json"
    return io.read_json(record)["conditions"] if record.exists() else []


def flagged_by_condition(modalities: tuple[str, ...]) -> dict[str, float]:
    """The share of the sampled takes under each recording condition that the novelty flag marks,
    for a clip of these modalities (each score from the take's own fold's model)."""
    if not modalities:
        return {}
    heard = {m: pd.read_parquet(f"{paths.novelty_stem(m)}.conditions.parquet").set_index(["take", "condition"])["score"]
             for m in modalities}
    if not all(len(s) for s in heard.values()):
        return {}
    held_out, rate = trained.held_out_scores(modalities)
    return trained.flagged_where_all(heard, held_out, rate).groupby(level="condition", sort=False).mean().to_dict()


@registry.section("robustness", place=60)
def part(inputs: registry.Inputs) -> registry.Part:
    """The deployed voice decision, plain and speaker-normalised, on the takes heard under each condition."""
    voices = tuple(inputs.plan.of_kind("voice"))
    decisions = {f"voice{suffix(n)}": trained.heard_alone(voices, n, inputs.results, inputs.deploy)
                 for n in inputs.plan.normalisations} if voices else {}
    augmented = [f"voice{suffix(n)}" for n in inputs.plan.normalisations
                 if any(r.summary.get("augmented_copies") for r in inputs.results
                        if r.modality in voices and r.normalisation == n)]
    markdown, figures = section(decisions, inputs.figures, flagged_by_condition(voices), conditions_heard(), augmented)
    return registry.Part(markdown, figures or None)

"""The report's section on the truth across corpora: each side of the answer, trained on its own
corpora, scored on a corpus it never trained on (the cross_corpus stages' records)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline import io, paths
from pipeline.report import formatting, intervals, registry

NORMALISED = ("speaker", "corpus")  # a record's normalised rows (`apply.transfer`): by speaker, the corpus as one batch


def _side_name(side: str) -> str:
    """`voice`, or a face side (`face_<modality>`) as `face (<modality>)`."""
    kind, _, modality = side.partition("_")
    return f"{kind} ({modality})" if modality else kind


def _brief(figures: dict[str, Any] | None) -> str:
    if figures is None:
        return "–"
    return (f"{formatting.pct(figures['accuracy'])} / {formatting.pct(figures['uar'])} / "
            f"{figures['most_predicted']} {formatting.pct(figures['most_predicted_share'])}")


def section(found: dict[str, dict[str, Any]], deploy: str) -> tuple[str, dict[str, Any]]:
    """Markdown and figures of every cross_corpus record ({key: record}): the `deploy` rule's decisions."""
    rows, figures = [], {}
    for key, record in found.items():
        for side, by_normalisation in record["by_rule"][deploy].items():
            plain = by_normalisation["none"]
            rows.append({
                "tested on": f"{record['corpus']} ({key})", "side": _side_name(side),
                "decision": plain["decision"], "takes (speakers)": f"{plain['n_takes']} ({plain['n_speakers']})",
                **{f"{name} [95% CI]": f"{formatting.pct(plain[key])} "
                   f"{formatting.ci(intervals.Estimate(plain[key], *plain[f'{key}_ci']))}"
                   for name, key in (("accuracy", "accuracy"), ("UAR", "uar"))},
                "most frequent answer": f"{plain['most_predicted']} {formatting.pct(plain['most_predicted_share'])}",
                "flagged unlike training": formatting.pct(plain["flagged_share"]),
                **{f"+ {way} norm: accuracy / UAR / most frequent": _brief(by_normalisation.get(way))
                   for way in NORMALISED},
                "within its own corpora": f"{formatting.pct(plain['within']['accuracy'])} / "
                                          f"{formatting.pct(plain['within']['uar'])}",
            })
            figures[f"{key}.{side}"] = {
                normalisation: {k: f[k] for k in ("accuracy", "uar", "most_predicted_share", "n_takes")}
                for normalisation, f in by_normalisation.items() if normalisation != "left_out_trained"}
    markdown = "\n".join([
        "## Across corpora: trained here, tested elsewhere",
        "",
        "Each side of the answer, trained on the corpora above, scored on a corpus it never trained on "
        "(`cross_corpus`; takes it trained on, by name or content, left out), on the emotions it knows; "
        "plain; with each speaker standardised by that speaker's own takes (speaker norm); and with every take "
        "of the corpus standardised as one batch by the speaker-normalised models (corpus norm: a folder of "
        "clips from one recording setup, no speaker names; `predict --speaker` with one name for all). The "
        "interval is over speakers. `most frequent answer`: the emotion it gives most and the share of takes it gives it to "
        "(a model that transfers spreads its answers as the emotions are spread). `flagged unlike training`: the "
        "share of takes `predict` marks as unlike the training takes (the novelty flag, set on held-out "
        "speakers' takes of the training corpora: see Uncertainty). Within its own corpora: "
        "the same decision's outer-fold accuracy / UAR.",
        "",
        formatting.table(pd.DataFrame(rows)) if rows else "No side could be scored on these corpora.",
        "",
    ])
    return markdown, figures


@registry.section("across_corpora", place=70)
def part(inputs: registry.Inputs) -> registry.Part:
    return registry.Part(*section({key: io.read_json(paths.cross_corpus_record(key)) for key in inputs.cross_corpus}, inputs.deploy))

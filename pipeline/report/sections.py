"""The report's sections: the data, each modality's learners, the learning curve, late fusion,
the comparison variants, and `build`, which puts the whole report together.

Every number here comes from out-of-fold (outer, speaker-disjoint) predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.learn import evaluation, fusion, runplan
from pipeline.ingest.corpora import label_order
from pipeline.report import charts, formatting, registry, trained


TITLES = {"audio": "Audio (voice, own features)", "face": "Face", "compare2016": "Voice (openSMILE ComParE_2016)",
          "egemaps": "Voice (openSMILE eGeMAPSv02)", "is10": "Voice (openSMILE IS10 paralinguistics)"}


REFERENCES = {  # modality -> published points or ranges (their own protocols and class sets)
    "audio": [
        ("RAVDESS listeners, speech audio, 7 classes (Livingstone & Russo 2018)", 0.624),
        ("Published actor-disjoint MFCC statistics + SVM (RAVDESS)", 0.52),
        ("Published actor-disjoint openSMILE ComParE + logistic regression (RAVDESS)", 0.634),
    ],
    "compare2016": [
        ("Published actor-disjoint openSMILE ComParE + logistic regression (RAVDESS)", 0.634),
    ],
    "face": [
        ("Published landmark geometry + SVM on full-resolution CK+, 7 classes", (0.85, 0.90)),
    ],
}


def data_summary(takes: pd.DataFrame, rejects: pd.DataFrame) -> str:
    subset = takes["corpus"] + takes["channel"].map(lambda c: f" {c}" if isinstance(c, str) else "")
    by_emotion = pd.crosstab(takes["label"], subset, margins=True, margins_name="total")
    by_emotion = by_emotion.reindex([*label_order(set(takes["label"])), "total"]).fillna(0).astype(int)
    by_emotion.index.name = "emotion"
    lines = ["## Data", ""]
    for corpus, part in takes.groupby("corpus"):
        genders = part.dropna(subset=["gender"]).groupby("gender")["speaker"].nunique()
        audio_minutes = part["duration_s"].sum() / 60
        lines.append(
            f"- **{corpus}**: {len(part)} takes from {part['speaker'].nunique()} speakers"
            + (f" ({', '.join(f'{n} {g}' for g, n in genders.items())})" if len(genders) else "")
            + (f", {audio_minutes:.1f} min of audio" if audio_minutes > 0 else "")
            + (f", {int(part['video_path'].notna().sum())} with video or image frames" if part["video_path"].notna().any() else "")
            + "; takes per speaker: " + formatting.spread(part.groupby("speaker").size()) + "."
        )
    lines += [
        "",
        "Takes per emotion and corpus (and vocal channel):",
        "",
        formatting.table(by_emotion),
        "",
        "### Rejected and caveated files",
        "",
    ]
    if rejects.empty:
        lines.append("None: every file found was used as it is.")
    else:
        counts = rejects.groupby("outcome").size()
        lines += [
            ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
            + " (`kept` = used after the correction shown).",
            "",
            formatting.table(rejects.assign(path=rejects["path"].map(lambda p: f"`{p}`"))),
        ]
    return "\n".join(lines)


def learner_section(result: trained.LearnerResult, figures: Path) -> str:
    s = result.summary
    confusion_png = figures / f"confusion_{result.slug}.png"
    charts.confusion_figure(result, confusion_png)
    confusion = pd.DataFrame(s["confusion"], index=s["classes"], columns=s["classes"])
    confusion.index.name = "true \\ predicted"
    folds = pd.DataFrame(
        [
            {
                "fold": f["fold"],
                "test speakers": " ".join(sp.split("-")[-1] for sp in f["test_speakers"]),
                "accuracy": formatting.pct(p["accuracy"]),
                "UAR": formatting.pct(p["uar"]),
                "inner score": formatting.pct(f["inner_score"]),
                "chosen hyperparameters": formatting.params_text(f["best_params"]),
            }
            for f, p in zip(s["folds"], s["per_fold"])
        ]
    )
    intensity = trained.accuracy_by(result, "intensity")
    by_intensity = ("; by intensity: " + ", ".join(f"{k} {formatting.pct(v)}" for k, v in intensity.items())) if len(intensity) else ""
    return "\n".join(
        [
            f"### {result.name}",
            "",
            f"Accuracy {formatting.pct(s['accuracy'])} (fold mean {formatting.pct(s['fold_accuracy_mean'])} ± "
            f"{formatting.pct(s['fold_accuracy_std'])}), UAR {formatting.pct(s['uar'])}, macro F1 {formatting.pct(s['macro_f1'])}, "
            f"top-3 {formatting.pct(s['top3_accuracy'])}{by_intensity}.",
            "",
            f"![confusion]({confusion_png.parent.name}/{confusion_png.name})",
            "",
            formatting.table(confusion),
            "",
            "Outer folds:",
            "",
            formatting.table(folds),
            "",
            f"Final model (refit on all {s['n_takes']} takes, chosen by the same nested search): "
            f"{formatting.params_text(s['final_params'])}.",
            "",
        ]
    )


def _copies_note(summary: dict) -> str:
    """What the best learner trained on besides its takes: speed-perturbed and augmented copies."""
    augmented = summary.get("augmented_copies", 0)
    speed = summary.get("training_copies", 0) - augmented
    kinds = [f"{n} {kind} (`{key}`)" for n, kind, key in [(speed, "speed-perturbed", "speed_copies"),
                                                          (augmented, "heard off the studio", "augment")] if n]
    return (f"Every fit also trained on the copies of its training takes: {' and '.join(kinds)}; never a copy "
            "of a take it was scored on. " if kinds else "")


def _normalised_note(normalised: list[trained.LearnerResult]) -> str:
    if not normalised:
        return ""
    top = max(normalised, key=lambda r: r.summary["accuracy"])
    return (
        f"With speaker normalisation, **{top.name}** reaches {formatting.pct(top.summary['accuracy'])} "
        "(each speaker's features z-scored with statistics of that speaker's own unlabelled clips: "
        "no label of a test speaker is used, but it needs a batch of clips per speaker with a "
        "similar emotion mix, so it is not the headline). "
    )


def modality_section(modality: str, results: list[trained.LearnerResult], figures: Path) -> tuple[str, dict[str, Any]]:
    """Results of one modality's learners, and its headline metrics."""
    chance = results[0].summary["chance"]
    plain = [r for r in results if r.normalisation == "none"] or results
    best = max(plain, key=lambda r: r.summary["accuracy"])
    normalised = [r for r in results if r.normalisation != "none"]
    recall = pd.DataFrame({r.name: r.summary["recall"] for r in results}).reindex(best.summary["classes"])
    speakers = pd.DataFrame({r.name: r.summary["per_speaker_accuracy"] for r in results})
    speakers.index = [s.split("-", 1)[-1] for s in speakers.index]
    recall_png, speakers_png = figures / f"recall_per_emotion_{modality}.png", figures / f"accuracy_per_speaker_{modality}.png"
    charts.grouped_bars(recall, "recall", f"{TITLES.get(modality, modality)}: per-emotion recall (outer folds)", recall_png, chance)
    charts.grouped_bars(speakers, "accuracy", f"{TITLES.get(modality, modality)}: per-speaker accuracy (outer folds)",
                 speakers_png, chance)
    recall_table = recall.map(formatting.pct)
    recall_table.index.name = "emotion"
    speaker_table = speakers.map(formatting.pct)
    speaker_table.index.name = "speaker"
    per_class = np.array(best.summary["confusion"]).sum(axis=1)
    majority = best.summary["classes"][int(per_class.argmax())]
    references = pd.DataFrame(
        [{"reference": f"Chance ({len(best.summary['classes'])} classes)", "accuracy": formatting.pct(chance)},
         {"reference": f"Always the most frequent class ({majority})", "accuracy": formatting.pct(per_class.max() / per_class.sum())}]
        + [{"reference": name, "accuracy": "–".join(map(formatting.pct, np.atleast_1d(value)))}
           for name, value in REFERENCES.get(modality, [])]
    )
    corpora = ", ".join(sorted(best.oof["corpus"].unique()))
    channel_note = (
        "`speech`/`song` split the same out-of-fold predictions by the test take's vocal channel; "
        if best.oof["channel"].notna().any() else ""
    )
    copies_note = _copies_note(best.summary)
    markdown = "\n".join(
        [
            f"## {TITLES.get(modality, modality)}: {corpora}",
            "",
            f"Best learner: **{best.name}**, accuracy {formatting.pct(best.summary['accuracy'])}, "
            f"UAR {formatting.pct(best.summary['uar'])} ({best.summary['n_takes']} takes, "
            f"{len(best.summary['per_speaker_accuracy'])} speakers). " + copies_note
            + _normalised_note(normalised) + "`± x` is the standard deviation over outer folds; " + channel_note
            + "`permuted labels` refits each fold's chosen model on shuffled training labels (should sit near "
            "chance, or near the most frequent class's share when classes are unbalanced).",
            "",
            formatting.table(trained.results_table(results)),
            "",
            "Reference points (published figures use their own protocols and class sets; compare with care):",
            "",
            formatting.table(references),
            "",
            "### Per-emotion recall",
            "",
            f"![recall](figures/{recall_png.name})",
            "",
            formatting.table(recall_table),
            "",
            "### Per-speaker accuracy",
            "",
            f"![speakers](figures/{speakers_png.name})",
            "",
            formatting.table(speaker_table),
            "",
            *[learner_section(r, figures) for r in results],
        ]
    )
    headline = {
        r.name: {
            "accuracy": r.summary["accuracy"],
            "uar": r.summary["uar"],
            "macro_f1": r.summary["macro_f1"],
            "top3_accuracy": r.summary["top3_accuracy"],
            "fold_accuracy_std": r.summary["fold_accuracy_std"],
            **{f"accuracy_{k}": float(v) for k, v in trained.accuracy_by(r, "channel").items()},
        }
        for r in results
    }
    return markdown, {"best": best.name, "results": headline}


def fusion_group_section(group: dict[str, Any], deploy: str, figures: Path) -> str:
    """One fusion group: each rule beside its members, and the deployed rule's confusion matrix."""
    if not group["rules"]:
        return (f"### {group['name']}\n\nNot evaluated: no corpus in this run has takes in more than one of "
                f"{', '.join(group['modalities'])} (e.g. RAVDESS audio without its videos, CK+ faces without "
                "voices), so no take can be fused across them. `predict` and `evaluate` fall back to the plain "
                "mean of the modalities a clip carries.\n")
    members = group["members"]
    best_stem = max(members, key=lambda stem: members[stem]["accuracy"])
    rows = [trained.figures_row(f"fused: {rule}" + (" (deployed)" if rule == deploy else ""), s)
            for rule, s in group["rules"].items()]
    rows += [trained.figures_row(formatting.member(stem) + (" (best single)" if stem == best_stem else ""), s)
             for stem, s in members.items()]
    frame = pd.DataFrame(rows)
    best_folds = [f["accuracy"] for f in members[best_stem]["per_fold"]]
    frame["folds above the best single"] = [
        f"{sum(f['accuracy'] > b for f, b in zip(s['per_fold'], best_folds))}/{len(best_folds)}"
        for s in group["rules"].values()
    ] + ["–"] * len(members)
    models = [*group["rules"].values(), *members.values()]
    for column, value in sorted({(c, v) for s in models for c, by in s.get("accuracy_by", {}).items() for v in by}):
        frame[f"{value} test takes"] = [formatting.pct(s["accuracy_by"].get(column, {}).get(value, np.nan)) for s in models]
    both = {rule: s["accuracy_all_modalities"] for rule, s in group["rules"].items() if "accuracy_all_modalities" in s}
    if both:
        frame["takes with every modality"] = [formatting.pct(both[r]) for r in group["rules"]] + ["–"] * len(members)
    deployed = trained.LearnerResult("+".join(group["modalities"]), f"fused ({deploy})", group["normalisation"],
                             group["rules"][deploy], pd.DataFrame())
    png = figures / f"confusion_fused_{group['slug']}.png"
    charts.confusion_figure(deployed, png)
    confusion = pd.DataFrame(deployed.summary["confusion"], index=deployed.summary["classes"],
                             columns=deployed.summary["classes"])
    confusion.index.name = "true \\ predicted"
    gain = group["rules"][deploy]["accuracy"] - members[best_stem]["accuracy"]
    learnt = [told for rule, kind in fusion.RULES.items() if rule in group["rules"]  # in the registry's order
              and (told := kind.told(group["rules"][rule], formatting.member))]
    carried = group.get("modalities_present", {})
    return "\n".join([
        f"### {group['name']}",
        "",
        f"Deployed rule ({deploy}): {formatting.pct(group['rules'][deploy]['accuracy'])}, "
        f"{'+' if gain >= 0 else '−'}{100 * abs(gain):.1f} points against the best single member "
        f"({formatting.member(best_stem)}). "
        + "".join(f"{told} " for told in learnt)
        + ("Modalities a take carried: " + ", ".join(f"{k} {v}" for k, v in carried.items()) + "."
           if len(carried) > 1 or "+" in "".join(carried) else ""),
        "",
        formatting.table(frame),
        "",
        f"![fused confusion]({png.parent.name}/{png.name})",
        "",
        formatting.table(confusion),
        "",
    ])


def fusion_section(groups: list[dict[str, Any]], deploy: str, figures: Path) -> str:
    return "\n".join([
        "## Late fusion",
        "",
        "Class probabilities of several models combined per take: the mean, a weighted mean (weights "
        "minimising log-loss), the normalised product, and a stacked logistic regression on "
        "standardised log-probabilities (its C chosen by speaker-grouped cross-validated log-loss on the rows "
        "it is fitted on). Every fused figure is on the same outer folds as the single models, and "
        "the weights and the stacked model of each fold are fitted on inner out-of-fold probabilities "
        "of that fold's training speakers only (the chosen learners refit on inner folds), never on "
        "its test takes. A take missing a modality is fused from the modalities it has. The columns "
        "on the right split the test takes by vocal channel and intensity, where the corpus has them. "
        f"`{deploy}` is the rule `predict` and `evaluate` apply (`fuse.deploy`). `selected` is not a rule of its own "
        "but a choice among the others, learnt like any other setting: for each outer fold, the rule with the best "
        "UAR on speaker-grouped folds of that fold's training rows, so its figure is as honest as theirs; refitted "
        "on every take for deployment.",
        "",
        *[fusion_group_section(g, deploy, figures) for g in groups],
    ])


def learning_curve_section(curve: pd.DataFrame, model: str, chance: float, figures: Path) -> tuple[str, dict[str, Any]]:
    """Outer-fold accuracy against the number of training speakers (`evaluation.learning_curve`):
    the mean over folds with each fold's point, and the table."""
    by = curve.groupby("speakers")
    summary = pd.DataFrame({"takes per fold (mean)": by["takes"].mean().round().astype(int),
                            "accuracy": by["accuracy"].mean(), "± over folds": by["accuracy"].std(ddof=0),
                            "UAR": by["uar"].mean()})
    figures.mkdir(parents=True, exist_ok=True)
    png = figures / "learning_curve.png"
    charts.learning_curve_figure(curve, summary, chance, model, png)
    shown = summary.assign(**{c: summary[c].map(formatting.pct) for c in ("accuracy", "± over folds", "UAR")})
    shown.index.name = "training speakers"
    markdown = "\n".join([
        "## Learning curve: accuracy by number of training speakers",
        "",
        f"**{model}** on the same outer folds and test speakers as above, each fold training (the same nested "
        "search, on inner folds of the chosen speakers) on only n of its training speakers, the first n of a "
        "seeded order (so each n adds speakers to the smaller ones). Grey points are single folds; `± over "
        "folds` their standard deviation (`learning_curve` params).",
        "",
        f"![learning curve](figures/{png.name})",
        "",
        formatting.table(shown),
        "",
    ])
    return markdown, {"model": model, **{str(n): {"accuracy": float(r["accuracy"]), "uar": float(r["UAR"])}
                                         for n, r in summary.iterrows()}}


@registry.section("learning_curve", place=40)
def learning_curve_part(inputs: registry.Inputs) -> registry.Part | None:
    """`learning_curve_section` of the learning_curve stage's table, chance from the emotions its modality's takes hold."""
    if inputs.curve is None:
        return None
    curve = inputs.curve
    measured = pd.read_parquet(paths.features(curve.modality), columns=["take"])["take"]
    classes = set(inputs.takes.loc[inputs.takes["take"].isin(measured), "label"])
    return registry.Part(*learning_curve_section(
        pd.read_csv(paths.LEARNING_CURVE), runplan.model_name(curve.modality, curve.learner, curve.normalisation),
        1 / len(classes), inputs.figures))


def comparison_section(
    main: trained.LearnerResult | None, variants: dict[str, tuple[dict[str, Any], trained.LearnerResult]]
) -> str:
    """The main run (when `run` trains the compared learner) beside each retrained subset, split by
    the test takes' channel and intensity."""
    def row(name: str, selection: str, result: trained.LearnerResult) -> dict[str, str]:
        s = result.summary
        splits = {**trained.accuracy_by(result, "channel").to_dict(), **trained.accuracy_by(result, "intensity").to_dict()}
        return {"variant": name, "trained and tested on": selection, "classes": str(len(s["classes"])),
                **trained.figures_row(result.name, s), "chance": formatting.pct(s["chance"]),
                **{f"{k} test takes": formatting.pct(v) for k, v in splits.items()}}

    rows = [row("main run", "every take", main)] if main is not None else []
    rows += [row(name, "; ".join(f"{k}: {', '.join(v)}" for k, v in selection.items()), result)
             for name, (selection, result) in variants.items()]
    frame = pd.DataFrame(rows).drop(columns="model").fillna("–")
    return "\n".join([
        "## Comparisons",
        "",
        f"The field's usual comparisons, each a retrain of **{next(iter(variants.values()))[1].name}** with "
        "the same nested search "
        "on the same speaker folds, restricted to a subset of the takes (`compare.variants`; add one "
        "there, or run `dvc exp run -S compare.learner=xgb`). The columns on the right split each "
        "model's out-of-fold predictions by the test take's vocal channel and intensity: a model "
        "trained on both channels is scored on each, beside a model trained on that channel alone. "
        "Accuracy across different class sets is not comparable; compare each with its chance.",
        "",
        formatting.table(frame),
        "",
    ])


def build(
    inputs: registry.Inputs, rejects: pd.DataFrame,
    comparisons: tuple[trained.LearnerResult | None, dict[str, tuple[dict[str, Any], trained.LearnerResult]]] | None,
    settings: evaluation.TrainSettings, parts: dict[str, registry.Part],
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The report's Markdown (the registered sections' `parts` in their order, then an index of the
    details), the details (name -> Markdown for reports/details/<name>.md: the data, each modality's
    learners, late fusion, the comparison variants, then each part's own) and every headline figure
    (for reports/metrics_details.json: each part's under its key)."""
    takes, results, fusions, figures = inputs.takes, inputs.results, inputs.fusions, inputs.figures
    figures.mkdir(parents=True, exist_ok=True)
    modalities = list(dict.fromkeys(r.modality for r in results))
    sections = {m: modality_section(m, [r for r in results if r.modality == m], figures) for m in modalities}
    details = {"data": data_summary(takes, rejects), **{m: sections[m][0] for m in modalities}}
    if fusions:
        details["fusion"] = fusion_section(fusions, inputs.deploy, figures)
    if comparisons:
        details["comparisons"] = comparison_section(*comparisons)
    details |= {key: part.details for key, part in parts.items() if part.details is not None}
    details = {name: text.replace(f"]({figures.name}/", f"](../{figures.name}/") for name, text in details.items()}
    markdown = "\n".join(
        [
            "# avemotion report",
            "",
            "Emotion recognition from the voice and the face, evaluated on speakers the models never saw: "
            f"{settings.outer_folds} outer folds, each holding out a disjoint set of speakers; "
            f"inside each outer training part, a randomized then a grid search on "
            f"{settings.inner_folds} speaker-grouped inner folds (scored by {settings.scoring}). "
            "Every figure below is from the outer test speakers only.",
            "",
            *[part.markdown for part in parts.values() if part.markdown],
            details_index(details),
        ]
    )
    headline = {
        "n_takes": int(len(takes)),
        **{m: sections[m][1] for m in modalities},
        **{key: part.metrics for key, part in parts.items() if part.metrics is not None},
        "fusion": {g["name"]: {rule: {k: s[k] for k in ("accuracy", "uar", "fold_accuracy_std")}
                               for rule, s in g["rules"].items()} for g in fusions if g["rules"]},
    }
    if comparisons:
        main, variants = comparisons
        runs = ({"main run": main} if main is not None else {}) | {name: r for name, (_, r) in variants.items()}
        headline["compare"] = {name: {**{k: r.summary[k] for k in ("accuracy", "uar", "top3_accuracy")},
                                      **{f"accuracy_{value}": float(a) for column in ("channel", "intensity")
                                         for value, a in trained.accuracy_by(r, column).items()}}
                               for name, r in runs.items()}
    return markdown, details, headline


def details_index(details: dict[str, str]) -> str:
    """The report's last section: a link to each details file, named by its first heading."""
    return "\n".join(["## Details", "", "Every learner, rule and variant, and the data, each in a file of its own:", "",
                      *[f"- [{text.splitlines()[0].lstrip('# ')}](details/{name}.md)" for name, text in details.items()],
                      ""])


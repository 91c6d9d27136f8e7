"""The Markdown report and its figures, from the manifest, the rejects and each learner's results.

Every number here comes from out-of-fold (outer, speaker-disjoint) predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.learn import metrics  # noqa: E402
from pipeline.report import intervals  # noqa: E402
from pipeline.learn.normalisation import suffix  # noqa: E402
from pipeline.learn.runplan import model_name  # noqa: E402
from pipeline.ingest.corpora import label_order  # noqa: E402

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
VOICE_FACE_REFERENCES = [  # RAVDESS speech, 8 classes, speaker-independent protocols of their own
    ("RAVDESS raters, audio-visual (Livingstone & Russo 2018)", 0.80),
    ("RAVDESS raters, audio only (Livingstone & Russo 2018)", 0.60),
    ("Deep late fusion, subject-wise 5 folds (Luna-Jiménez et al. 2021)", 0.801),
    ("wav2vec2 + facial action units (Luna-Jiménez et al. 2022)", 0.867),
]
TITLES = {"audio": "Audio (voice, own features)", "face": "Face", "compare2016": "Voice (openSMILE ComParE_2016)",
          "egemaps": "Voice (openSMILE eGeMAPSv02)", "is10": "Voice (openSMILE IS10 paralinguistics)"}


@dataclass
class LearnerResult:
    """One trained learner: its figures (`<learner>.json`) and out-of-fold predictions."""

    modality: str
    learner: str
    normalisation: str
    summary: dict[str, Any]
    oof: pd.DataFrame

    @property
    def name(self) -> str:
        return model_name(self.modality, self.learner, self.normalisation)

    @property
    def slug(self) -> str:
        return f"{self.modality}_{self.learner}-{self.normalisation}"


def pct(value: float) -> str:
    return "–" if value is None or np.isnan(value) else f"{100 * value:.1f}%"


def table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (index included when it is named)."""
    if frame.index.name is not None:
        frame = frame.reset_index()
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def accuracy_by(result: LearnerResult, column: str) -> pd.Series:
    """Out-of-fold accuracy of the test takes grouped by a manifest column (e.g. channel)."""
    correct = result.oof["label"] == result.oof["predicted"]
    return correct.groupby(result.oof[column]).mean()


def _spread(counts: pd.Series) -> str:
    """A count per speaker as its range and median (a corpus may have a hundred speakers)."""
    if counts.min() == counts.max():
        return f"{counts.min()} each"
    return f"{counts.min()}-{counts.max()} (median {counts.median():g})"


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
            + "; takes per speaker: " + _spread(part.groupby("speaker").size()) + "."
        )
    lines += [
        "",
        "Takes per emotion and corpus (and vocal channel):",
        "",
        table(by_emotion),
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
            table(rejects.assign(path=rejects["path"].map(lambda p: f"`{p}`"))),
        ]
    return "\n".join(lines)


def results_table(results: list[LearnerResult]) -> pd.DataFrame:
    """One row per learner; per-channel columns when the test takes have a vocal channel, and
    per-corpus columns when they come from several corpora."""
    rows = []
    for r in results:
        s = r.summary
        splits = accuracy_by(r, "channel").to_dict()
        if r.oof["corpus"].nunique() > 1:
            splits.update(accuracy_by(r, "corpus").to_dict())
        rows.append(
            {
                "learner": r.name,
                "accuracy": f"{pct(s['accuracy'])} ± {pct(s['fold_accuracy_std'])}",
                "UAR": f"{pct(s['uar'])} ± {pct(s['fold_uar_std'])}",
                "macro F1": pct(s["macro_f1"]),
                "top-3": pct(s["top3_accuracy"]),
                **{name: pct(value) for name, value in splits.items()},
                "permuted labels": pct(np.mean([f["permuted_accuracy"] for f in s["folds"]]))
                if "permuted_accuracy" in s["folds"][0] else "not run",
            }
        )
    return pd.DataFrame(rows)


def confusion_figure(result: LearnerResult, path: Path) -> None:
    classes = result.summary["classes"]
    counts = np.array(result.summary["confusion"], dtype=float)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, int(n), ha="center", va="center", color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{result.name}: out-of-fold confusion (row-normalised colour)")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def grouped_bars(values: pd.DataFrame, ylabel: str, title: str, path: Path, chance: float) -> None:
    """One group of bars per row of `values`, one bar per column (learner)."""
    fig, ax = plt.subplots(figsize=(min(14, 3 + 0.1 * values.size), 4.5))
    width = 0.8 / len(values.columns)
    x = np.arange(len(values))
    for k, column in enumerate(values.columns):
        ax.bar(x + k * width - 0.4 + width / 2, values[column], width, label=column)
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(x, values.index, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=min(4, len(values.columns) + 1), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def learner_section(result: LearnerResult, figures: Path) -> str:
    s = result.summary
    confusion_png = figures / f"confusion_{result.slug}.png"
    confusion_figure(result, confusion_png)
    confusion = pd.DataFrame(s["confusion"], index=s["classes"], columns=s["classes"])
    confusion.index.name = "true \\ predicted"
    folds = pd.DataFrame(
        [
            {
                "fold": f["fold"],
                "test speakers": " ".join(sp.split("-")[-1] for sp in f["test_speakers"]),
                "accuracy": pct(p["accuracy"]),
                "UAR": pct(p["uar"]),
                "inner score": pct(f["inner_score"]),
                "chosen hyperparameters": _params(f["best_params"]),
            }
            for f, p in zip(s["folds"], s["per_fold"])
        ]
    )
    intensity = accuracy_by(result, "intensity")
    by_intensity = ("; by intensity: " + ", ".join(f"{k} {pct(v)}" for k, v in intensity.items())) if len(intensity) else ""
    return "\n".join(
        [
            f"### {result.name}",
            "",
            f"Accuracy {pct(s['accuracy'])} (fold mean {pct(s['fold_accuracy_mean'])} ± "
            f"{pct(s['fold_accuracy_std'])}), UAR {pct(s['uar'])}, macro F1 {pct(s['macro_f1'])}, "
            f"top-3 {pct(s['top3_accuracy'])}{by_intensity}.",
            "",
            f"![confusion]({confusion_png.parent.name}/{confusion_png.name})",
            "",
            table(confusion),
            "",
            "Outer folds:",
            "",
            table(folds),
            "",
            f"Final model (refit on all {s['n_takes']} takes, chosen by the same nested search): "
            f"{_params(s['final_params'])}.",
            "",
        ]
    )


def _normalised_note(normalised: list[LearnerResult]) -> str:
    if not normalised:
        return ""
    top = max(normalised, key=lambda r: r.summary["accuracy"])
    return (
        f"With speaker normalisation, **{top.name}** reaches {pct(top.summary['accuracy'])} "
        "(each speaker's features z-scored with statistics of that speaker's own unlabelled clips: "
        "no label of a test speaker is used, but it needs a batch of clips per speaker with a "
        "similar emotion mix, so it is not the headline). "
    )


def _params(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k.removeprefix('clf__')}={v:.3g}" if isinstance(v, float) else f"{k.removeprefix('clf__')}={v}"
        for k, v in params.items()
    )


def modality_section(modality: str, results: list[LearnerResult], figures: Path) -> tuple[str, dict[str, Any]]:
    """Results of one modality's learners, and its headline metrics."""
    chance = results[0].summary["chance"]
    plain = [r for r in results if r.normalisation == "none"] or results
    best = max(plain, key=lambda r: r.summary["accuracy"])
    normalised = [r for r in results if r.normalisation != "none"]
    recall = pd.DataFrame({r.name: r.summary["recall"] for r in results}).reindex(best.summary["classes"])
    speakers = pd.DataFrame({r.name: r.summary["per_speaker_accuracy"] for r in results})
    speakers.index = [s.split("-", 1)[-1] for s in speakers.index]
    recall_png, speakers_png = figures / f"recall_per_emotion_{modality}.png", figures / f"accuracy_per_speaker_{modality}.png"
    grouped_bars(recall, "recall", f"{TITLES.get(modality, modality)}: per-emotion recall (outer folds)", recall_png, chance)
    grouped_bars(speakers, "accuracy", f"{TITLES.get(modality, modality)}: per-speaker accuracy (outer folds)",
                 speakers_png, chance)
    recall_table = recall.map(pct)
    recall_table.index.name = "emotion"
    speaker_table = speakers.map(pct)
    speaker_table.index.name = "speaker"
    per_class = np.array(best.summary["confusion"]).sum(axis=1)
    majority = best.summary["classes"][int(per_class.argmax())]
    references = pd.DataFrame(
        [{"reference": f"Chance ({len(best.summary['classes'])} classes)", "accuracy": pct(chance)},
         {"reference": f"Always the most frequent class ({majority})", "accuracy": pct(per_class.max() / per_class.sum())}]
        + [{"reference": name, "accuracy": "–".join(map(pct, np.atleast_1d(value)))}
           for name, value in REFERENCES.get(modality, [])]
    )
    corpora = ", ".join(sorted(best.oof["corpus"].unique()))
    channel_note = (
        "`speech`/`song` split the same out-of-fold predictions by the test take's vocal channel; "
        if best.oof["channel"].notna().any() else ""
    )
    copies = best.summary.get("training_copies", 0)
    copies_note = (f"Every fit also trained on the {copies} speed-perturbed copies of its training takes "
                   "(`speed_copies`; never a copy of a take it was scored on). " if copies else "")
    markdown = "\n".join(
        [
            f"## {TITLES.get(modality, modality)}: {corpora}",
            "",
            f"Best learner: **{best.name}**, accuracy {pct(best.summary['accuracy'])}, "
            f"UAR {pct(best.summary['uar'])} ({best.summary['n_takes']} takes, "
            f"{len(best.summary['per_speaker_accuracy'])} speakers). " + copies_note
            + _normalised_note(normalised) + "`± x` is the standard deviation over outer folds; " + channel_note
            + "`permuted labels` refits each fold's chosen model on shuffled training labels (should sit near "
            "chance, or near the most frequent class's share when classes are unbalanced).",
            "",
            table(results_table(results)),
            "",
            "Reference points (published figures use their own protocols and class sets; compare with care):",
            "",
            table(references),
            "",
            "### Per-emotion recall",
            "",
            f"![recall](figures/{recall_png.name})",
            "",
            table(recall_table),
            "",
            "### Per-speaker accuracy",
            "",
            f"![speakers](figures/{speakers_png.name})",
            "",
            table(speaker_table),
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
            **{f"accuracy_{k}": float(v) for k, v in accuracy_by(r, "channel").items()},
        }
        for r in results
    }
    return markdown, {"best": best.name, "results": headline}


def _figures_row(name: str, s: dict[str, Any]) -> dict[str, str]:
    return {
        "model": name,
        "takes": str(s["n_takes"]),
        "accuracy": f"{pct(s['accuracy'])} ± {pct(s['fold_accuracy_std'])}",
        "UAR": f"{pct(s['uar'])} ± {pct(s['fold_uar_std'])}",
        "macro F1": pct(s["macro_f1"]),
        "top-3": pct(s["top3_accuracy"]),
    }


def _member(stem: str) -> str:
    """`models/learners/audio/svm-none` -> `audio/svm-none`."""
    return str(Path(stem).relative_to("models/learners"))


def fusion_group_section(group: dict[str, Any], deploy: str, figures: Path) -> str:
    """One fusion group: each rule beside its members, and the deployed rule's confusion matrix."""
    if not group["rules"]:
        return (f"### {group['name']}\n\nNot evaluated: no corpus in this run has takes in more than one of "
                f"{', '.join(group['modalities'])} (e.g. RAVDESS audio without its videos, CK+ faces without "
                "voices), so no take can be fused across them. `predict` and `evaluate` fall back to the plain "
                "mean of the modalities a clip carries.\n")
    members = group["members"]
    best_stem = max(members, key=lambda stem: members[stem]["accuracy"])
    rows = [_figures_row(f"fused: {rule}" + (" (deployed)" if rule == deploy else ""), s)
            for rule, s in group["rules"].items()]
    rows += [_figures_row(_member(stem) + (" (best single)" if stem == best_stem else ""), s)
             for stem, s in members.items()]
    frame = pd.DataFrame(rows)
    best_folds = [f["accuracy"] for f in members[best_stem]["per_fold"]]
    frame["folds above the best single"] = [
        f"{sum(f['accuracy'] > b for f, b in zip(s['per_fold'], best_folds))}/{len(best_folds)}"
        for s in group["rules"].values()
    ] + ["–"] * len(members)
    models = [*group["rules"].values(), *members.values()]
    for column, value in sorted({(c, v) for s in models for c, by in s.get("accuracy_by", {}).items() for v in by}):
        frame[f"{value} test takes"] = [pct(s["accuracy_by"].get(column, {}).get(value, np.nan)) for s in models]
    both = {rule: s["accuracy_all_modalities"] for rule, s in group["rules"].items() if "accuracy_all_modalities" in s}
    if both:
        frame["takes with every modality"] = [pct(both[r]) for r in group["rules"]] + ["–"] * len(members)
    deployed = LearnerResult("+".join(group["modalities"]), f"fused ({deploy})", group["normalisation"],
                             group["rules"][deploy], pd.DataFrame())
    png = figures / f"confusion_fused_{group['slug']}.png"
    confusion_figure(deployed, png)
    confusion = pd.DataFrame(deployed.summary["confusion"], index=deployed.summary["classes"],
                             columns=deployed.summary["classes"])
    confusion.index.name = "true \\ predicted"
    gain = group["rules"][deploy]["accuracy"] - members[best_stem]["accuracy"]
    weights = group["rules"].get("weighted", {}).get("weights", {})
    stacker_c = group["rules"].get("stacked", {}).get("C")
    selected = group["rules"].get("selected")
    carried = group.get("modalities_present", {})
    return "\n".join([
        f"### {group['name']}",
        "",
        f"Deployed rule ({deploy}): {pct(group['rules'][deploy]['accuracy'])}, "
        f"{'+' if gain >= 0 else '−'}{100 * abs(gain):.1f} points against the best single member "
        f"({_member(best_stem)}). "
        + ("Weights of the weighted rule refitted on every take: "
           + ", ".join(f"{_member(k)} {v:.2f}" for k, v in weights.items()) + ". "
           if weights else "")
        + (f"The stacker refitted on every take chose C = {stacker_c:g}. " if stacker_c else "")
        + (f"`selected` chose {', '.join(selected['chosen_per_fold'])} in the outer folds and {selected['chosen']} "
           "on every take. " if selected else "")
        + ("Modalities a take carried: " + ", ".join(f"{k} {v}" for k, v in carried.items()) + "."
           if len(carried) > 1 or "+" in "".join(carried) else ""),
        "",
        table(frame),
        "",
        f"![fused confusion]({png.parent.name}/{png.name})",
        "",
        table(confusion),
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


def _subset_figures(oof: pd.DataFrame, takes: pd.Index, classes: list[str]) -> dict[str, Any]:
    """Metrics of one model's out-of-fold table (take, label, speaker, fold, p_<class>) on `takes`."""
    rows = oof.set_index("take").loc[takes]
    proba = np.column_stack([rows[f"p_{c}"] if f"p_{c}" in rows else np.zeros(len(rows)) for c in classes])
    y = rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return metrics.figures(y, proba, classes, rows["speaker"].to_numpy(), rows["fold"].to_numpy())


def _guesses(oof: pd.DataFrame, takes: pd.Index, classes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, most probable class, speakers) of one model's out-of-fold table on `takes`, the
    guess read as `_subset_figures` reads it."""
    rows = oof.set_index("take").loc[takes]
    proba = np.column_stack([rows[f"p_{c}"] if f"p_{c}" in rows else np.zeros(len(rows)) for c in classes])
    return rows["label"].to_numpy(), np.asarray(classes)[proba.argmax(axis=1)], rows["speaker"].to_numpy()


def _ci(estimate: intervals.Estimate) -> str:
    return f"[{pct(estimate.low)}, {pct(estimate.high)}]"


def _difference(found: dict[str, intervals.Difference]) -> dict[str, str]:
    """A paired comparison's cells: each figure's difference in points, its interval and p."""
    def p(value: float) -> str:  # no resample on the other side of zero: below the bootstrap's resolution
        return f"p < {2 / intervals.N_BOOT:.3g}" if value == 0 else f"p = {value:.3g}"

    return {f"{label} difference": f"{100 * d.value:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}], {p(d.p)}"
            for label, d in (("accuracy", found["accuracy"]), ("UAR", found["uar"]))}


def answer_comparisons(corpus: str, plain: list[tuple[str, str, str, pd.DataFrame]],
                       others: dict[str, dict[str, pd.DataFrame]]) -> list[dict[str, Any]]:
    """The answer's claims, tested on the same takes by a paired speaker bootstrap: voice + face
    against the better of the voice and the face alone on the takes with both, and each decision
    speaker-normalised against plain."""
    rows = []
    by_key = {key: (name, oof) for _, key, name, oof in plain}
    for answer, key, name, oof in plain:
        takes = pd.Index(oof.loc[oof["corpus"] == corpus, "take"])
        if takes.empty:
            continue
        classes = [c.removeprefix("p_") for c in oof.columns if c.startswith("p_")]
        y, guess, speakers = _guesses(oof, takes, classes)
        if answer == "voice + face":
            face = key.removeprefix("voice_")
            alone = {k: _guesses(by_key[k][1], takes, classes)[1] for k in ("voice", face) if k in by_key}
            best = max(alone, key=lambda k: np.mean(alone[k] == y))
            rows.append({"corpus": corpus, "comparison": f"{name} vs {by_key[best][0]} (the better alone)",
                         "takes": len(takes), **_difference(intervals.paired(y, guess, alone[best], speakers))})
        for norm, normalised in others.items():
            if key in normalised:
                other = _guesses(normalised[key], takes, classes)[1]
                rows.append({"corpus": corpus, "comparison": f"{name}: {norm}-normalised vs plain", "takes": len(takes),
                             **_difference(intervals.paired(y, other, guess, speakers))})
    return rows


def answer_section(answers: dict[str, list[tuple[str, str, str, pd.DataFrame]]]) -> tuple[str, dict[str, Any]]:
    """The answer first: per corpus, what the deployed voice, face and voice + face decisions score
    on its takes (outer folds), plain and speaker-normalised. `answers[normalisation]` lists
    (answer, key, model name, out-of-fold table): the answer is voice, face or voice + face; the
    key its name in metrics.json (`voice`, `face_<modality>`, `voice_face_<modality>`)."""
    rows, headline, comparisons = [], {}, []
    plain = answers["none"]
    others = {norm: {key: oof for _, key, _, oof in entries} for norm, entries in answers.items() if norm != "none"}
    for corpus in dict.fromkeys(c for *_, oof in plain for c in oof["corpus"]):
        for answer, key, name, oof in plain:
            takes = pd.Index(oof.loc[oof["corpus"] == corpus, "take"])
            if takes.empty:
                continue
            classes = [c.removeprefix("p_") for c in oof.columns if c.startswith("p_")]
            scored = _subset_figures(oof, takes, classes)
            bounds = intervals.interval(*_guesses(oof, takes, classes))
            normalised = {norm: _subset_figures(by_key[key], takes, classes)["accuracy"]
                          for norm, by_key in others.items() if key in by_key}
            rows.append({"corpus": corpus, "answer": answer,
                         "model": name, "takes": len(takes),
                         "accuracy": f"{pct(scored['accuracy'])} ± {pct(scored['fold_accuracy_std'])}",
                         "95% CI": _ci(bounds["accuracy"]), "UAR": pct(scored["uar"]), "UAR 95% CI": _ci(bounds["uar"]),
                         "macro F1": pct(scored["macro_f1"]), "chance": pct(scored["chance"]),
                         **{f"accuracy + {norm} norm": pct(a) for norm, a in normalised.items()}})
            headline.setdefault(corpus, {})[key] = {
                "model": name, "takes": len(takes), "chance": scored["chance"],
                **{k: scored[k] for k in ("accuracy", "uar", "macro_f1", "fold_accuracy_std")},
                "accuracy_ci": [bounds["accuracy"].low, bounds["accuracy"].high],
                "uar_ci": [bounds["uar"].low, bounds["uar"].high],
                **{f"accuracy_{norm}_norm": a for norm, a in normalised.items()}}
        comparisons += answer_comparisons(corpus, plain, others)
    markdown = "\n".join([
        "## The answer",
        "",
        "Per corpus, the deployed decision of the voice, of the face and of both together (each side's "
        "learners fused by the deployed rule), scored on the corpus's takes that carry it: voice + face on "
        "the takes with both. Outer folds only: speakers each model never trained on. `± x` is the standard "
        "deviation over outer folds; chance is one over the classes. The speaker-normalised column z-scores "
        "each speaker's features with that speaker's own unlabelled clips (it needs a batch of them). Details "
        "of every learner and rule follow. The 95% intervals come from a bootstrap over speakers (whole "
        f"speakers drawn with replacement, {intervals.N_BOOT} times: the takes of one speaker are not independent).",
        "",
        table(pd.DataFrame(rows)),
        "",
        "The answer's claims on the same takes, each a paired speaker bootstrap (the same speakers drawn for both "
        "sides): the difference in points with its 95% interval and a two-sided p-value.",
        "",
        table(pd.DataFrame(comparisons)) if comparisons else "(nothing to compare)",
        "",
    ])
    return markdown, headline


def voice_face_section(
    pair: tuple[str, str], sides: tuple[str, str], models: dict[str, dict[str, pd.DataFrame]], fused: pd.DataFrame,
    classes: list[str], deploy: str, figures: Path,
) -> tuple[str, dict[str, Any]]:
    """The voice alone, the face alone and each fusion rule on the takes that carry both, with and
    without speaker normalisation, on the same outer folds; what the face adds per emotion; and
    what happens to the takes without a face.

    `pair` names the voice side (its modalities joined by +) and the face; `sides` are the rows
    holding each side's own deployed decision. `models[normalisation][row name]` is an
    out-of-fold table; `fused` is the plain cross-modal group's fused table (one rule), whose
    `carried` column says what each take had.
    """
    voice, face = pair
    both = pd.Index(fused.loc[fused["carried"] == f"{voice}+{face}", "take"])
    figures_of = {norm: {name: _subset_figures(oof, both, classes) for name, oof in rows.items()}
                  for norm, rows in models.items()}
    names = list(next(iter(models.values())))
    frame = pd.DataFrame({"model": names})
    for norm, scored in figures_of.items():
        label = suffix(norm)
        frame[f"accuracy{label}"] = [f"{pct(scored[n]['accuracy'])} ± {pct(scored[n]['fold_accuracy_std'])}"
                                     if n in scored else "–" for n in names]
        frame[f"UAR{label}"] = [pct(scored[n]["uar"]) if n in scored else "–" for n in names]
    plain = figures_of["none"]
    shown = {f"{voice} (voice)": plain[sides[0]], f"{face} (face)": plain[sides[1]], "voice + face": plain[f"fused: {deploy}"]}
    recall = pd.DataFrame({name: s["recall"] for name, s in shown.items()}).reindex(classes)
    figures.mkdir(parents=True, exist_ok=True)
    png = figures / f"recall_voice_face_{voice}+{face}.png"
    grouped_bars(recall, "recall", f"{voice} + {face}: recall, takes with both", png,
                 1 / len(classes))
    recall_table = recall.map(pct)
    recall_table["face adds"] = [f"{100 * (f - v):+.1f}" for f, v in zip(recall["voice + face"], recall[f"{voice} (voice)"])]
    recall_table.index.name = "emotion"
    alone = fused[fused["carried"] != f"{voice}+{face}"]
    alone_by = alone.groupby(["carried", "channel"], dropna=False).size()
    alone_correct = (alone["label"] == alone["predicted"]).mean() if len(alone) else np.nan
    references = pd.DataFrame([{"reference": name, "accuracy": pct(value)} for name, value in VOICE_FACE_REFERENCES])
    markdown = "\n".join([
        f"## Voice + face: {', '.join(sorted(set(fused['corpus'])))} ({voice} + {face})",
        "",
        f"The {len(both)} takes that carry both a voice ({voice}) and a face ({face}): every row is scored on "
        "exactly these takes, on the same outer speaker-disjoint folds, so the rows compare directly. "
        f"`{sides[0]}` and `{sides[1]}` are each side's own deployed decision (its learners fused by the "
        f"deployed rule, {deploy}, when it has several); the `fused:` rows fuse all learners of both. "
        "`± x` is the standard deviation over outer folds; the speaker-normalised columns z-score each "
        "speaker's features with that speaker's own unlabelled clips (see the modality sections).",
        "",
        table(frame),
        "",
        "Per-emotion recall on the same takes (plain features, deployed rule); `face adds` is voice + face "
        "minus the voice alone, in points:",
        "",
        f"![voice and face recall](figures/{png.name})",
        "",
        table(recall_table),
        "",
        f"Takes without one of the two ({len(alone)}) are fused from the modality they have (the voice falls "
        "back to its own learners): "
        + ", ".join(f"{n} {carried}-only {channel if isinstance(channel, str) else ''}".replace("  ", " ").strip()
                    for (carried, channel), n in alone_by.items())
        + (f"; the deployed rule's accuracy on them is {pct(alone_correct)}" if len(alone) else "")
        + f"; on all {len(fused)} takes it is {pct((fused['label'] == fused['predicted']).mean())}.",
        "",
        "Reference points (their own protocols; compare with care):",
        "",
        table(references),
        "",
    ])
    headline = {"n_takes_with_both": int(len(both)),
                **{f"{name}{'' if norm == 'none' else f' + {norm} norm'}": {k: s[k] for k in ("accuracy", "uar")}
                   for norm, scored in figures_of.items() for name, s in scored.items()}}
    return markdown, headline


def voice_sets_section(models: dict[str, dict[str, pd.DataFrame]], classes: list[str]) -> tuple[str, dict[str, Any]]:
    """The voice's feature sets alone and fused, on the takes every one of them measured and the
    same outer folds: the ablation own vs openSMILE vs both, split by vocal channel.
    `models[normalisation][row name]` is an out-of-fold table (take, label, predicted, channel, ...)."""
    tables_ = [oof for rows in models.values() for oof in rows.values()]
    common = pd.Index(sorted(set.intersection(*(set(t["take"]) for t in tables_))))
    names = list(models["none"])
    frame = pd.DataFrame({"model": names})
    headline: dict[str, Any] = {}
    for norm, rows in models.items():
        label = suffix(norm)
        scored = {n: _subset_figures(oof, common, classes) for n, oof in rows.items()}
        channel = {n: _accuracy_by_channel(oof, common) for n, oof in rows.items()}
        frame[f"accuracy{label}"] = [f"{pct(scored[n]['accuracy'])} ± {pct(scored[n]['fold_accuracy_std'])}" for n in names]
        frame[f"UAR{label}"] = [pct(scored[n]["uar"]) for n in names]
        for value in sorted(set().union(*(c.index for c in channel.values())), key=lambda v: (v != "speech", v)):
            frame[f"{value}{label}"] = [pct(channel[n].get(value, np.nan)) for n in names]
        headline |= {f"{n}{label}": {"accuracy": scored[n]["accuracy"], "uar": scored[n]["uar"],
                                     **{f"accuracy_{k}": float(v) for k, v in channel[n].items()}} for n in names}
    markdown = "\n".join([
        "## Voice: feature sets alone and together",
        "",
        f"The {len(common)} takes every voice feature set measured, on the same outer speaker folds: each "
        "learner, each set's deployed decision, and all the voice's learners fused (the ablation: own "
        "features vs openSMILE vs both). The `speech`/`song` columns split the same predictions by the test "
        "take's vocal channel. `± x` is the standard deviation over outer folds.",
        "",
        table(frame),
        "",
    ])
    return markdown, headline


def _accuracy_by_channel(oof: pd.DataFrame, takes: pd.Index) -> pd.Series:
    rows = oof.set_index("take").loc[takes]
    return (rows["label"] == rows["predicted"]).groupby(rows["channel"]).mean()


def learning_curve_section(curve: pd.DataFrame, model: str, chance: float, figures: Path) -> tuple[str, dict[str, Any]]:
    """Outer-fold accuracy against the number of training speakers (`evaluation.learning_curve`):
    the mean over folds with each fold's point, and the table."""
    by = curve.groupby("speakers")
    summary = pd.DataFrame({"takes per fold (mean)": by["takes"].mean().round().astype(int),
                            "accuracy": by["accuracy"].mean(), "± over folds": by["accuracy"].std(ddof=0),
                            "UAR": by["uar"].mean()})
    figures.mkdir(parents=True, exist_ok=True)
    png = figures / "learning_curve.png"
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(curve["speakers"], curve["accuracy"], color="lightgrey", label="one outer fold", zorder=2)
    ax.errorbar(summary.index, summary["accuracy"], yerr=summary["± over folds"], marker="o", capsize=3,
                label="mean over folds", zorder=3)
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(summary.index)
    ax.set_ylim(0, 1)
    ax.set_xlabel("training speakers per outer fold")
    ax.set_ylabel("outer-fold accuracy")
    ax.set_title(f"{model}: learning curve by speakers")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    shown = summary.assign(**{c: summary[c].map(pct) for c in ("accuracy", "± over folds", "UAR")})
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
        table(shown),
        "",
    ])
    return markdown, {"model": model, **{str(n): {"accuracy": float(r["accuracy"]), "uar": float(r["UAR"])}
                                         for n, r in summary.iterrows()}}


def comparison_section(
    main: LearnerResult | None, variants: dict[str, tuple[dict[str, Any], LearnerResult]]
) -> str:
    """The main run (when `run` trains the compared learner) beside each retrained subset, split by
    the test takes' channel and intensity."""
    def row(name: str, selection: str, result: LearnerResult) -> dict[str, str]:
        s = result.summary
        splits = {**accuracy_by(result, "channel").to_dict(), **accuracy_by(result, "intensity").to_dict()}
        return {"variant": name, "trained and tested on": selection, "classes": str(len(s["classes"])),
                **_figures_row(result.name, s), "chance": pct(s["chance"]),
                **{f"{k} test takes": pct(v) for k, v in splits.items()}}

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
        table(frame),
        "",
    ])


def build(
    takes: pd.DataFrame, rejects: pd.DataFrame, results: list[LearnerResult], fusions: list[dict[str, Any]],
    comparisons: tuple[LearnerResult | None, dict[str, tuple[dict[str, Any], LearnerResult]]] | None,
    figures: Path, settings: dict[str, Any], deploy: str, voice_face: dict[str, tuple[str, dict[str, Any]]] | None = None,
    voice_sets: tuple[str, dict[str, Any]] | None = None, learning_curve: tuple[str, dict[str, Any]] | None = None,
    answer: tuple[str, dict[str, Any]] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Return the report's Markdown and its headline metrics (for reports/metrics.json); `voice_face`
    maps a voice+face pair to its `voice_face_section`, shown first, then `voice_sets` (the
    `voice_sets_section`, when the voice has several feature sets); `learning_curve` is the
    `learning_curve_section`, after the modalities; `answer` the `answer_section`, first of all.)"""
    figures.mkdir(parents=True, exist_ok=True)
    modalities = list(dict.fromkeys(r.modality for r in results))
    sections = {m: modality_section(m, [r for r in results if r.modality == m], figures) for m in modalities}
    markdown = "\n".join(
        [
            "# avemotion report",
            "",
            "Emotion recognition from the voice and the face, evaluated on speakers the models never saw: "
            f"{settings['outer_folds']} outer folds, each holding out a disjoint set of speakers; "
            f"inside each outer training part, a randomized then a grid search on "
            f"{settings['inner_folds']} speaker-grouped inner folds (scored by {settings['scoring']}). "
            "Every figure below is from the outer test speakers only.",
            "",
            answer[0] if answer else "",
            *[markdown for markdown, _ in (voice_face or {}).values()],
            voice_sets[0] if voice_sets else "",
            data_summary(takes, rejects),
            "",
            *[sections[m][0] for m in modalities],
            learning_curve[0] if learning_curve else "",
            fusion_section(fusions, deploy, figures) if fusions else "",
            comparison_section(*comparisons) if comparisons else "",
        ]
    )
    headline = {
        **({"answer": answer[1]} if answer else {}),
        "n_takes": int(len(takes)),
        **{m: sections[m][1] for m in modalities},
        "voice_face": {pair: figures for pair, (_, figures) in (voice_face or {}).items()},
        **({"voice_sets": voice_sets[1]} if voice_sets else {}),
        **({"learning_curve": learning_curve[1]} if learning_curve else {}),
        "fusion": {g["name"]: {rule: {k: s[k] for k in ("accuracy", "uar", "fold_accuracy_std")}
                               for rule, s in g["rules"].items()} for g in fusions if g["rules"]},
    }
    if comparisons:
        headline["compare"] = {name: {k: r.summary[k] for k in ("accuracy", "uar", "top3_accuracy")}
                               for name, (_, r) in comparisons[1].items()}
    return markdown, headline

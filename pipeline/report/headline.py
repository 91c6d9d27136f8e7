"""The report's headline sections: the answer (each corpus's deployed voice, face and voice + face
decisions with 95% intervals and paired comparisons), voice + face against each side alone,
and the voice feature sets against each other.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.learn import fusion, runplan
from pipeline.learn.normalisation import suffix
from pipeline.report import charts, formatting, intervals, registry, trained


VOICE_FACE_REFERENCES = [  # RAVDESS speech, 8 classes, speaker-independent protocols of their own
    ("RAVDESS raters, audio-visual (Livingstone & Russo 2018)", 0.80),
    ("RAVDESS raters, audio only (Livingstone & Russo 2018)", 0.60),
    ("Deep late fusion, subject-wise 5 folds (Luna-Jiménez et al. 2021)", 0.801),
    ("wav2vec2 + facial action units (Luna-Jiménez et al. 2022)", 0.867),
]


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
        y, guess, speakers = trained.guesses(oof, takes, classes)
        if answer == "voice + face":
            face = key.removeprefix("voice_")
            alone = {k: trained.guesses(by_key[k][1], takes, classes)[1] for k in ("voice", face) if k in by_key}
            best = max(alone, key=lambda k: np.mean(alone[k] == y))
            rows.append({"corpus": corpus, "comparison": f"{name} vs {by_key[best][0]} (the better alone)",
                         "takes": len(takes), **formatting.difference(intervals.paired(y, guess, alone[best], speakers))})
        for norm, normalised in others.items():
            if key in normalised:
                other = trained.guesses(normalised[key], takes, classes)[1]
                rows.append({"corpus": corpus, "comparison": f"{name}: {norm}-normalised vs plain", "takes": len(takes),
                             **formatting.difference(intervals.paired(y, other, guess, speakers))})
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
            scored = trained.subset_figures(oof, takes, classes)
            bounds = intervals.interval(*trained.guesses(oof, takes, classes))
            normalised = {norm: trained.subset_figures(by_key[key], takes, classes)["accuracy"]
                          for norm, by_key in others.items() if key in by_key}
            rows.append({"corpus": corpus, "answer": answer,
                         "model": name, "takes": len(takes),
                         "accuracy": f"{formatting.pct(scored['accuracy'])} ± {formatting.pct(scored['fold_accuracy_std'])}",
                         "95% CI": formatting.ci(bounds["accuracy"]), "UAR": formatting.pct(scored["uar"]), "UAR 95% CI": formatting.ci(bounds["uar"]),
                         "macro F1": formatting.pct(scored["macro_f1"]), "chance": formatting.pct(scored["chance"]),
                         **{f"accuracy + {norm} norm": formatting.pct(a) for norm, a in normalised.items()}})
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
        formatting.table(pd.DataFrame(rows)),
        "",
        "The answer's claims on the same takes, each a paired speaker bootstrap (the same speakers drawn for both "
        "sides): the difference in points with its 95% interval and a two-sided p-value.",
        "",
        formatting.table(pd.DataFrame(comparisons)) if comparisons else "(nothing to compare)",
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
    figures_of = {norm: {name: trained.subset_figures(oof, both, classes) for name, oof in rows.items()}
                  for norm, rows in models.items()}
    names = list(next(iter(models.values())))
    frame = pd.DataFrame({"model": names})
    for norm, scored in figures_of.items():
        label = suffix(norm)
        frame[f"accuracy{label}"] = [f"{formatting.pct(scored[n]['accuracy'])} ± {formatting.pct(scored[n]['fold_accuracy_std'])}"
                                     if n in scored else "–" for n in names]
        if norm == "none":
            frame["95% CI"] = [formatting.ci(speaker_interval(models[norm][n], both, classes)) for n in names]
        frame[f"UAR{label}"] = [formatting.pct(scored[n]["uar"]) if n in scored else "–" for n in names]
    rules = paired_rows(models["none"], [n for n in names if n.startswith("fused: ")], f"fused: {deploy}", both,
                        classes, "(deployed)")
    plain = figures_of["none"]
    shown = {f"{voice} (voice)": plain[sides[0]], f"{face} (face)": plain[sides[1]], "voice + face": plain[f"fused: {deploy}"]}
    recall = pd.DataFrame({name: s["recall"] for name, s in shown.items()}).reindex(classes)
    figures.mkdir(parents=True, exist_ok=True)
    png = figures / f"recall_voice_face_{voice}+{face}.png"
    charts.grouped_bars(recall, "recall", f"{voice} + {face}: recall, takes with both", png,
                 1 / len(classes))
    recall_table = recall.map(formatting.pct)
    recall_table["face adds"] = [f"{100 * (f - v):+.1f}" for f, v in zip(recall["voice + face"], recall[f"{voice} (voice)"])]
    recall_table.index.name = "emotion"
    alone = fused[fused["carried"] != f"{voice}+{face}"]
    alone_by = alone.groupby(["carried", "channel"], dropna=False).size()
    alone_correct = (alone["label"] == alone["predicted"]).mean() if len(alone) else np.nan
    references = pd.DataFrame([{"reference": name, "accuracy": formatting.pct(value)} for name, value in VOICE_FACE_REFERENCES])
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
        formatting.table(frame),
        "",
        "Each fusion rule against the deployed one on these takes, paired speaker bootstrap (the difference in "
        "points, its 95% interval, a two-sided p-value):",
        "",
        formatting.table(pd.DataFrame(rules)) if rules else "(one rule: nothing to compare)",
        "",
        "Per-emotion recall on the same takes (plain features, deployed rule); `face adds` is voice + face "
        "minus the voice alone, in points:",
        "",
        f"![voice and face recall](figures/{png.name})",
        "",
        formatting.table(recall_table),
        "",
        f"Takes without one of the two ({len(alone)}) are fused from the modality they have (the voice falls "
        "back to its own learners): "
        + ", ".join(f"{n} {carried}-only {channel if isinstance(channel, str) else ''}".replace("  ", " ").strip()
                    for (carried, channel), n in alone_by.items())
        + (f"; the deployed rule's accuracy on them is {formatting.pct(alone_correct)}" if len(alone) else "")
        + f"; on all {len(fused)} takes it is {formatting.pct((fused['label'] == fused['predicted']).mean())}.",
        "",
        "Reference points (their own protocols; compare with care):",
        "",
        formatting.table(references),
        "",
    ])
    headline = {"n_takes_with_both": int(len(both)),
                **{f"{name}{'' if norm == 'none' else f' + {norm} norm'}": {k: s[k] for k in ("accuracy", "uar")}
                   for norm, scored in figures_of.items() for name, s in scored.items()}}
    return markdown, headline


def voice_sets_section(models: dict[str, dict[str, pd.DataFrame]], classes: list[str], decisions: list[str],
                       ) -> tuple[str, dict[str, Any]]:
    """The voice's feature sets alone and fused, on the takes every one of them measured and the
    same outer folds: the ablation own vs openSMILE vs both, split by vocal channel, and each
    set's decision (`decisions`: the own features' first) tested against the own features'.
    `models[normalisation][row name]` is an out-of-fold table (take, label, predicted, channel, ...)."""
    tables_ = [oof for rows in models.values() for oof in rows.values()]
    common = pd.Index(sorted(set.intersection(*(set(t["take"]) for t in tables_))))
    names = list(models["none"])
    frame = pd.DataFrame({"model": names})
    headline: dict[str, Any] = {}
    for norm, rows in models.items():
        label = suffix(norm)
        scored = {n: trained.subset_figures(oof, common, classes) for n, oof in rows.items()}
        channel = {n: trained.accuracy_by_channel(oof, common) for n, oof in rows.items()}
        frame[f"accuracy{label}"] = [f"{formatting.pct(scored[n]['accuracy'])} ± {formatting.pct(scored[n]['fold_accuracy_std'])}" for n in names]
        if norm == "none":
            frame["95% CI"] = [formatting.ci(speaker_interval(rows[n], common, classes)) for n in names]
        frame[f"UAR{label}"] = [formatting.pct(scored[n]["uar"]) for n in names]
        for value in sorted(set().union(*(c.index for c in channel.values())), key=lambda v: (v != "speech", v)):
            frame[f"{value}{label}"] = [formatting.pct(channel[n].get(value, np.nan)) for n in names]
        headline |= {f"{n}{label}": {"accuracy": scored[n]["accuracy"], "uar": scored[n]["uar"],
                                     **{f"accuracy_{k}": float(v) for k, v in channel[n].items()}} for n in names}
    markdown = "\n".join([
        "## Voice: feature sets alone and together",
        "",
        f"The {len(common)} takes every voice feature set measured, on the same outer speaker folds: each "
        "learner, each set's deployed decision, and all the voice's learners fused (the ablation: own "
        "features vs openSMILE vs both). The `speech`/`song` columns split the same predictions by the test "
        "take's vocal channel. `± x` is the standard deviation over outer folds; the 95% interval is a "
        "bootstrap over speakers.",
        "",
        formatting.table(frame),
        "",
        "Each feature set's decision, and all of them fused, against the own features' on these takes (paired "
        "speaker bootstrap):",
        "",
        formatting.table(pd.DataFrame(paired_rows(models["none"], decisions[1:], decisions[0], common, classes,
                                                  "(own features)"))),
        "",
    ])
    return markdown, headline


def speaker_interval(oof: pd.DataFrame, takes: pd.Index, classes: list[str]) -> intervals.Estimate:
    """The 95% interval of one model's accuracy on `takes`, by a bootstrap over speakers."""
    return intervals.interval(*trained.guesses(oof, takes, classes))["accuracy"]


def paired_rows(rows: dict[str, pd.DataFrame], names: list[str], reference: str, takes: pd.Index,
                classes: list[str], role: str) -> list[dict[str, Any]]:
    """Each of `names` against `reference` on the same `takes`: the paired speaker bootstrap's
    differences (accuracy, UAR) as table rows."""
    y, base, speakers = trained.guesses(rows[reference], takes, classes)
    return [{"comparison": f"{name} vs {reference} {role}", "takes": len(takes),
             **formatting.difference(intervals.paired(y, trained.guesses(rows[name], takes, classes)[1], base, speakers))}
            for name in names if name != reference]


def voice_face(
    group: fusion.Group, classes: list[str], plan: runplan.RunPlan, results: list[trained.LearnerResult], deploy: str,
) -> tuple[str, dict]:
    """`voice_face_section` of a voices+face group, from the out-of-fold tables of its
    learners, each side's own decision and each cross-modal rule, per normalisation."""
    voices, face = group.modalities[:-1], group.modalities[-1]
    models: dict[str, dict[str, pd.DataFrame]] = {}
    for normalisation in plan.normalisations:
        rows = trained.learner_rows(group.modalities, normalisation, results)
        sides = [trained.deployed_alone(voices, normalisation, results, deploy), trained.deployed_alone((face,), normalisation, results, deploy)]
        rows.update(dict(sides))
        fused = pd.read_parquet(f"{paths.fusion_stem(replace(group, normalisation=normalisation).slug)}.oof.parquet")
        rows.update({f"fused: {rule}": part for rule, part in fused.groupby("rule", sort=False)})
        models[normalisation] = rows
    plain = models["none"][f"fused: {deploy}"]
    return voice_face_section(("+".join(voices), face), tuple(name for name, _ in sides), models, plain,
                                     classes, deploy, Path("reports/figures"))


def voice_sets(plan: runplan.RunPlan, results: list[trained.LearnerResult], deploy: str, classes: list[str]) -> tuple[str, dict]:
    """`voice_sets_section`: each voice feature set's learners and own decision, and all fused."""
    voices = tuple(plan.of_kind("voice"))
    models, decisions = {}, {}
    for normalisation in plan.normalisations:
        rows = trained.learner_rows(voices, normalisation, results)
        found = [trained.deployed_alone(m, normalisation, results, deploy) for m in [(v,) for v in voices] + [voices]]
        rows.update(found)
        models[normalisation], decisions[normalisation] = rows, [name for name, _ in found]
    return voice_sets_section(models, classes, decisions["none"])


def answers(plan: runplan.RunPlan, results: list[trained.LearnerResult], deploy: str,
            ) -> dict[str, list[tuple[str, str, str, pd.DataFrame]]]:
    """`answer_section`'s rows per normalisation: the voices' deployed decision, each face
    modality's, and the two fused (the takes that carry both) where they met."""
    voices = tuple(plan.of_kind("voice"))
    out: dict[str, list[tuple[str, str, str, pd.DataFrame]]] = {}
    for normalisation in plan.normalisations:
        rows = [("voice", "voice", *trained.deployed_alone(voices, normalisation, results, deploy))] if voices else []
        for face in plan.of_kind("face"):
            rows.append(("face", f"face_{face}", *trained.deployed_alone((face,), normalisation, results, deploy)))
            pair = "+".join((*voices, face))
            fused = trained.fused_rows(f"{pair}-{normalisation}", deploy) if voices else None
            if fused is not None:
                rows.append(("voice + face", f"voice_face_{face}", f"{pair}/fused ({deploy})",
                             fused[fused["carried"] == pair]))
        out[normalisation] = rows
    return out


ANSWER_FIGURES = ("accuracy", "uar", "accuracy_speaker_norm")


def answer_metrics(answer: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict[str, float]]]:
    """The project's headline, about twenty numbers: per corpus, the deployed voice, face and voice +
    face decisions' accuracy, UAR and speaker-normalised accuracy (the rest is in metrics_details)."""
    return {corpus: {name: {k: figures[k] for k in ANSWER_FIGURES if k in figures} for name, figures in answers.items()}
            for corpus, answers in answer.items()}


@registry.section("answer", place=10)
def answer_part(inputs: registry.Inputs) -> registry.Part:
    return registry.Part(*answer_section(answers(inputs.plan, inputs.results, inputs.deploy)))


@registry.section("voice_face", place=20)
def voice_face_part(inputs: registry.Inputs) -> registry.Part:
    """Each voices+face group that met on some take (plain), against each side alone."""
    plan = inputs.plan
    met = [(g, f) for g, f in zip(inputs.groups, inputs.fusions)
           if g.normalisation == "none" and plan.kinds[g.modalities[-1]] == "face" and len(g.modalities) > 1
           and "+".join(g.modalities) in f.get("modalities_present", {})]
    found = {"+".join(g.modalities): voice_face(g, f["classes"], plan, inputs.results, inputs.deploy) for g, f in met}
    return registry.Part("\n".join(markdown for markdown, _ in found.values()),
                         {pair: figures for pair, (_, figures) in found.items()})


@registry.section("voice_sets", place=30)
def voice_sets_part(inputs: registry.Inputs) -> registry.Part | None:
    """The voice feature sets against each other, when the voice has several."""
    voices = tuple(inputs.plan.of_kind("voice"))
    if len(voices) < 2:
        return None
    joined = next(f for g, f in zip(inputs.groups, inputs.fusions) if g.modalities == voices)
    return registry.Part(*voice_sets(inputs.plan, inputs.results, inputs.deploy, joined["classes"]))

"""Stage `report`: every trained learner's, fusion group's and comparison variant's results ->
reports/report.md, metrics.json (the answer: what `dvc metrics show` and `dvc exp show` compare),
metrics_details.json (every figure), figures/."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from pipeline import io, paths
from pipeline.learn import fusion, runplan
from pipeline.report import markdown, plot_data


def load_result(stem: str | Path, modality: str, learner: str, normalisation: str) -> markdown.LearnerResult:
    summary, oof = io.read_json(f"{stem}.json"), pd.read_parquet(f"{stem}.oof.parquet")
    return markdown.LearnerResult(modality, learner, normalisation, summary, oof)


def fused_rows(slug: str, rule: str) -> pd.DataFrame | None:
    """The out-of-fold rows of fusion group `slug` under `rule`; None if the fuse stage wrote none."""
    path = Path(f"{paths.fusion_stem(slug)}.oof.parquet")
    if not path.exists():
        return None
    table = pd.read_parquet(path)
    return table[table["rule"] == rule]


def deployed_alone(
    modalities: tuple[str, ...], normalisation: str, results: list[markdown.LearnerResult], deploy: str
) -> tuple[str, pd.DataFrame]:
    """(row name, out-of-fold table) of the decision `modalities` make on their own: their fused
    group's deployed rule, or their one learner."""
    fused = fused_rows(f"{'+'.join(modalities)}-{normalisation}", deploy)
    if fused is not None:
        return f"{'+'.join(modalities)}/fused ({deploy})", fused
    (only,) = [r for r in results if r.modality in modalities and r.normalisation == normalisation]
    return f"{only.modality}/{only.learner}", only.oof


def learner_rows(modalities: tuple[str, ...], normalisation: str, results: list[markdown.LearnerResult]) -> dict:
    return {f"{r.modality}/{r.learner}": r.oof for r in results
            if r.modality in modalities and r.normalisation == normalisation}


def voice_face(
    group: fusion.Group, classes: list[str], plan: runplan.RunPlan, results: list[markdown.LearnerResult], deploy: str,
) -> tuple[str, dict]:
    """`markdown.voice_face_section` of a voices+face group, from the out-of-fold tables of its
    learners, each side's own decision and each cross-modal rule, per normalisation."""
    voices, face = group.modalities[:-1], group.modalities[-1]
    models: dict[str, dict[str, pd.DataFrame]] = {}
    for normalisation in plan.normalisations:
        rows = learner_rows(group.modalities, normalisation, results)
        sides = [deployed_alone(voices, normalisation, results, deploy), deployed_alone((face,), normalisation, results, deploy)]
        rows.update(dict(sides))
        fused = pd.read_parquet(f"{paths.fusion_stem(replace(group, normalisation=normalisation).slug)}.oof.parquet")
        rows.update({f"fused: {rule}": part for rule, part in fused.groupby("rule", sort=False)})
        models[normalisation] = rows
    plain = models["none"][f"fused: {deploy}"]
    return markdown.voice_face_section(("+".join(voices), face), tuple(name for name, _ in sides), models, plain,
                                     classes, deploy, Path("reports/figures"))


def voice_sets(plan: runplan.RunPlan, results: list[markdown.LearnerResult], deploy: str, classes: list[str]) -> tuple[str, dict]:
    """`markdown.voice_sets_section`: each voice feature set's learners and own decision, and all fused."""
    voices = tuple(plan.of_kind("voice"))
    models = {}
    for normalisation in plan.normalisations:
        rows = learner_rows(voices, normalisation, results)
        for modality in voices:
            name, table = deployed_alone((modality,), normalisation, results, deploy)
            rows[name] = table
        rows.update([deployed_alone(voices, normalisation, results, deploy)])
        models[normalisation] = rows
    return markdown.voice_sets_section(models, classes)


def answers(plan: runplan.RunPlan, results: list[markdown.LearnerResult], deploy: str,
            ) -> dict[str, list[tuple[str, str, str, pd.DataFrame]]]:
    """`markdown.answer_section`'s rows per normalisation: the voices' deployed decision, each face
    modality's, and the two fused (the takes that carry both) where they met."""
    voices = tuple(plan.of_kind("voice"))
    out: dict[str, list[tuple[str, str, str, pd.DataFrame]]] = {}
    for normalisation in plan.normalisations:
        rows = [("voice", "voice", *deployed_alone(voices, normalisation, results, deploy))] if voices else []
        for face in plan.of_kind("face"):
            rows.append(("face", f"face_{face}", *deployed_alone((face,), normalisation, results, deploy)))
            pair = "+".join((*voices, face))
            fused = fused_rows(f"{pair}-{normalisation}", deploy) if voices else None
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


def main() -> None:
    params = io.load_params()
    plan = runplan.plan(params)
    deploy = fusion.checked_deploy(params["fuse"])
    takes = pd.read_parquet(paths.MANIFEST)
    rejects = pd.concat(
        [pd.read_parquet(paths.REJECTS)] + [pd.read_parquet(paths.feature_rejects(m)) for m in plan.modalities],
        ignore_index=True,
    )
    results = [load_result(paths.model_stem(m, learner, normalisation), m, learner, normalisation)
               for m, learners in plan.learners.items() for normalisation in plan.normalisations for learner in learners]
    groups = fusion.groups(plan)
    fusions = [io.read_json(f"{paths.fusion_stem(group.slug)}.json") for group in groups]
    met = [(g, f) for g, f in zip(groups, fusions)  # the voice+face groups that met on some take
           if g.normalisation == "none" and plan.kinds[g.modalities[-1]] == "face" and len(g.modalities) > 1
           and "+".join(g.modalities) in f.get("modalities_present", {})]
    voice_faces = {"+".join(g.modalities): voice_face(g, f["classes"], plan, results, deploy) for g, f in met}
    sets = None
    if len(plan.of_kind("voice")) > 1:
        joined = next(f for g, f in zip(groups, fusions) if g.modalities == tuple(plan.of_kind("voice")))
        sets = voice_sets(plan, results, deploy, joined["classes"])
    compare = params["compare"]
    main_run = (compare["modality"], compare["learner"], compare["normalisation"])
    comparisons = None
    if compare["variants"]:
        comparisons = (
            next((r for r in results if (r.modality, r.learner, r.normalisation) == main_run), None),
            {name: (selection, load_result(paths.variant_stem(name), *main_run))
             for name, selection in compare["variants"].items()},
        )
    curve, curve_table = None, None
    if "learning_curve" in params:
        block = params["learning_curve"]
        measured = pd.read_parquet(paths.features(block["modality"]), columns=["take"])["take"]
        classes = set(takes.loc[takes["take"].isin(measured), "label"])
        curve_table = pd.read_csv(paths.LEARNING_CURVE)
        curve = markdown.learning_curve_section(
            curve_table, runplan.model_name(block["modality"], block["learner"], block["normalisation"]),
            1 / len(classes), Path("reports/figures"))
    text, headline = markdown.build(takes, rejects, results, fusions, comparisons, Path("reports/figures"),
                                      params["train"], deploy, voice_faces, sets, curve,
                                      markdown.answer_section(answer_rows := answers(plan, results, deploy)))
    io.write_text(text + "\n", "reports/report.md")
    plain = learner_rows(tuple(plan.modalities), "none", results)
    plain |= {f"{g.name} ({deploy})": rows for g in groups if g.normalisation == "none"
              and (rows := fused_rows(g.slug, deploy)) is not None}
    plot_data.write(plain, curve_table, Path("reports/plots"))
    plot_data.write_answer({f"{corpus}-{key}": oof[oof["corpus"] == corpus] for _, key, _, oof in answer_rows["none"]
                            for corpus in sorted(oof["corpus"].unique())}, Path("reports/plots"))
    io.write_json(headline, "reports/metrics_details.json")
    io.write_json(answer_metrics(headline["answer"]), "reports/metrics.json")
    best = ", ".join(headline[m]["best"] for m in plan.modalities)
    print(f"report: reports/report.md (best: {best})")


if __name__ == "__main__":
    main()

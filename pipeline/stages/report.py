"""Stage `report`: every trained learner's, fusion group's and comparison variant's results ->
reports/report.md (the answer, voice + face, the feature sets, the learning curve, across corpora,
the uncertainty of the deployed decisions, adapting to a new speaker), details/ (the
data, each modality's learners, fusion, the variants), metrics.json (the answer: what `dvc metrics
show` and `dvc exp show` compare), metrics_details.json (every figure), figures/, plots/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import checks, entry, io, paths
from pipeline.learn import adaptation, conformal, dataset, evaluation, fusion, importance, novelty, runplan
from pipeline.report import (across, adapting, cues, formatting, headline, plot_data, robustness, sections, trained,
                             uncertainty)
from pipeline.learn.normalisation import suffix


def conditions_heard() -> list[str]:
    """The recording conditions the conditions stage measured, in the order `robustness.conditions` names them."""
    record = paths.CONDITIONS / "conditions.json"
    return io.read_json(record)["conditions"] if record.exists() else []


def held_out_scores(modalities: tuple[str, ...] | list[str]) -> tuple[dict[str, pd.Series], float]:
    """Each modality's held-out novelty scores by take (the novelty stages' out-of-fold tables) and the flag rate."""
    scores = {m: pd.read_parquet(f"{paths.novelty_stem(m)}.oof.parquet").set_index("take")["score"] for m in modalities}
    return scores, io.read_json(f"{paths.novelty_stem(modalities[0])}.json")["flag_rate"]


def flagged_where_all(scored: dict[str, pd.Series], held_out: dict[str, pd.Series], rate: float) -> pd.Series:
    """For each row every modality scored (their scores joined on the index): whether the novelty
    flag marks it, each modality tested against its held-out scores at the rate their number leaves."""
    carried = pd.concat(scored.values(), axis=1, join="inner", keys=list(scored))
    sorted_out = {m: np.sort(held_out[m].to_numpy()) for m in scored}
    flagged = novelty.flagged_together({m: carried[m].to_numpy() for m in scored}, sorted_out, rate)
    return pd.Series(flagged, index=carried.index)


def flagged_by_condition(modalities: tuple[str, ...]) -> dict[str, float]:
    """The share of the sampled takes under each recording condition that the novelty flag marks,
    for a clip of these modalities (each score from the take's own fold's model)."""
    if not modalities:
        return {}
    heard = {m: pd.read_parquet(f"{paths.novelty_stem(m)}.conditions.parquet").set_index(["take", "condition"])["score"]
             for m in modalities}
    if not all(len(s) for s in heard.values()):
        return {}
    held_out, rate = held_out_scores(modalities)
    return flagged_where_all(heard, held_out, rate).groupby(level="condition", sort=False).mean().to_dict()


def flagged_by_decision(plan: runplan.RunPlan) -> dict[str, float]:
    """Each plain fused decision's share of held-out takes (those carrying all its modalities) that
    the novelty flag marks: any of its modalities, each at the rate their number leaves."""
    held_out, rate = held_out_scores(plan.modalities)
    out = {}
    for group in (g for g in fusion.groups(plan) if g.normalisation == "none"):
        flagged = flagged_where_all({m: held_out[m] for m in group.modalities}, held_out, rate)
        if len(flagged):
            out[group.name] = float(flagged.mean())
    return out


def main() -> None:
    params = io.load_params()
    plan = runplan.plan(params)
    deploy = fusion.FuseSettings.from_params(params).deploy
    takes = pd.read_parquet(paths.MANIFEST)
    rejects = pd.concat(
        [pd.read_parquet(paths.REJECTS)] + [pd.read_parquet(paths.feature_rejects(m)) for m in plan.modalities],
        ignore_index=True,
    )
    results = [trained.load_result(paths.model_stem(m, learner, normalisation), m, learner, normalisation)
               for m, learners in plan.learners.items() for normalisation in plan.normalisations for learner in learners]
    groups = fusion.groups(plan)
    fusions = [io.read_json(f"{paths.fusion_stem(group.slug)}.json") for group in groups]
    met = [(g, f) for g, f in zip(groups, fusions)  # the voice+face groups that met on some take
           if g.normalisation == "none" and plan.kinds[g.modalities[-1]] == "face" and len(g.modalities) > 1
           and "+".join(g.modalities) in f.get("modalities_present", {})]
    voice_faces = {"+".join(g.modalities): headline.voice_face(g, f["classes"], plan, results, deploy) for g, f in met}
    sets = None
    if len(plan.of_kind("voice")) > 1:
        joined = next(f for g, f in zip(groups, fusions) if g.modalities == tuple(plan.of_kind("voice")))
        sets = headline.voice_sets(plan, results, deploy, joined["classes"])
    compare = dataset.CompareSettings.from_params(params)
    comparisons = None
    if compare.variants:
        comparisons = (
            next((r for r in results if (r.modality, r.learner, r.normalisation) == compare.run), None),
            {name: (selection, trained.load_result(paths.variant_stem(name), *compare.run))
             for name, selection in compare.variants.items()},
        )
    curve, curve_table = None, None
    if "learning_curve" in params:
        curve_of = evaluation.CurveSettings.from_params(params)
        measured = pd.read_parquet(paths.features(curve_of.modality), columns=["take"])["take"]
        classes = set(takes.loc[takes["take"].isin(measured), "label"])
        curve_table = pd.read_csv(paths.LEARNING_CURVE)
        curve = sections.learning_curve_section(
            curve_table, runplan.model_name(curve_of.modality, curve_of.learner, curve_of.normalisation),
            1 / len(classes), Path("reports/figures"))
    train = checks.from_block("train", evaluation.TrainSettings, params["train"])
    voices = tuple(plan.of_kind("voice"))
    heard = robustness.section({f"voice{suffix(n)}": trained.heard_alone(voices, n, results, deploy)
                                for n in plan.normalisations} if voices else {}, Path("reports/figures"),
                               flagged_by_condition(voices), conditions_heard())
    text, details, figures = sections.build(takes, rejects, results, fusions, comparisons, Path("reports/figures"),
                                   train, deploy, voice_faces, sets, curve,
                                   headline.answer_section(answer_rows := headline.answers(plan, results, deploy)),
                                   uncertainty.section(io.read_json(conformal.PATH), Path("reports/figures"),
                                                       {m: io.read_json(f"{paths.novelty_stem(m)}.json")
                                                        for m in plan.modalities}, flagged_by_decision(plan)),
                                   adapting.section(io.read_json(adaptation.RECORD), Path("reports/figures")),
                                   across.section({key: io.read_json(across.record_path(key))
                                                   for key in params.get("cross_corpus") or {}}, deploy),
                                   cues.section({m: importance.read(m, learners) for m, learners in plan.learners.items()},
                                                Path("reports/figures")), robustness=heard)
    io.write_text(formatting.wrapped(text) + "\n", "reports/report.md")
    for name, markdown in details.items():
        io.write_text(formatting.wrapped(markdown) + "\n", f"reports/details/{name}.md")
    plain = trained.learner_rows(tuple(plan.modalities), "none", results)
    plain |= {f"{g.name} ({deploy})": rows for g in groups if g.normalisation == "none"
              and (rows := trained.fused_rows(g.slug, deploy)) is not None}
    plot_data.write(plain, curve_table, Path("reports/plots"))
    plot_data.write_answer({f"{corpus}-{key}": oof[oof["corpus"] == corpus] for _, key, _, oof in answer_rows["none"]
                            for corpus in sorted(oof["corpus"].unique())}, Path("reports/plots"))
    io.write_json(figures, "reports/metrics_details.json")
    io.write_json(headline.answer_metrics(figures["answer"]), "reports/metrics.json")
    best = ", ".join(figures[m]["best"] for m in plan.modalities)
    print(f"report: reports/report.md (best: {best})")


if __name__ == "__main__":
    entry.run(main)

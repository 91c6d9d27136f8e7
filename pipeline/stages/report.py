"""Stage `report`: every trained learner's, fusion group's and comparison variant's results ->
reports/report.md (the answer, voice + face, the feature sets, the learning curve, across corpora,
the uncertainty of the deployed decisions, adapting to a new speaker), details/ (the
data, each modality's learners, fusion, the variants), metrics.json (the answer: what `dvc metrics
show` and `dvc exp show` compare), metrics_details.json (every figure), figures/, plots/."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import checks, entry, io, paths
from pipeline.learn import dataset, evaluation, fusion, runplan
from pipeline.report import formatting, headline, plot_data, registry, sections, trained
from pipeline.report import across, adapting, cues, robustness, uncertainty

# the modules whose sections the report holds besides the per-model ones: each registers its part as it is
# imported (`registry`), with its own place in the report
SECTION_MODULES = (headline, sections, cues, robustness, across, uncertainty, adapting)


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
    inputs = registry.Inputs(
        plan, deploy, takes, results, groups, [io.read_json(f"{paths.fusion_stem(g.slug)}.json") for g in groups],
        Path("reports/figures"), evaluation.CurveSettings.from_params(params) if "learning_curve" in params else None,
        tuple(params.get("cross_corpus") or {}))
    compare = dataset.CompareSettings.from_params(params)
    comparisons = None
    if compare.variants:
        comparisons = (
            next((r for r in results if (r.modality, r.learner, r.normalisation) == compare.run), None),
            {name: (selection, trained.load_result(paths.variant_stem(name), *compare.run))
             for name, selection in compare.variants.items()},
        )
    train = checks.from_block("train", evaluation.TrainSettings, params["train"])
    text, details, figures = sections.build(inputs, rejects, comparisons, train, registry.written(inputs))
    io.write_text(formatting.wrapped(text) + "\n", "reports/report.md")
    for name, markdown in details.items():
        io.write_text(formatting.wrapped(markdown) + "\n", f"reports/details/{name}.md")
    plain = trained.learner_rows(tuple(plan.modalities), "none", results)
    plain |= {f"{g.name} ({deploy})": rows for g in groups if g.normalisation == "none"
              and (rows := trained.fused_rows(g.slug, deploy)) is not None}
    plot_data.write(plain, pd.read_csv(paths.LEARNING_CURVE) if inputs.curve else None, Path("reports/plots"))
    plot_data.write_answer({f"{corpus}-{key}": oof[oof["corpus"] == corpus]
                            for _, key, _, oof in headline.answers(plan, results, deploy)["none"]
                            for corpus in sorted(oof["corpus"].unique())}, Path("reports/plots"))
    io.write_json(figures, "reports/metrics_details.json")
    io.write_json(headline.answer_metrics(figures["answer"]), "reports/metrics.json")
    best = ", ".join(figures[m]["best"] for m in plan.modalities)
    print(f"report: reports/report.md (best: {best})")


if __name__ == "__main__":
    entry.run(main)

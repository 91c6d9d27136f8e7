"""Stage `report`: every trained learner's, fusion group's and comparison variant's results ->
reports/report.md, metrics.json, figures/."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from pipeline import fusion, io, paths, report


def load_result(stem: str | Path, modality: str, learner: str, normalisation: str) -> report.LearnerResult:
    summary, oof = io.read_json(f"{stem}.json"), pd.read_parquet(f"{stem}.oof.parquet")
    return report.LearnerResult(modality, learner, normalisation, summary, oof)


def voice_face(
    pair: fusion.Group, classes: list[str], all_groups: list[fusion.Group], results: list[report.LearnerResult],
    deploy: str,
) -> tuple[str, dict]:
    """`report.voice_face_section` of a voice+face pair, from the out-of-fold tables of its
    learners, each modality's fused decision and each cross-modal rule, per normalisation."""
    voice, face = pair.modalities
    models: dict[str, dict[str, pd.DataFrame]] = {}
    for group in (g for g in all_groups if g.modalities == pair.modalities):
        rows = {r.name.removesuffix(f" + {group.normalisation} norm"): r.oof for r in results
                if r.modality in pair.modalities and r.normalisation == group.normalisation}
        for modality in (voice, face):
            table = pd.read_parquet(f"{paths.fusion_stem(f'{modality}-{group.normalisation}')}.oof.parquet")
            rows[f"{modality}/fused ({deploy})"] = table[table["rule"] == deploy]
        fused = pd.read_parquet(f"{paths.fusion_stem(group.slug)}.oof.parquet")
        rows.update({f"fused: {rule}": part for rule, part in fused.groupby("rule", sort=False)})
        models[group.normalisation] = rows
    plain = models["none"][f"fused: {deploy}"]
    return report.voice_face_section(pair.modalities, models, plain, classes, deploy, Path("reports/figures"))


def main() -> None:
    params = io.load_params()
    takes = pd.read_parquet(paths.MANIFEST)
    rejects = pd.concat(
        [pd.read_parquet(paths.REJECTS)]
        + [pd.read_parquet(paths.feature_rejects(m)) for m in params["run"]["modalities"]],
        ignore_index=True,
    )
    results = []
    run = params["run"]
    for modality, normalisation, learner in product(run["modalities"], run["normalisations"], run["learners"]):
        results.append(load_result(paths.model_stem(modality, learner, normalisation), modality, learner, normalisation))
    groups = fusion.groups(run, params.get("external_features"))
    fusions = [io.read_json(f"{paths.fusion_stem(group.slug)}.json") for group in groups]
    deploy = params["fuse"]["deploy"]
    met = [(g, f) for g, f in zip(groups, fusions)  # the voice+face pairs that met on some take
           if len(g.modalities) > 1 and g.normalisation == "none" and "+".join(g.modalities) in f.get("modalities_present", {})]
    voice_faces = {"+".join(g.modalities): voice_face(g, f["classes"], groups, results, deploy) for g, f in met}
    compare = params["compare"]
    main_run = (compare["modality"], compare["learner"], compare["normalisation"])
    comparisons = None
    if compare["variants"]:
        comparisons = (
            next((r for r in results if (r.modality, r.learner, r.normalisation) == main_run), None),
            {name: (selection, load_result(paths.variant_stem(name), *main_run))
             for name, selection in compare["variants"].items()},
        )
    markdown, headline = report.build(takes, rejects, results, fusions, comparisons, Path("reports/figures"),
                                      params["train"], deploy, voice_faces)
    io.write_text(markdown + "\n", "reports/report.md")
    io.write_json(headline, "reports/metrics.json")
    best = ", ".join(headline[m]["best"] for m in params["run"]["modalities"])
    print(f"report: reports/report.md (best: {best})")


if __name__ == "__main__":
    main()

"""`avemotion info`: what the trained models are, what they were trained on, how well they did."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from pipeline import io, paths
from pipeline.apply import ensemble
from pipeline.learn import runplan
from pipeline.learn.run import Run
from pipeline.report import formatting


def models_overview(trained: Run) -> list[dict]:
    """One record per learner and fusion group of the `trained` run: figures on the outer folds,
    the takes, speakers and corpora it was trained on, and what its search or rule chose."""
    plan = trained.plan
    records = []
    for normalisation in plan.normalisations:
        for modality, learners in plan.learners.items():
            for learner in learners:
                stem = paths.model_stem(modality, learner, normalisation)
                if not Path(f"{stem}.json").exists():
                    records.append({"model": str(stem), "missing": True})
                    continue
                if problem := ensemble.damage(Path(f"{stem}.joblib")):
                    records.append({"model": f"{stem}.joblib", "missing": True, "damage": problem})
                    continue
                figures = io.read_json(f"{stem}.json")
                takes = pd.read_parquet(f"{stem}.oof.parquet", columns=["corpus", "speaker"])
                records.append({
                    "model": runplan.model_name(modality, learner, normalisation),
                    "takes": len(takes), "speakers": takes["speaker"].nunique(),
                    "corpora": takes["corpus"].value_counts().to_dict(), "classes": figures["classes"],
                    "accuracy": figures["accuracy"], "uar": figures["uar"], "chosen": figures["final_params"],
                    "seconds": _seconds(stem),
                })
    deploy = trained.deploy
    for group in trained.groups:
        stem = paths.fusion_stem(group.slug)
        if not Path(f"{stem}.json").exists():
            records.append({"model": str(stem), "missing": True})
            continue
        rules = io.read_json(f"{stem}.json")["rules"]
        deployed = rules.get(deploy, {})
        records.append({
            "model": f"{group.name} ({deploy})", "takes": deployed.get("n_takes", 0),
            "members": list(group.stems), "accuracy": deployed.get("accuracy"), "uar": deployed.get("uar"),
            "chosen": {"rule": deployed.get("chosen", deploy)},
        })
    return records


def _seconds(stem: Path) -> float | None:
    """The wall time of the stage that trained `stem`, from its run log (None where the log is gone)."""
    log = paths.run_log(stem)
    return io.read_json(log)["seconds"] if log.exists() else None


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def render_overview(records: list[dict]) -> str:
    rows = [{"model": r["model"], "takes": f"{r['damage']}: run `dvc checkout` or `dvc repro`" if "damage" in r
             else "missing: run `dvc repro`"} if r.get("missing") else {
        "model": r["model"], "takes": r["takes"], "speakers": r.get("speakers", ""),
        "accuracy": formatting.pct(r["accuracy"]) if r["accuracy"] is not None else "–",
        "UAR": formatting.pct(r["uar"]) if r["uar"] is not None else "–",
        "chosen": ", ".join(f"{k.removeprefix('clf__')}={_short(v)}" for k, v in r["chosen"].items()),
        "time": f"{r['seconds']:.0f} s" if r.get("seconds") is not None else "",
    } for r in records]
    corpora = pd.DataFrame([{"corpus": c, "takes": n} for r in records for c, n in r.get("corpora", {}).items()])
    trained_on = corpora.groupby("corpus", sort=False)["takes"].max() if len(corpora) else pd.Series(dtype=int)
    return "\n".join([
        "Trained models (models/, as `dvc repro` left them; accuracy and UAR on the outer folds: speakers "
        "each fold never trained on)",
        "",
        formatting.table(pd.DataFrame(rows).fillna("")),
        "",
        "Trained on: " + (", ".join(f"{c} ({n} takes)" for c, n in trained_on.items()) or "nothing yet"),
    ])


def run(args: argparse.Namespace) -> int:
    """The trained run's models (models/run.json), or before any training, what params.yaml would train."""
    try:
        params = io.load_params()
        trained = ensemble.load_run() if paths.RUN.exists() else Run.of_params(params)
        untrained = trained.untrained(params) if paths.RUN.exists() else []
        records = models_overview(trained)
    except (ValueError, ensemble.ModelError) as error:  # no params.yaml here, or one refused; a broken run record
        print(f"info: {error}", file=sys.stderr)
        return 2
    print(json.dumps(records, indent=2) if args.json else render_overview(records))
    for edit in untrained:
        print(f"info: note: params.yaml: {edit}; not trained yet (`dvc repro`)", file=sys.stderr)
    return 1 if any(r.get("missing") for r in records) else 0

"""Stage `fuse`: late fusion of the trained models' probabilities, evaluated on the same outer folds.

Usage: python -m pipeline.stages.fuse
Groups (from `run`): the learners of one modality (an ensemble per modality and
normalisation), and every learner of every modality (audio+face) on the corpora that have
takes in more than one modality. For each group and rule (`fuse.rules`), the figures come
from outer-fold probabilities fused by a rule fitted on inner out-of-fold rows of that
fold's training part only. Writes models/fusion/<group>.json (figures, members, fallback
counts), .oof.parquet (fused out-of-fold probabilities) and .joblib (each rule refitted on
every take's outer out-of-fold probabilities, for predict/evaluate).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import evaluation, fusion, io, paths
from pipeline.fusion import Group
from pipeline.corpora import label_order

TAKE_COLUMNS = ["take", "corpus", "speaker", "label", "channel", "intensity", "fold"]


def fuse_group(group: Group, rules: list[str]) -> tuple[dict, pd.DataFrame, dict] | None:
    """Figures, fused out-of-fold table and deployable rules of one group; None if no take is shared
    by more than one of its modalities (audio+face with no corpus carrying both)."""
    oofs = [pd.read_parquet(f"{stem}.oof.parquet") for stem in group.stems]
    inners = [pd.read_parquet(f"{stem}.inner.parquet") for stem in group.stems]
    modality_of = [Path(stem).parent.name for stem in group.stems]
    takes = pd.concat(oofs)[TAKE_COLUMNS].drop_duplicates("take").reset_index(drop=True)
    if len(group.modalities) > 1:
        corpora_per_modality = {m: set().union(*(set(o["corpus"]) for o, mm in zip(oofs, modality_of) if mm == m))
                                for m in group.modalities}
        shared = {c for c in set(takes["corpus"]) if sum(c in s for s in corpora_per_modality.values()) > 1}
        takes = takes[takes["corpus"].isin(shared)].reset_index(drop=True)
        if takes.empty:
            return None
    classes = label_order({c.removeprefix("p_") for o in oofs for c in o.columns if c.startswith("p_")})
    code = {c: i for i, c in enumerate(classes)}
    label_of = takes.set_index("take")["label"]
    y, fold = takes["label"].map(code).to_numpy(), takes["fold"].to_numpy()
    P = fusion.align(oofs, takes["take"], classes)
    inner_parts = [
        (f, pd.Index(sorted(set().union(*(set(i.loc[i["fold"] == f, "take"]) for i in inners)) & set(label_of.index))))
        for f in np.unique(fold)
    ]
    P_inner = np.concatenate([fusion.align([i[i["fold"] == f] for i in inners], part, classes) for f, part in inner_parts])
    y_inner = np.concatenate([label_of[part].map(code).to_numpy() for _, part in inner_parts])
    inner_fold = np.concatenate([np.full(len(part), f) for f, part in inner_parts])

    speakers = takes["speaker"].to_numpy()
    available = fusion.present(P)
    carried = pd.Series(["+".join(sorted({modality_of[m] for m in np.flatnonzero(row)})) for row in available])
    figures: dict = {**describe(group), "classes": classes, "modalities_present": carried.value_counts().to_dict()}
    for m, stem in enumerate(group.stems):
        rows = available[:, m]
        figures["members"][stem] = _figures(y[rows], P[rows, m], classes, speakers[rows], fold[rows])
    fused_tables, deployable = [], {}
    complete = available.all(axis=1) if len(group.modalities) > 1 else None
    for rule in rules:
        fused = fusion.cross_validate(rule, P, fold, P_inner, y_inner, inner_fold)
        figures["rules"][rule] = _figures(y, fused, classes, speakers, fold)
        if complete is not None and complete.any():
            figures["rules"][rule]["accuracy_all_modalities"] = float(np.mean(fused[complete].argmax(1) == y[complete]))
        fused_tables.append(takes.assign(rule=rule, carried=carried, **{f"p_{c}": fused[:, k] for k, c in enumerate(classes)}))
        deployable[rule] = fusion.RULES[rule]().fit(P, y)
        if rule == "weighted":
            figures["rules"][rule]["weights"] = dict(zip(group.stems, map(float, deployable[rule].weights)))
    table = pd.concat(fused_tables, ignore_index=True)
    table["predicted"] = [classes[i] for i in table[[f"p_{c}" for c in classes]].to_numpy().argmax(axis=1)]
    return figures, table, {"stems": list(group.stems), "classes": classes, "rules": deployable}


def describe(group: Group) -> dict:
    """What the report needs to name a group, with no figures yet."""
    return {"name": group.name, "slug": group.slug, "modalities": list(group.modalities),
            "normalisation": group.normalisation, "members": {}, "rules": {}}


def _figures(y: np.ndarray, proba: np.ndarray, classes: list[str], speakers: np.ndarray, fold: np.ndarray) -> dict:
    return {**evaluation.metrics(y, proba, classes, speakers, fold), "n_takes": int(len(y))}


def main() -> None:
    params = io.load_params()
    rules, deploy = params["fuse"]["rules"], params["fuse"]["deploy"]
    unknown = sorted(set(rules) - set(fusion.RULES))
    if unknown:
        raise ValueError(f"fuse.rules: unknown {', '.join(unknown)}; known: {', '.join(fusion.RULES)}")
    if deploy not in rules:
        raise ValueError(f"fuse.deploy ({deploy}) must be one of fuse.rules ({', '.join(rules)})")
    for group in fusion.groups(params["run"]):
        result = fuse_group(group, rules)
        stem = paths.fusion_stem(group.slug)
        if result is None:
            io.write_json(describe(group), f"{stem}.json")
            print(f"{group.name}: no corpus has takes in more than one of {', '.join(group.modalities)}")
            continue
        figures, table, deployable = result
        io.write_json(figures, f"{stem}.json")
        io.write_parquet(table, f"{stem}.oof.parquet")
        io.write_joblib(deployable, f"{stem}.joblib")
        print(f"{group.name}: " + ", ".join(f"{r} {figures['rules'][r]['accuracy']:.3f}" for r in figures["rules"]))


if __name__ == "__main__":
    main()

"""Estimator factories and search spaces read as data (from the `train` params block).

A search space is a mapping `parameter -> distribution spec`, e.g.
`clf__C: {log_uniform: [0.1, 1000]}`; a refinement grid maps a parameter to how to step
around the randomized search's best value, e.g. `clf__C: {factor: 2}` or
`clf__max_depth: {step: 1}`, staying within the random space's bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from xgboost import XGBClassifier


def build(name: str, seed: int, fixed: dict[str, Any] | None = None) -> Pipeline:
    """A fresh, unfitted pipeline for learner `name` ('svm', 'rf' or 'xgb').

    Missing values (e.g. F0 of a clip with no voiced frame) are imputed with the training
    median for SVM and RF; XGBoost handles them natively. Only the SVM needs scaling.
    """
    if name == "svm":
        steps = [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("clf", SVC(kernel="rbf", class_weight="balanced", random_state=seed)),
        ]
    elif name == "rf":
        steps = [
            ("impute", SimpleImputer(strategy="median")),
            ("clf", RandomForestClassifier(class_weight="balanced", random_state=seed, n_jobs=1)),
        ]
    elif name == "xgb":
        steps = [("clf", XGBClassifier(tree_method="hist", random_state=seed, n_jobs=1, verbosity=0))]
    else:
        raise ValueError(f"unknown learner {name!r}; known: svm, rf, xgb")
    pipeline = Pipeline(steps)
    return pipeline.set_params(**(fixed or {}))


def with_probabilities(pipeline: Pipeline, y: np.ndarray) -> Pipeline:
    """The same pipeline, able to give class probabilities: an SVM gets sigmoid (Platt)
    calibration of its decision function, fitted on internal stratified folds of the training
    labels `y` (integer codes): 5, or fewer when a class has fewer takes."""
    if isinstance(pipeline.named_steps["clf"], SVC):
        counts = np.bincount(y)
        smallest = int(counts[counts > 0].min())
        if smallest < 2:
            raise ValueError("a class has a single training take: the SVM's probabilities cannot be calibrated")
        calibrated = CalibratedClassifierCV(
            pipeline.named_steps["clf"], method="sigmoid", ensemble=False, cv=min(5, smallest)
        )
        pipeline.steps[-1] = ("clf", calibrated)
    return pipeline


def distributions(space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Turn a search-space spec into scikit-learn's param_distributions."""
    out = {}
    for parameter, spec in space.items():
        (kind, args), = spec.items()
        if kind == "log_uniform":
            out[parameter] = stats.loguniform(args[0], args[1])
        elif kind == "uniform":
            out[parameter] = stats.uniform(args[0], args[1] - args[0])
        elif kind == "int_uniform":
            out[parameter] = stats.randint(args[0], args[1] + 1)
        elif kind == "choice":
            out[parameter] = list(args)
        else:
            raise ValueError(f"{parameter}: unknown distribution {kind!r}")
    return out


def refinement_grid(
    best: dict[str, Any], grid: dict[str, dict[str, float]], space: dict[str, dict[str, Any]]
) -> dict[str, list[Any]]:
    """A small grid centred on `best`: each refined parameter takes three values, the others one."""
    out: dict[str, list[Any]] = {parameter: [value] for parameter, value in best.items()}
    for parameter, rule in grid.items():
        value = best[parameter]
        (kind, args), = space[parameter].items()
        low, high = (args[0], args[1]) if kind != "choice" else (min(args), max(args))
        if "factor" in rule:
            candidates = [value / rule["factor"], value, value * rule["factor"]]
        elif "step" in rule:
            candidates = [value - rule["step"], value, value + rule["step"]]
        else:
            raise ValueError(f"{parameter}: a grid rule needs 'factor' or 'step', got {rule}")
        clipped = [type(value)(min(max(c, low), high)) for c in candidates]
        out[parameter] = sorted(set(clipped))
    return out

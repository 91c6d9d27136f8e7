"""Estimator factories and search spaces read as data (from the `train` params block).

A search space is a mapping `parameter -> distribution spec`, e.g.
`clf__C: {log_uniform: [0.1, 1000]}`; a refinement grid maps a parameter to how to step
around the randomized search's best value, e.g. `clf__C: {factor: 2}` or
`clf__max_depth: {step: 1}`, staying within the random space's bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from xgboost import XGBClassifier

from pipeline import checks
from pipeline.learn.imputer import MedianImputer
from pipeline.learn.kernel import KernelSVC, SquaredDistances
from pipeline.learn.rowspace import RowSpace
from pipeline.checks import SettingError


@dataclass(frozen=True)
class Learner:
    """The contract of a learner (one entry of `LEARNERS`): `steps(seed)` gives its fresh pipeline,
    ending in a classifier named `clf` (the search tunes only `clf__` parameters and fits the steps
    before it once per split, shared by every candidate: the SVM's kernel is such a step); and the
    traits the search and the evaluation act on, instead of its name."""

    steps: Callable[[int], list[tuple[str, Any]]]
    # It answers with one-vs-one decision values, not probabilities: its outputs are read through
    # sigmoids fitted on its inner out-of-fold decisions (`calibration`), its vote is its guess.
    decision_values: bool = False
    # The parameter successive halving grows (trees, boosting rounds): fixed, never searched.
    resource: str | None = None


def _svm(seed: int) -> list[tuple[str, Any]]:
    return [*_scaled_rows(), ("distances", SquaredDistances()),
            ("clf", KernelSVC(class_weight="balanced", decision_function_shape="ovo", random_state=seed))]


def _rf(seed: int) -> list[tuple[str, Any]]:
    return [("impute", MedianImputer()),
            ("clf", RandomForestClassifier(class_weight="balanced", random_state=seed, n_jobs=1))]


def _logreg(seed: int) -> list[tuple[str, Any]]:
    return [*_scaled_rows(), ("single", FunctionTransformer(single_precision)),
            ("clf", LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed))]


def _mlp(seed: int) -> list[tuple[str, Any]]:
    return [*_scaled_rows(), ("single", FunctionTransformer(single_precision)),
            ("clf", MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=seed))]


def _xgb(seed: int) -> list[tuple[str, Any]]:
    return [("clf", XGBClassifier(tree_method="hist", random_state=seed, n_jobs=1, verbosity=0))]


# Missing values (e.g. F0 of a clip with no voiced frame) are imputed with the training median
# for all but XGBoost, which handles them natively. The SVM, the logistic regression (the linear
# partner of wide sets such as ComParE) and the MLP (one hidden layer of 64, the seeds' neural
# row) need scaled inputs, and work in the training rows' span when a table has more columns than
# rows (`RowSpace`); the RBF SVM is fed distances to the training rows (`kernel`).
LEARNERS: dict[str, Learner] = {
    "svm": Learner(_svm, decision_values=True),
    "logreg": Learner(_logreg),
    "rf": Learner(_rf, resource="clf__n_estimators"),
    "xgb": Learner(_xgb, resource="clf__n_estimators"),
    "mlp": Learner(_mlp),
}


def kind(name: str) -> Learner:
    """The registry entry of learner `name` (an unknown name refused with the known ones)."""
    if name not in LEARNERS:
        raise SettingError(f"unknown learner {name!r}; known: {', '.join(LEARNERS)}")
    return LEARNERS[name]


def build(name: str, seed: int, fixed: dict[str, Any] | None = None) -> Pipeline:
    """A fresh, unfitted pipeline for learner `name`, its `fixed` settings applied."""
    return Pipeline(kind(name).steps(seed)).set_params(**(fixed or {}))


def _scaled_rows() -> list[tuple[str, Any]]:
    """The front the SVM, the logistic regression and the MLP share: medians in, standardised,
    in the training rows' span."""
    return [("impute", MedianImputer()), ("scale", StandardScaler()), ("span", RowSpace())]


def single_precision(X: np.ndarray) -> np.ndarray:
    """The rows in float32: the MLP and the logistic regression train in their input's precision,
    half the memory traffic per pass over the rows (the logistic regression on IS10 with its
    copies: 0.57 of the time per fit, probabilities within 2e-3)."""
    return np.asarray(X, dtype=np.float32)


def distributions(space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Turn a search-space spec into scikit-learn's param_distributions (a malformed spec is
    refused, naming its parameter)."""
    out = {}
    for parameter, spec in space.items():
        if not (isinstance(spec, dict) and len(spec) == 1):
            raise SettingError(f"{parameter}: {spec!r} is not a distribution; e.g. {{log_uniform: [0.1, 10]}}")
        (kind, args), = spec.items()
        if kind == "choice":
            if not (isinstance(args, list) and args):
                raise SettingError(f"{parameter}: choice needs a non-empty list, got {args!r}")
            out[parameter] = list(args)
            continue
        if kind not in ("log_uniform", "uniform", "int_uniform"):
            raise SettingError(f"{parameter}: unknown distribution {kind!r}; known: log_uniform, uniform, int_uniform, choice")
        number = checks.is_int if kind == "int_uniform" else checks.is_number
        if not (isinstance(args, list) and len(args) == 2 and all(map(number, args)) and args[0] < args[1]
                and (kind != "log_uniform" or args[0] > 0)):
            raise SettingError(f"{parameter}: {kind} needs [low, high] with low < high"
                             f"{' and low > 0' if kind == 'log_uniform' else ''}"
                             f"{', whole numbers' if kind == 'int_uniform' else ''}; got {args!r}")
        if kind == "log_uniform":
            out[parameter] = stats.loguniform(args[0], args[1])
        elif kind == "uniform":
            out[parameter] = stats.uniform(args[0], args[1] - args[0])
        else:
            out[parameter] = stats.randint(args[0], args[1] + 1)
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
            raise SettingError(f"{parameter}: a grid rule needs 'factor' or 'step', got {rule}")
        clipped = [type(value)(min(max(c, low), high)) for c in candidates]
        out[parameter] = sorted(set(clipped))
    return out

"""The report's PNG figures: confusion matrices, grouped bars, the learning curve.

The report reruns after any edit upstream, and most of its figures show what did not change:
each figure drawn is kept in `.figurecache/` (git-ignored; `AVEMOTION_FIGURE_CACHE=<folder>`
moves it, `off` turns it off) under a key of its drawing code, matplotlib's version and its
inputs, and the same inputs again copy the same bytes instead of drawing them.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import pickle
import shutil
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline import contentcache  # noqa: E402
from pipeline.report import trained  # noqa: E402

ENV = "AVEMOTION_FIGURE_CACHE"
DEFAULT = Path(".figurecache")


@lru_cache(maxsize=1)
def _code() -> str:
    return contentcache.code_digest(contentcache.imported_sources(__name__), ("matplotlib", "numpy", "pandas"))


def remembered(draw: Callable[..., None]) -> Callable[..., None]:
    """`draw(..., path)` that copies the figure from the cache when the same inputs were drawn before."""
    signature = inspect.signature(draw)

    @functools.wraps(draw)
    def drawing(*args: Any, **kwargs: Any) -> None:
        inputs = signature.bind(*args, **kwargs)
        inputs.apply_defaults()
        path = Path(inputs.arguments.pop("path"))
        where = contentcache.folder(ENV, DEFAULT)
        if where is not None:
            digest = hashlib.blake2b(f"{_code()}{draw.__qualname__}".encode(), digest_size=16)
            digest.update(pickle.dumps(inputs.arguments, protocol=5))
            kept = contentcache.entry(where, digest.hexdigest(), ".png")
            try:
                shutil.copyfile(kept, path)
                return
            except OSError:  # not drawn before (or unreadable): drawn now
                pass
        draw(*args, **kwargs)
        if where is not None:
            contentcache.write_whole(kept, lambda temporary: shutil.copyfile(path, temporary))

    return drawing


@remembered
def confusion_figure(result: trained.LearnerResult, path: Path) -> None:
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


@remembered
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


@remembered
def learning_curve_figure(curve: pd.DataFrame, summary: pd.DataFrame, chance: float, model: str, path: Path) -> None:
    """Each fold's accuracy by training speakers (grey), the mean over folds with its spread, and chance."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(curve["speakers"], curve["accuracy"], color="lightgrey", label="one outer fold", zorder=2)
    ax.errorbar(summary.index, summary["accuracy"], yerr=summary["± over folds"], marker="o", capsize=3,
                label="mean over folds", zorder=3)
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(summary.index)
    ax.set_ylim(0, 1)
    finish(fig, ax, "training speakers per outer fold", "outer-fold accuracy", f"{model}: learning curve by speakers",
           path)


def finish(fig: plt.Figure, ax: plt.Axes, xlabel: str, ylabel: str, title: str, path: Path,
           legend: str = "lower right") -> None:
    """Label a one-panel figure, write it to `path` as PNG and free it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8 if legend == "lower right" else 7, loc=legend)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@remembered
def reliability_figure(decisions: dict[str, dict], path: Path) -> None:
    """Accuracy against confidence per bin for each decision (`conformal.Reliability` records), and the diagonal."""
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    for name, record in decisions.items():
        shown = [(c, a) for c, a in zip(record["confidence"], record["accuracy"]) if c is not None]
        ax.plot(*zip(*shown), marker="o", label=f"{name} (ECE {record['ece']:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    finish(fig, ax, "confidence (top probability, binned)", "accuracy in the bin",
           "Reliability of the deployed decisions on held-out speakers", path, legend="upper left")


@remembered
def adaptation_figure(curves: dict[str, pd.DataFrame], plain: float, model: str, path: Path) -> None:
    """Accuracy against the clips of a new speaker normalisation may use, one line per way of
    estimating the speaker's statistics (`curves`: label -> accuracy by clips), and the plain model's."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        ax.plot(curve.index, curve["accuracy"], marker="o", label=label)
    ax.axhline(plain, color="grey", linestyle="--", linewidth=1, label="plain model (no normalisation)")
    ax.set_xscale("log", base=2)
    ticks = list(next(iter(curves.values())).index)
    ax.set_xticks(ticks, [str(k) for k in ticks])
    finish(fig, ax, "unlabelled clips of the new speaker", "accuracy on the speaker's other takes",
           f"{model}: adapting to a new speaker", path)


@remembered
def importance_figure(families: pd.DataFrame, modality: str, path: Path, shown: int = 12) -> None:
    """The `shown` most important families (`cues.by_family`): the fall in accuracy with its range over
    folds, and beside it the fall in each emotion's recall."""
    top = families.head(shown)[::-1]
    recall = [c for c in top.columns if c.startswith("recall_")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.35 * len(top) + 1.8), sharey=True,
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    y = np.arange(len(top))
    error = np.vstack([top["accuracy"] - top["fold_low"], top["fold_high"] - top["accuracy"]]) * 100
    left.barh(y, 100 * top["accuracy"], xerr=error, color="tab:blue", capsize=2)
    left.axvline(0, color="grey", linewidth=1)
    left.set_yticks(y, top.index)
    left.set_xlabel("fall in accuracy when shuffled (points; bar: folds' range)")
    values = 100 * top[recall].to_numpy()
    limit = max(np.nanmax(np.abs(values)), 1.0)
    image = right.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    right.set_xticks(range(len(recall)), [c.removeprefix("recall_") for c in recall], rotation=45, ha="right")
    right.set_xlabel("fall in the emotion's recall (points)")
    fig.colorbar(image, ax=right, fraction=0.04)
    fig.suptitle(f"{modality}: what the models use on new speakers (permutation importance, outer folds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@remembered
def conditions_figure(accuracy: pd.DataFrame, clean: dict[str, float], path: Path) -> None:
    """Accuracy under each condition (a group of bars per condition, a bar per decision), each
    decision's accuracy on the same takes as recorded as a line of its colour."""
    fig, ax = plt.subplots(figsize=(min(14, 3 + 0.45 * accuracy.size), 4.5))
    width = 0.8 / len(accuracy.columns)
    x = np.arange(len(accuracy))
    for k, (column, colour) in enumerate(zip(accuracy.columns, plt.rcParams["axes.prop_cycle"].by_key()["color"])):
        ax.bar(x + k * width - 0.4 + width / 2, accuracy[column], width, label=column, color=colour)
        ax.axhline(clean[column], color=colour, linestyle="--", linewidth=1, label=f"{column}: as recorded")
    ax.set_xticks(x, accuracy.index, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_xlim(-0.6, len(accuracy) - 0.4)
    ax.set_ylabel("outer-fold accuracy")
    ax.set_title("the deployed voice under recording conditions")
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

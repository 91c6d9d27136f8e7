"""The report's figures as data, for `dvc plots show` / `dvc plots diff` (dvc.yaml `plots:`): two
experiments' confusion matrices, per-emotion recall, per-speaker accuracy and learning curves can
then be drawn side by side from the tables, not only looked at as PNGs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from pipeline import io


def slug(name: str) -> str:
    """A model's report name as a file name: 'audio+compare2016/fused (selected)' -> 'audio+compare2016-fused'."""
    return re.sub(r"[^A-Za-z0-9+]+", "-", name.split(" (")[0]).strip("-")


def write(models: dict[str, pd.DataFrame], curve: pd.DataFrame | None, out: Path) -> None:
    """Per model (name -> out-of-fold table with take, speaker, label, predicted):
    predictions/<model>.csv (take, actual, predicted: DVC's confusion template), recall/<model>.csv
    (emotion, recall) and speakers/<model>.csv (speaker, accuracy); and learning_curve.csv (speakers,
    accuracy, uar: the mean over outer folds)."""
    for name, oof in models.items():
        correct = oof["label"] == oof["predicted"]
        tables = {
            "predictions": predictions(oof),
            "recall": correct.groupby(oof["label"], sort=False).mean().rename("recall").rename_axis("emotion")
                             .reset_index(),
            "speakers": correct.groupby(oof["speaker"]).mean().rename("accuracy").rename_axis("speaker").reset_index(),
        }
        for kind, frame in tables.items():
            (out / kind).mkdir(parents=True, exist_ok=True)
            io.write_text(frame.to_csv(index=False, float_format="%.6f"), out / kind / f"{slug(name)}.csv")
    if curve is not None:
        means = curve.groupby("speakers", as_index=False)[["accuracy", "uar"]].mean()
        io.write_text(means.to_csv(index=False, float_format="%.6f"), out / "learning_curve.csv")


def predictions(oof: pd.DataFrame) -> pd.DataFrame:
    """take, actual, predicted: what DVC's confusion template draws."""
    return oof[["take", "label", "predicted"]].rename(columns={"label": "actual"})


def write_answer(decisions: dict[str, pd.DataFrame], out: Path) -> None:
    """answer/<corpus>-<decision>.csv: the predictions of each deployed decision of the report's
    answer (`ravdess-voice`, `ravdess-voice_face_au`, ...), what `dvc plots show` opens with."""
    (out / "answer").mkdir(parents=True, exist_ok=True)
    for name, oof in decisions.items():
        io.write_text(predictions(oof).to_csv(index=False), out / "answer" / f"{name}.csv")

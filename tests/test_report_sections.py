"""The report's registered sections: a section written in a module of its own takes its place in the
report, its figures in metrics_details.json and its details page, with nothing else edited."""

from __future__ import annotations

import pandas as pd

from pipeline.learn import evaluation, runplan
from pipeline.report import charts, registry, sections


def test_a_section_registered_in_its_own_module_takes_its_place_in_the_report(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "SECTIONS", {})  # this test's sections alone

    @registry.section("late", place=90)
    def late(inputs: registry.Inputs) -> registry.Part:
        return registry.Part(f"## Late\n\n{len(inputs.takes)} takes, deployed {inputs.deploy}.\n", {"takes": len(inputs.takes)})

    @registry.section("early", place=10)
    def early(inputs: registry.Inputs) -> registry.Part:
        return registry.Part("## Early\n", {"first": True}, details="# Early, in full\n")

    @registry.section("silent", place=50)
    def silent(inputs: registry.Inputs) -> None:
        return None

    takes = pd.DataFrame({"take": ["a", "b"], "corpus": "ravdess", "channel": "speech", "label": ["happy", "sad"],
                          "speaker": ["01", "02"], "gender": "female", "duration_s": 3.0, "video_path": None})
    inputs = registry.Inputs(runplan.RunPlan({}, ("none",), {}), "mean", takes, [], [], [], tmp_path / "figures",
                             None, ())
    text, details, figures = sections.build(inputs, pd.DataFrame(), None, evaluation.TrainSettings(
        seed=0, outer_folds=5, inner_folds=3, scoring="balanced_accuracy", permutation_check=False),
        registry.written(inputs))
    assert text.index("## Early") < text.index("## Late") < text.index("## Details")
    assert "2 takes, deployed mean." in text
    assert figures["early"] == {"first": True} and figures["late"] == {"takes": 2} and "silent" not in figures
    assert details["early"] == "# Early, in full\n" and "](details/early.md)" in text and set(details) == {"data", "early"}


def test_a_figure_drawn_before_is_copied_byte_for_byte_and_new_inputs_are_drawn(tmp_path, monkeypatch):
    monkeypatch.setenv(charts.ENV, str(tmp_path / "figures"))
    drawn = []
    subplots = charts.plt.subplots
    monkeypatch.setattr(charts.plt, "subplots", lambda *a, **k: drawn.append(1) or subplots(*a, **k))
    values = pd.DataFrame({"svm": [0.5, 0.7], "rf": [0.4, 0.6]}, index=["angry", "sad"])
    charts.grouped_bars(values, "recall", "toy", tmp_path / "first.png", 0.5)
    charts.grouped_bars(values.copy(), "recall", "toy", path=tmp_path / "again.png", chance=0.5)
    assert len(drawn) == 1 and (tmp_path / "first.png").read_bytes() == (tmp_path / "again.png").read_bytes()
    values.loc["sad", "rf"] = 0.2
    charts.grouped_bars(values, "recall", "toy", tmp_path / "changed.png", 0.5)
    assert len(drawn) == 2 and (tmp_path / "changed.png").read_bytes() != (tmp_path / "first.png").read_bytes()
    monkeypatch.setenv(charts.ENV, "off")
    charts.grouped_bars(values, "recall", "toy", tmp_path / "off.png", 0.5)
    assert len(drawn) == 3 and (tmp_path / "off.png").read_bytes() == (tmp_path / "changed.png").read_bytes()

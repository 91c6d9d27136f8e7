"""No figure in the README or the results page can go stale: the README's answer table is the one
reports/metrics.json gives, and every percentage in their tables is a figure the report stage wrote
(reports/metrics_details.json). A failure prints the table as it should read."""

import json
import re

from conftest import REPO

BEGIN, END = "<!-- the answer: reports/metrics.json -->", "<!-- end of the answer -->"


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def answer_table() -> str:
    """The README's answer table, from reports/metrics.json and the intervals in metrics_details.json."""
    answer = json.loads((REPO / "reports/metrics.json").read_text())
    details = json.loads((REPO / "reports/metrics_details.json").read_text())["answer"]
    rows = ["| corpus | decision | model | accuracy [95% CI] | UAR [95% CI] | + speaker norm |",
            "|---|---|---|---|---|---|"]
    for corpus in sorted(answer, key=lambda c: c != "ravdess"):
        for key, figures in sorted(answer[corpus].items(), key=lambda kv: (kv[0].startswith("voice_face"),
                                                                          kv[0].startswith("face"))):
            about = details[corpus][key]
            decision = key.replace("voice_face_", "voice + face (").replace("face_", "face (") + (")" if "_" in key else "")
            low, high = (f"{100 * v:.1f}" for v in about["accuracy_ci"])
            uar_low, uar_high = (f"{100 * v:.1f}" for v in about["uar_ci"])
            rows.append(f"| {corpus} | {decision} | {about['model']} | {pct(figures['accuracy'])} [{low}, {high}] | "
                        f"{pct(figures['uar'])} [{uar_low}, {uar_high}] | {pct(figures['accuracy_speaker_norm'])} |")
    return "\n".join(rows)


def figures_written() -> set[str]:
    """Every number of metrics_details.json between 0 and 1, as a percentage with one decimal."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)
        elif isinstance(value, float) and 0 <= value <= 1:
            found.add(pct(value))

    walk(json.loads((REPO / "reports/metrics_details.json").read_text()))
    return found


def test_the_readme_answer_is_the_reports():
    readme = (REPO / "README.md").read_text()
    shown = readme[readme.index(BEGIN) + len(BEGIN):readme.index(END)].strip()
    assert shown == answer_table(), f"README's answer table should read:\n{answer_table()}"


def test_every_percentage_in_a_table_is_a_figure_the_report_wrote():
    written = figures_written()
    for page in ("README.md", "docs/results.md"):
        rows = [line for line in (REPO / page).read_text().splitlines() if line.startswith("|")]
        stale = sorted({p for line in rows for p in re.findall(r"(\d+\.\d%)", line)} - written)
        assert not stale, f"{page}: {stale} are no figure of reports/metrics_details.json"


LOOP_BEGIN, LOOP_END = "<!-- the loop: docs/bench/cold_run.json, docs/bench/edit_loop.json -->", "<!-- end of the loop -->"


def loop_table() -> str:
    """The README's loop table, from the benchmarks' records (`bench/cold_run.py`, `bench/edit_loop.py --record`)."""
    cold = json.loads((REPO / "docs/bench/cold_run.json").read_text())
    edits = json.loads((REPO / "docs/bench/edit_loop.json").read_text())
    rows = ["| edit (from the trained clone) | to the new report | stages run | search fits from the cache |",
            "|---|---|---|---|",
            f"| none: a fresh clone's `dvc repro` | {cold['wall_s'] / 60:.1f} min ({cold['cores']} cores) | every "
            f"stage | none |"]
    for edit in edits["edits"]:
        fits = f"{edit['fits_from_cache']:,} of {edit['fits']:,}" if edit["fits"] else "none"
        rows.append(f"| `{edit['edit']}` | {edit['seconds']} s | {len(edit['stages'])} | {fits} |")
    return "\n".join(rows)


def test_the_readme_loop_times_are_the_benchmarks():
    readme = (REPO / "README.md").read_text()
    shown = readme[readme.index(LOOP_BEGIN) + len(LOOP_BEGIN):readme.index(LOOP_END)].strip()
    assert shown == loop_table(), f"README's loop table should read:\n{loop_table()}"

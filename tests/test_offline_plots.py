"""`dvc plots show` works offline: the page `.dvc/config` names carries Vega, Vega-Lite and Vega-Embed
itself (DVC's own loads them from a CDN), it is exactly what `pipeline.report.offline_plots` writes
from the pinned vl-convert, and the real `dvc` fills it with the committed plots, every one of which
the inlined Vega-Lite draws."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import vl_convert

from pipeline.report import offline_plots

REPO = Path(__file__).resolve().parents[1]


def test_the_committed_page_is_what_the_module_writes():
    assert (REPO / offline_plots.PAGE).read_text() == offline_plots.page()


def test_dvc_plots_show_writes_a_page_that_needs_no_network_and_draws_every_plot(tmp_path):
    project = tmp_path / "project"
    for part in ("dvc.yaml", "params.yaml", ".dvc/config", ".dvc/plots", "reports/plots"):
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy
        (project / part).parent.mkdir(parents=True, exist_ok=True)
        copy(REPO / part, project / part)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    dvc = str(Path(sys.executable).parent / "dvc")
    subprocess.run([dvc, "plots", "show", "-o", "out"], cwd=project, check=True, capture_output=True, timeout=300,
                   env={"DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    page = (project / "out" / "index.html").read_text()
    assert "<script src" not in page and "cdn.jsdelivr" not in page
    assert "window.vegaEmbed=" in page
    specs = {name: spec for spec, name in re.findall(r"var spec = (\{.*?\});\s*vegaEmbed\('#([^']+)'", page, re.S)}
    assert set(specs) == {"reports_plots_answer_ravdess-voice_csv", "reports_plots_answer_ravdess-face_au_csv",
                          "reports_plots_answer_ravdess-voice_face_au_csv", "reports_plots_answer_ckplus-face_face_csv",
                          "reports_plots_learning_curve_csv"}
    for name, spec in specs.items():
        drawn = vl_convert.vegalite_to_svg(json.loads(spec), vl_version=offline_plots.VEGA_LITE)
        words = ["angry", "sad"] if "answer" in name else ["speakers"]  # confusion cells' labels; the curve's axis
        assert drawn.startswith("<svg") and all(w in drawn for w in words), name

"""The page `dvc plots show` and `dvc plots diff` write, with Vega, Vega-Lite and Vega-Embed inside
it: DVC's own page loads them from a CDN, so offline its plots stay blank.

`.dvc/config` names the page (`plots.html_template`); DVC fills its `{plot_divs}` and, as the page
has no `{scripts}`, never adds its CDN script tags. The libraries come from vl-convert's bundle
(the same code, built into its wheel), so nothing is fetched to write the page either:
    python -m pipeline.report.offline_plots
"""

from __future__ import annotations

from pathlib import Path

PAGE = Path(".dvc/plots/offline.html")
VEGA_LITE = "5.21"  # DVC's templates are Vega-Lite 5 specifications

HEAD = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- Vega %s, Vega-Lite %s, Vega-Embed %s (vl-convert %s's bundle): written by
         `python -m pipeline.report.offline_plots`, so the page needs no network -->
    <script type="text/javascript">
"""
TAIL = """
    </script>
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def page() -> str:
    """The page's text: DVC's layout with the libraries inlined."""
    from importlib.metadata import version

    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE)
    if "</script" in bundle.lower():
        raise ValueError("the bundle closes a script tag: it cannot be inlined")
    versions = (vl_convert.get_vega_version(), VEGA_LITE, vl_convert.get_vega_embed_version(),
                version("vl-convert-python"))
    return HEAD % versions + bundle + TAIL


if __name__ == "__main__":
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(page())
    print(f"{PAGE}: {PAGE.stat().st_size:,} bytes")

"""Stage `fetch`: resolve the data roots (downloading the corpus if asked) into data/sources.json.

Runs on every `dvc repro` (it is cheap); downstream stages rerun only if the roots' content
fingerprint changed.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import io, sources
from pipeline.corpora import download


def main() -> None:
    params = io.load_params()["fetch"]
    roots = list(params["roots"])
    if params["download"]["enabled"]:
        spec = params["download"]
        fetched = download.fetch(spec["url"], spec["files"], Path(spec["dir"]))
        roots += [str(path) for path in fetched]
    io.write_json({"roots": [sources.fingerprint(root) for root in roots]}, "data/sources.json")


if __name__ == "__main__":
    main()

"""Stage `fetch`: resolve each corpus's roots (downloading RAVDESS if asked) into data/sources.json.

Runs on every `dvc repro` (it is cheap); downstream stages rerun only if the roots' content
fingerprint changed.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import io, paths, sources
from pipeline.corpora import download, ravdess


def main() -> None:
    params = io.load_params()["fetch"]
    corpora = {corpus: list(roots or []) for corpus, roots in params["corpora"].items()}
    if params["download"]["enabled"]:
        spec = params["download"]
        fetched = download.fetch(spec["url"], spec["files"], Path(spec["dir"]))
        corpora.setdefault(ravdess.CORPUS, []).extend(str(path) for path in fetched)
    fingerprints = {corpus: [sources.fingerprint(root) for root in roots] for corpus, roots in corpora.items() if roots}
    io.write_json({"corpora": fingerprints}, paths.SOURCES)


if __name__ == "__main__":
    main()

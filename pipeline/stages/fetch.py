"""Stage `fetch`: resolve each corpus's roots (downloading RAVDESS if asked) and each table corpus
into data/sources.json.

Runs on every `dvc repro` (it is cheap: file contents are hashed once, then known by path, size
and modification time from data/.content_hashes.json); downstream stages rerun only if the roots'
content fingerprint changed, never because files were copied or touched.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from pipeline import checks, entry, io, paths
from pipeline.ingest import download, sources
from pipeline.ingest.corpora import ravdess, registry, table
from pipeline.checks import SettingError


def check(params: dict) -> dict[str, table.TableSpec]:
    """The `fetch` block, before anything is read or downloaded: known corpora, roots as lists of
    paths, tables read as their settings say and named unlike any corpus in use."""
    checks.only_known("fetch", params, ["corpora", "download", "tables"])
    checks.only_known("fetch.corpora", params["corpora"], list(registry.ADAPTERS))
    for corpus, roots in params["corpora"].items():
        if not (roots is None or isinstance(roots, list) and all(isinstance(r, str) for r in roots)):
            raise SettingError(f"fetch.corpora.{corpus}: {roots!r} is not allowed; it must be a list of folders or "
                             "zip archives in brackets (empty: leave the corpus out)")
    checks.only_known("fetch.download", params["download"], ["enabled", "url", "dir", "files"])
    if not isinstance(params["download"]["enabled"], bool):
        raise SettingError(f"fetch.download.enabled: {params['download']['enabled']!r} is not allowed; it must be "
                         "true or false")
    queued_copy(params)
    tables = {name: table.TableSpec.from_params(name, block) for name, block in (params.get("tables") or {}).items()}
    twice = sorted(name for name in tables if params["corpora"].get(name))
    if twice:
        raise SettingError(f"fetch.tables: {', '.join(twice)} also read from folders under fetch.corpora: name the "
                         "table otherwise, or empty the folder list")
    return tables


QUEUED = f"{os.sep}.dvc{os.sep}tmp{os.sep}exps{os.sep}"  # where `dvc exp run --queue` copies the project


def queued_copy(params: dict) -> None:
    """Refuse relative roots that lead nowhere in a queued experiment's copy of the project (under
    .dvc/tmp/exps/): `../shared/data` is beside the project, not beside its copy, and DVC itself
    resolves the `external_features` paths there. Absolute roots work in both."""
    if QUEUED not in os.getcwd() + os.sep:
        return
    roots = [r for roots in params["corpora"].values() for r in roots or []]
    roots += [block.get("path", "") for block in (params.get("tables") or {}).values() if isinstance(block, dict)]
    lost = [r for r in roots if isinstance(r, str) and not os.path.isabs(r) and not os.path.exists(r)]
    if lost:
        project = (os.getcwd() + os.sep).split(QUEUED)[0]
        raise SettingError(f"fetch: {', '.join(lost[:3])}: relative to the project, so not found from a queued "
                           f"experiment's copy of it (.dvc/tmp/exps/); give absolute paths (here: "
                           f"{os.path.normpath(os.path.join(project, lost[0]))}, and the same for external_features "
                           "paths), or run the experiment without --queue")


def table_source(spec: table.TableSpec, known: dict[str, str]) -> dict[str, object]:
    """A table corpus in data/sources.json: its settings, and a fingerprint of the table and the files it names."""
    path = Path(spec.path)
    found = [path] * path.is_file() + [Path(f) for f in table.files(spec)]
    return {"spec": dataclasses.asdict(spec), "files": len(found),
            "digest": sources.digest_of(found, path.parent, known)}


def main() -> None:
    params = io.load_params()["fetch"]
    tables = check(params)
    corpora = {corpus: list(roots or []) for corpus, roots in params["corpora"].items()}
    if params["download"]["enabled"]:
        spec = params["download"]
        fetched = download.fetch(spec["url"], spec["files"], Path(spec["dir"]))
        corpora.setdefault(ravdess.CORPUS, []).extend(str(path) for path in fetched)
    known = io.read_json(paths.CONTENT_HASHES) if paths.CONTENT_HASHES.exists() else {}
    fingerprints = {corpus: [sources.fingerprint(root, known) for root in roots]
                    for corpus, roots in corpora.items() if roots}
    described = {name: table_source(spec, known) for name, spec in tables.items()}
    io.write_json(known, paths.CONTENT_HASHES)
    io.write_json({"corpora": fingerprints} | ({"tables": described} if described else {}), paths.SOURCES)


if __name__ == "__main__":
    entry.run(main)

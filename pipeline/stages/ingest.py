"""Stage `ingest`: scan each corpus's roots in data/sources.json -> data/manifest.parquet + data/rejects.parquet."""

from __future__ import annotations

import pandas as pd

from pipeline import checks, compute, entry, io, paths
from pipeline.ingest import manifest, rejected, sources
from pipeline.ingest.corpora import table


def main() -> None:
    everything = io.load_params()
    where = compute.from_params(everything.get("compute"))
    params = everything["ingest"]
    lists = {key: params[key] for key in ("channels", "emotions", "intensities", "holdout_speakers")}
    checks.only_known("ingest", params, [*lists, "silence_dbfs", "max_take_mb"])
    for key, value in lists.items():
        if not isinstance(value, list):  # tuple('21') would be ('2', '1'): a list of what was meant is needed
            raise SystemExit(f"ingest.{key}: {value!r} must be a list in brackets, e.g. {key}: [{value}]")
    selection = manifest.Selection(**{key: tuple(value) for key, value in lists.items()})
    if not (checks.is_number(params["max_take_mb"]) and params["max_take_mb"] > 0):
        raise SystemExit(f"ingest.max_take_mb: {params['max_take_mb']!r} must be a positive number of megabytes")
    if not (checks.is_number(params["silence_dbfs"]) and params["silence_dbfs"] < 0):
        raise SystemExit(f"ingest.silence_dbfs: {params['silence_dbfs']!r} must be a negative number of dBFS "
                         "(a take whose peak stays below it is rejected as silent)")
    found_at = io.read_json(paths.SOURCES)
    roots = {corpus: [root["path"] for root in found] for corpus, found in found_at["corpora"].items()}
    described = {corpus: table.TableSpec(**source["spec"]) for corpus, source in found_at.get("tables", {}).items()}
    scanned = {corpus: sources.scan_roots(corpus_roots) for corpus, corpus_roots in roots.items()}
    with compute.engine(where):
        takes, rejects = manifest.build({corpus: found.clips for corpus, found in scanned.items()}, selection,
                                        params["silence_dbfs"], params["max_take_mb"], described)
    root_problems = rejected.table(
        [rejected.reject(path, reason) for found in scanned.values() for path, reason in found.problems]
    )
    rejects = pd.concat([root_problems, rejects], ignore_index=True)
    rejected.printed(rejects)
    if takes.empty:
        raise SystemExit(f"ingest: no usable takes under {roots} or in {[t.path for t in described.values()]} "
                         f"({len(rejects)} files rejected, see above)")
    io.write_parquet(takes, paths.MANIFEST)
    io.write_parquet(rejects, paths.REJECTS)
    counts = ", ".join(f"{corpus} {n}" for corpus, n in takes["corpus"].value_counts().sort_index().items())
    print(f"ingest: {len(takes)} takes selected ({counts}), "
          f"{int((rejects.outcome != 'kept').sum())} files rejected or dropped")


if __name__ == "__main__":
    entry.run(main)

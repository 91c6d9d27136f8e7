"""Stage `external_features@<name>`: features measured by another tool -> features/<name>.parquet.

Usage: python -m pipeline.stages.external_features [NAME]   (under `dvc repro`, NAME is the stage's item)
Reads `external_features.NAME` (a clip-level table or a folder of OpenFace per-frame CSVs, see
pipeline/extract/tables.py) and data/manifest.parquet; writes one row per take the source measured
(features/<name>.parquet) and every file, column or row it could not use, with the reason
(features/<name>_rejects.parquet). The modality trains, fuses and reports like `audio` and `face`.
"""

from __future__ import annotations

import argparse

import pandas as pd

from pipeline import compute, entry, io, paths
from pipeline.extract import tables
from pipeline.ingest import rejected
from pipeline.extract.outputs import write_copies, write_table


def main(name: str) -> None:
    params = io.load_params()
    where = compute.from_params(params.get("compute"))
    source = tables.source_from(name, params)
    takes = pd.read_parquet(paths.MANIFEST)
    with compute.engine(where):
        rows = tables.read_rows(source)
    known = set(takes.loc[takes["corpus"] == source.corpus, "take"])
    features, unmatched = tables.match_takes(rows, source.corpus, known)
    features, leaking = tables.without_label_constant(features, takes, source)
    rejects = rejected.table(rows.rejects + unmatched + leaking)
    rejected.printed(rejects)
    if features.empty:
        raise SystemExit(f"external_features.{name}: no usable row matched a take of the manifest "
                         f"({len(rejects)} rejects listed above)")
    write_table(features, name, source)
    io.write_parquet(rejects, paths.feature_rejects(name))
    write_copies(name, [], [c for c in features.columns if c != "take"])  # a measured table has none
    print(f"external_features.{name}: {len(features)} takes x {len(features.columns) - 1} features "
          f"({len(known) - len(features)} {source.corpus} takes not measured), {len(rejects)} rejects")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Read externally measured features as a modality.")
    parser.add_argument("name", nargs="*", help="a key of external_features in params.yaml (default: DVC_STAGE's)")
    entry.run(lambda: main(*entry.item(parser.parse_args().name, 1)))

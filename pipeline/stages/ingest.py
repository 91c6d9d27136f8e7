"""Stage `ingest`: scan the roots in data/sources.json -> data/manifest.parquet + data/rejects.parquet."""

from __future__ import annotations

import pandas as pd

from pipeline import io, manifest, sources


def main() -> None:
    params = io.load_params()["ingest"]
    roots = [root["path"] for root in io.read_json("data/sources.json")["roots"]]
    found = sources.scan_roots(roots)
    selection = manifest.Selection(
        channels=tuple(params["channels"]),
        emotions=tuple(params["emotions"]),
        intensities=tuple(params["intensities"]),
        holdout_actors=tuple(params["holdout_actors"]),
    )
    takes, rejects = manifest.build(found.clips, selection, params["silence_dbfs"], params["n_jobs"])
    root_problems = manifest.reject_table([manifest.reject(path, reason) for path, reason in found.problems])
    rejects = pd.concat([root_problems, rejects], ignore_index=True)
    manifest.print_rejects(rejects)
    if takes.empty:
        raise SystemExit(f"ingest: no usable takes under {roots} ({len(rejects)} files rejected, see above)")
    io.write_parquet(takes, "data/manifest.parquet")
    io.write_parquet(rejects, "data/rejects.parquet")
    print(f"ingest: {len(takes)} takes selected, {int((rejects.outcome != 'kept').sum())} files rejected or dropped")


if __name__ == "__main__":
    main()

"""Stage `cross_corpus@<key>`: the trained models on a corpus they never trained on (`transfer`).

Usage: python -m pipeline.stages.cross_corpus [KEY]   (under `dvc repro`, KEY is the stage's item)
Reads `cross_corpus.<key>` (a corpus adapter and its root) and the fuse stage's run record
(models/fusion/run.json: what the models are, no rule deployed yet); scores each side of the answer
(voice, each face read from video or images) under every fusion rule on the takes it never trained
on, plain, by speaker and the corpus as one batch, and writes models/cross_corpus/<key>.json for
the report, which shows the deployed rule's (so `fuse.deploy` reruns no scoring here).
"""

from __future__ import annotations

import sys

from pipeline import compute, entry, io, paths
from pipeline.apply import ensemble, transfer


WAYS = {"none": "plain:", "speaker": "by speaker:", "corpus": "the corpus as one batch:"}


def main(key: str) -> None:
    params = io.load_params()
    source = transfer.Source.from_params(key, params)
    with compute.engine(compute.from_params(params.get("compute"))):
        found = transfer.scored(ensemble.load_run(paths.FUSED_RUN), params["ingest"], source)
    io.write_json(found, paths.cross_corpus_record(key))
    for rule, sides in found["by_rule"].items():
        for side, figures in sides.items():
            print(f"cross_corpus@{key}: {rule}: {side}: " + ", ".join(
                f"{WAYS[n]} {f['decision']} {f['accuracy']:.1%} (UAR {f['uar']:.1%}, {f['most_predicted']} "
                f"{f['most_predicted_share']:.0%} of answers)" for n, f in figures.items() if n != "left_out_trained"))


if __name__ == "__main__":
    entry.run(lambda: main(*entry.item(sys.argv[1:], 1)))

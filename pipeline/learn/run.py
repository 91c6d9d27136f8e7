"""The trained run as one record (models/run.json): what `dvc repro` trained, fused and deploys.

The calibrate stage, the last one every answer depends on, writes it from params.yaml as the
stages read it; `predict`, `evaluate` and `info` read only it (and the model files it points to),
so an edit of params.yaml that `dvc repro` has not yet trained changes no answer: the commands
name such edits instead. The fuse stage writes the same record with no rule deployed
(models/fusion/run.json): the cross_corpus stages score every rule from it, so choosing another
rule to deploy reruns calibrate and the report, nothing measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline import io, paths
from pipeline.extract import extractors
from pipeline.learn import fusion, runplan

VERSION = 1


@dataclass(frozen=True)
class Run:
    plan: runplan.RunPlan
    rules: tuple[str, ...]  # the fusion rules the fuse stage fitted
    deploy: str | None  # the one predict and evaluate answer with (None: not chosen yet, the fuse stage's record)
    ways: dict[str, str]  # modality -> the registry key of its extractor (`extractors.way_of`)

    @classmethod
    def of_params(cls, params: dict, deployed: bool = True) -> Run:
        """The run params.yaml describes; without `deployed`, with no rule chosen (`fuse.deploy` not read)."""
        plan = runplan.plan(params)
        fuse = fusion.FuseSettings.from_params(params, deployed)
        return cls(plan, fuse.rules, fuse.deploy, {m: extractors.way_of(m, params) for m in plan.modalities})

    @property
    def groups(self) -> list[fusion.Group]:
        return fusion.groups(self.plan)

    def reads(self, modality: str) -> str:
        """The manifest column `modality` is measured from (audio_path or video_path)."""
        return extractors.EXTRACTORS[self.ways[modality]].reads

    def to_json(self) -> dict:
        return {"version": VERSION,  # learners: a list, as the order of modalities orders the fusion groups
                "learners": [{"modality": m, "learners": list(ls)} for m, ls in self.plan.learners.items()],
                "normalisations": list(self.plan.normalisations), "kinds": self.plan.kinds,
                "rules": list(self.rules), "deploy": self.deploy, "extractors": self.ways,
                "fusion_groups": [group.name for group in self.groups]}

    @classmethod
    def from_json(cls, record: dict) -> Run:
        if record.get("version") != VERSION:
            raise ValueError(f"version {record.get('version')!r}, not {VERSION}")
        plan = runplan.RunPlan({entry["modality"]: tuple(entry["learners"]) for entry in record["learners"]},
                               tuple(record["normalisations"]), record["kinds"])
        return cls(plan, tuple(record["rules"]), record["deploy"], record["extractors"])

    def write(self, path: Path = paths.RUN) -> None:
        io.write_json(self.to_json(), path)

    @classmethod
    def read(cls, path: Path = paths.RUN) -> Run:
        return cls.from_json(io.read_json(path))

    def untrained(self, params: dict) -> list[str]:
        """What params.yaml now says that this run was not trained or deployed with (run `dvc repro`)."""
        now = Run.of_params(params)
        out = []
        if now.deploy != self.deploy:
            out.append(f"fuse.deploy is {now.deploy}, the models deploy {self.deploy}")
        if now.plan.learners != self.plan.learners:
            out.append("run trains " + _listed(now.plan.learners) + "; the models are " + _listed(self.plan.learners))
        if now.plan.normalisations != self.plan.normalisations or now.rules != self.rules:
            out.append("run.normalisations or fuse.rules differ from those the models were trained with")
        return out


def _listed(learners: dict[str, tuple[str, ...]]) -> str:
    return ", ".join(f"{m}: {'+'.join(ls)}" for m, ls in learners.items())

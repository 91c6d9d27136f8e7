"""What a run trains and fuses, read once from params: which learners train on which modality
(`run.modalities` x `run.learners`, and `run.wide_modalities` x `run.wide_learners`, the two
train matrices of dvc.yaml), the normalisations, and whether each modality is a voice or a face."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.learn.normalisation import suffix
from pipeline.checks import SettingError

OWN_KINDS = {"audio": "voice", "face": "face"}


def model_name(modalities: str, model: str, normalisation: str) -> str:
    """How reports, metrics and predict name a model: "audio/svm", "audio+au/fused + speaker norm"."""
    return f"{modalities}/{model}{suffix(normalisation)}"


@dataclass(frozen=True)
class RunPlan:
    learners: dict[str, tuple[str, ...]]  # modality -> its learners, in the order the run lists them
    normalisations: tuple[str, ...]
    kinds: dict[str, str]  # modality -> "voice" or "face"

    @property
    def modalities(self) -> list[str]:
        return list(self.learners)

    def of_kind(self, kind: str) -> list[str]:
        return [m for m in self.learners if self.kinds[m] == kind]


def kinds(params: dict) -> dict[str, str]:
    """voice or face for every modality the params define: the own two, each openSMILE set (a
    voice), each external source (its `kind`)."""
    return {**OWN_KINDS, **{name: "voice" for name in params.get("opensmile_features") or {}},
            **{name: spec["kind"] for name, spec in (params.get("external_features") or {}).items()}}


def plan(params: dict) -> RunPlan:
    """The RunPlan of `params` (a modality listed twice, or one nothing defines, is refused)."""
    run = params["run"]
    wide = run.get("wide_modalities") or []
    twice = sorted(set(run["modalities"]) & set(wide))
    if twice:
        raise SettingError(f"run: {', '.join(twice)} is in both modalities and wide_modalities; a modality trains "
                         "with one learner list")
    known = kinds(params)
    unknown = [m for m in [*run["modalities"], *wide] if m not in known]
    if unknown:
        raise SettingError(f"run: {', '.join(unknown)} is neither audio, face nor a key of opensmile_features or "
                         "external_features")
    learners = {m: tuple(run["learners"]) for m in run["modalities"]}
    learners |= {m: tuple(run.get("wide_learners") or []) for m in wide}
    return RunPlan(learners, tuple(run["normalisations"]), {m: known[m] for m in learners})

"""What a trained run leaves for the commands, as typed records with a kind and a version: a
learner's model file, a fusion group's fitted rules, a modality's novelty model.

Each is written as a plain dict holding its kind and version (a pickled dataclass would tie every
saved model to this module's path) and read back by `read`, which refuses another kind or version
by name: a model file from an older run is a clear "retrain", never a KeyError inside `predict`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

Saved = TypeVar("Saved", bound="Record")


class RecordError(ValueError):
    """A saved record of another kind or version than the reader expects (the message says which)."""


@dataclass(frozen=True)
class Record:
    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    def saved(self) -> dict[str, Any]:
        """The dict a model file holds: kind, version, then every field."""
        return {"kind": self.KIND, "version": self.VERSION,
                **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}

    @classmethod
    def read(cls: type[Saved], saved: object) -> Saved:
        """The record `saved` holds; RecordError unless it is this kind at this version."""
        found = saved if isinstance(saved, dict) else {}
        kind, version = found.get("kind"), found.get("version")
        if (kind, version) != (cls.KIND, cls.VERSION):
            held = f"a {kind} record of version {version}" if kind else "no versioned record (an older run's file?)"
            raise RecordError(f"holds {held}, not a {cls.KIND} record of version {cls.VERSION}")
        return cls(**{f.name: found[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class LearnerFile(Record):
    """One trained learner (`train`): the model fitted on every take, and what applying it needs."""

    KIND: ClassVar[str] = "learner"

    model: Any  # a fitted scikit-learn pipeline
    classes: list[str]
    features: list[str]  # its columns, in order
    modality: str
    learner: str
    normalisation: str
    best_params: dict[str, Any]  # the point the whole-table search chose
    content: list[str]  # content hashes of every take it trained on (`dataset.training_content`)
    feature_table: dict[str, Any]  # the feature table's metadata: the settings that made its columns


@dataclass(frozen=True)
class FusionFile(Record):
    """One fusion group's rules (`fuse`), each fitted on every take's out-of-fold probabilities."""

    KIND: ClassVar[str] = "fusion"

    stems: list[str]  # its members' model stems, in the order the rules take their probabilities
    classes: list[str]
    rules: dict[str, Any]  # rule name -> fitted `fusion` rule


@dataclass(frozen=True)
class NoveltyFile(Record):
    """One modality's novelty model (`novelty`), on the columns its learners use."""

    KIND: ClassVar[str] = "novelty"

    novelty: Any  # a fitted `novelty.Model`
    modality: str
    features: list[str]

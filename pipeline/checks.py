"""Checks of a params block's values, run when its settings object is made: a bad value fails
before any clip is read, naming the setting, the value and what is allowed (not with a library
traceback after the first clip, nor silently changing what the features mean)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, TypeVar

Rule = tuple[str, str, Callable[[Any], bool]]  # (setting, what is allowed, test on the settings object)
Settings = TypeVar("Settings")


class SettingError(ValueError):
    """A params setting that cannot be used (the message names it): a stage says it in one line."""


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (isinstance(value, int)
                                                                               or math.isfinite(value))


def shown(value: object, limit: int = 120) -> str:
    """A value as a message quotes it: its repr, cut to `limit` characters (a refused setting may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def check(block: str, settings: object, rules: list[Rule]) -> None:
    """Apply `rules` in order (a rule may rely on the ones before it having passed)."""
    for setting, allowed, ok in rules:
        if not ok(settings):
            raise SettingError(f"{block}.{setting}: {shown(getattr(settings, setting))} is not allowed; it must be "
                               f"{allowed}")


def only_known(block: str, settings: dict, known: list[str]) -> None:
    """Refuse a params block holding a setting no code reads (a typo must not be silently ignored)."""
    unknown = sorted(set(settings) - set(known))
    if unknown:
        listed = ", ".join(map(str, unknown))
        raise SettingError(f"{block}: unknown setting(s) {listed[:120]}{'...' * (len(listed) > 120)}; known: "
                           f"{', '.join(known)}")


def from_block(block: str, cls: type[Settings], values: dict) -> Settings:
    """The settings dataclass `cls` made from a params block (lists become tuples: settings are
    frozen), an unknown setting refused by name first (not a TypeError about a keyword argument);
    `cls` checks the values themselves."""
    if not isinstance(values, dict):
        raise SettingError(f"{block}: {shown(values)} is not allowed; it must be a block of settings")
    only_known(block, values, [f.name for f in dataclasses.fields(cls)])
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

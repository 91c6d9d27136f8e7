"""openSMILE's standard acoustic feature sets (ComParE_2016, eGeMAPSv02, ...) as clip functionals.

The `opensmile` package ships the extractor and the set definitions in its wheel: nothing is
fetched. Decoding is the project's own (wav/flac, a video's audio track, zip members), so
openSMILE hears the same samples as the own features do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import opensmile

from pipeline import checks
from pipeline.extract import audio
from pipeline.checks import SettingError


@dataclass(frozen=True)
class SmileSettings:
    name: str                 # the key in opensmile_features: the modality's name
    feature_set: str          # a member of opensmile.FeatureSet, e.g. ComParE_2016
    sample_rate: int | None   # resample to this before extraction; None: as recorded

    def __post_init__(self) -> None:
        checks.check(f"opensmile_features.{self.name}", self, [
            ("feature_set", f"one of {', '.join(opensmile.FeatureSet.__members__)}",
             lambda s: s.feature_set in opensmile.FeatureSet.__members__),
            ("sample_rate", "empty (as recorded) or a whole number of Hz from 8000 to 192000",
             lambda s: s.sample_rate is None or (checks.is_int(s.sample_rate) and 8000 <= s.sample_rate <= 192000)),
        ])


@lru_cache(maxsize=None)
def _extractor(feature_set: str) -> opensmile.Smile:
    """One extractor per set and process (building it parses the set's configuration)."""
    return opensmile.Smile(feature_set=opensmile.FeatureSet[feature_set],
                           feature_level=opensmile.FeatureLevel.Functionals)


def feature_names(settings: SmileSettings) -> list[str]:
    return list(_extractor(settings.feature_set).feature_names)


def clip_features(decoded: audio.Decoded, settings: SmileSettings) -> np.ndarray:
    """The set's functionals of one clip (mono mix, resampled as the settings say)."""
    y, rate = audio.to_mono(decoded.samples), decoded.sample_rate
    if settings.sample_rate is not None and settings.sample_rate != rate:
        y, rate = audio.resample(y, rate, settings.sample_rate), settings.sample_rate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "segment too short": answered below, per clip
        values = _extractor(settings.feature_set)(y, rate)[0, :, 0].astype(np.float64)
    if not np.isfinite(values).all():
        raise audio.AudioError(f"openSMILE {settings.feature_set} gave {int((~np.isfinite(values)).sum())} "
                               f"non-finite values (a clip of {len(y) / rate:.2f} s is too short for it)")
    return values


def file_features(address: str, settings: SmileSettings) -> np.ndarray:
    """`clip_features` of the clip at `address` (what the batch runner calls per clip)."""
    return clip_features(audio.decode(address), settings)


@dataclass(frozen=True)
class WithCopies:
    """A set's settings and the speed factors of the training copies made of each clip."""

    settings: SmileSettings
    speed_copies: tuple[float, ...]

    def __post_init__(self) -> None:
        checks.check(f"opensmile_features.{self.settings.name}", self, [
            ("speed_copies", "a list of distinct speed factors from 0.5 to 2, none of them 1 (e.g. [0.9, 1.1])",
             lambda c: all(checks.is_number(f) and 0.5 <= f <= 2 and f != 1 for f in c.speed_copies)
             and len(set(c.speed_copies)) == len(c.speed_copies)),
        ])


def job_from(name: str, sets: dict) -> WithCopies:
    """The SmileSettings of set `name` of the `opensmile_features` block and its copies' speeds."""
    if name not in sets:
        raise SettingError(f"opensmile_features has no set {name!r} (it has: {', '.join(sets) or 'none'})")
    block = sets[name]
    checks.only_known(f"opensmile_features.{name}", block, ["feature_set", "sample_rate", "speed_copies"])
    settings = SmileSettings(name=name, feature_set=block.get("feature_set"), sample_rate=block.get("sample_rate"))
    speeds = block.get("speed_copies") or []
    if not isinstance(speeds, list):
        raise SettingError(f"opensmile_features.{name}.speed_copies: {speeds!r} is not allowed; it must be a list")
    return WithCopies(settings, tuple(speeds))


def file_features_and_copies(address: str, job: WithCopies) -> np.ndarray:
    """`(1 + len(job.speed_copies), n_features)`: the clip's functionals, then those of each
    speed-perturbed copy (made after resampling, at the rate openSMILE hears); a copy the set
    cannot measure (a clip 10% faster may be too short for it) is a row of NaN, the clip kept."""
    decoded = audio.decode(address)
    rate = job.settings.sample_rate or decoded.sample_rate
    y = audio.resample(audio.to_mono(decoded.samples), decoded.sample_rate, rate)  # once, for the clip and its copies
    rows = [clip_features(audio.Decoded(y[:, None], rate), job.settings)]
    for factor in job.speed_copies:
        try:
            rows.append(clip_features(audio.Decoded(audio.speed_perturbed(y, factor)[:, None], rate), job.settings))
        except audio.AudioError:
            rows.append(np.full_like(rows[0], np.nan))
    return np.stack(rows)

"""Training copies of a take heard off the studio: each copy meets recording effects drawn at random
from the `augment.draw` ranges (a room, white or pink noise, a level change, a telephone line, a
codec round trip; `conditions.apply` makes them), and every voice modality measures it.

A copy is drawn from a generator seeded by the clip's bytes (not its name or its place in a
batch), so a clip gets the same copies in any corpus, on any worker, and the feature cache keeps
them by content. Babble is not drawn: it would mix other speakers, perhaps a fold's test
speakers, into training rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline import checks
from pipeline.extract import conditions, degraded
from pipeline.ingest import sources

COLOURS = ("white", "pink")
CODECS = tuple(conditions.CODECS)
EFFECTS = {"room": ("rt60",), "noise": ("snr_db",), "level": ("gain_db",), "telephone": (), "codec": ("bitrate",)}


def _chance(value: object) -> bool:
    return checks.is_number(value) and 0 <= value <= 1


def _span(value: object, low: float, high: float) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and all(checks.is_number(v) and low <= v <= high for v in value)
            and value[0] <= value[1])


@dataclass(frozen=True)
class Draw:
    """The `augment.draw` block: each effect's chance of meeting a copy (none: never), and the range
    its setting is drawn from (uniformly; a bitrate on a log scale)."""

    room: float = 0.0
    rt60: tuple[float, float] = (0.2, 0.8)
    noise: float = 0.0
    snr_db: tuple[float, float] = (5.0, 30.0)
    level: float = 0.0
    gain_db: tuple[float, float] = (-35.0, -5.0)
    telephone: float = 0.0
    codec: float = 0.0
    bitrate: tuple[float, float] = (16000, 64000)

    def __post_init__(self) -> None:
        checks.check("augment.draw", self, [
            *[(name, "a chance from 0 to 1", lambda d, n=name: _chance(getattr(d, n)))
              for name in ("room", "noise", "level", "telephone", "codec")],
            ("rt60", "[low, high] seconds within 0.1 to 3", lambda d: _span(d.rt60, 0.1, 3)),
            ("snr_db", "[low, high] dB within -10 to 60", lambda d: _span(d.snr_db, -10, 60)),
            ("gain_db", "[low, high] dB within -60 to 0", lambda d: _span(d.gain_db, -60, 0)),
            ("bitrate", "[low, high] bits per second within 6000 to 320000", lambda d: _span(d.bitrate, 6000, 320000)),
            ("codec", "with the other chances, more than 0 (a copy meets at least one effect)",
             lambda d: d.room + d.noise + d.level + d.telephone + d.codec > 0),
        ])

    @classmethod
    def from_block(cls, block: object) -> Draw:
        """From `{room: {chance: 0.3, rt60: [0.2, 0.8]}, telephone: {chance: 0.2}, ...}`."""
        if not isinstance(block, dict) or not all(isinstance(b, dict) for b in block.values()):
            raise checks.SettingError(f"augment.draw: {checks.shown(block)} is not allowed; it must be a block of "
                                      f"effects ({', '.join(EFFECTS)}), each {{chance: 0.3, ...its range}}")
        checks.only_known("augment.draw", block, list(EFFECTS))
        flat = {}
        for effect, settings in block.items():
            checks.only_known(f"augment.draw.{effect}", settings, ["chance", *EFFECTS[effect]])
            flat.update({effect: settings.get("chance", 0.0)}, **{k: v for k, v in settings.items() if k != "chance"})
        return checks.from_block("augment.draw", cls, flat)

    def condition(self, rng: np.random.Generator, name: str) -> conditions.Condition:
        """One copy's effects: each met with its chance, drawn again until at least one is met (a
        copy with none would only repeat the take)."""
        while True:
            met = rng.random(5) < [self.room, self.noise, self.level, self.telephone, self.codec]
            if met.any():
                break
        room, noise, level, telephone, codec = met
        return conditions.Condition(
            name,
            rt60=float(rng.uniform(*self.rt60)) if room else None,
            noise=COLOURS[rng.integers(len(COLOURS))] if noise else None,
            snr_db=float(rng.uniform(*self.snr_db)) if noise else 20.0,
            gain_db=float(rng.uniform(*self.gain_db)) if level else 0.0,
            telephone=bool(telephone),
            codec=CODECS[rng.integers(len(CODECS))] if codec else None,
            bitrate=int(round(np.exp(rng.uniform(*np.log(self.bitrate))))) if codec else 32000,
        )


@dataclass(frozen=True)
class Settings:
    """The `augment` block: how many copies of each take, drawn how, seeded how (`train.augmented`
    says which models train on them)."""

    copies: int
    seed: int
    draw: Draw

    def __post_init__(self) -> None:
        checks.check("augment", self, [
            ("copies", "a whole number from 0 (no copies) to 20", lambda s: checks.is_int(s.copies) and 0 <= s.copies <= 20),
            ("seed", "a whole number >= 0", lambda s: checks.is_int(s.seed) and s.seed >= 0),
        ])

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        block = dict(params["augment"])
        return checks.from_block("augment", cls, {**block, "draw": Draw.from_block(block.get("draw"))})


@dataclass(frozen=True)
class Job:
    """What a clip's copies depend on besides its bytes: the copies, their draw, the voices measuring them."""

    copies: int
    seed: int
    draw: Draw
    voices: tuple[object, ...]  # each voice modality's extractor settings, in column order


def generator(address: str, seed: int) -> np.random.Generator:
    """The clip's own generator: seeded by `seed` and the clip's bytes."""
    return np.random.default_rng([seed, int(sources.file_hash(address)[:16], 16)])


def copies_of_clip(address: str, job: Job) -> np.ndarray:
    """`(copies, features)`: the clip under `job.copies` drawn conditions, each measured by every
    voice (a row of NaN where a copy leaves nothing to measure)."""
    rng = generator(address, job.seed)
    y = degraded.mono(address)
    heard = [conditions.apply(y, degraded.RATE, job.draw.condition(rng, f"copy{k}"), rng) for k in range(job.copies)]
    return degraded.measured_rows(heard, job.voices)

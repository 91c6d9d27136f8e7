"""How a stage starts: which item of a `foreach`/`matrix` stage it runs, and a refused setting said
in one line.

dvc.yaml interpolates no params name or value into a `cmd`: a shell would run whatever a key such
as `x';touch X;echo '` smuggles in before any Python could check it. A stage run by DVC finds its
item in `DVC_STAGE` instead (`train@audio-svm-none`: DVC joins a matrix's values with `-`, which
no checked name holds); run by hand, it takes the same values as arguments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from pipeline.checks import SettingError
from pipeline.io import NAME, ParamsError

STAGE_ENV = "DVC_STAGE"


def item(given: list[str], count: int) -> list[str]:
    """The `count` values naming this stage's item: `given` (the command line) when it holds them,
    else those of the DVC stage running this process, each a checked name."""
    values = given or _from_dvc_stage(count)
    if len(values) != count:
        raise SettingError(f"expected {count} names, got {len(values)} ({' '.join(map(repr, values))})")
    bad = [v for v in values if not NAME.fullmatch(v)]
    if bad:
        raise SettingError(f"{', '.join(repr(v[:80]) for v in bad)}: a name must be lower-case letters, digits and "
                           "underscores ([a-z0-9_]+)")
    return values


def _from_dvc_stage(count: int) -> list[str]:
    stage = os.environ.get(STAGE_ENV, "")
    _, at, key = stage.rpartition("@")
    if not at:
        raise SettingError(f"no item given: name it on the command line, or run the stage with `dvc repro` "
                           f"({STAGE_ENV} is {stage!r})")
    return key.split("-", count - 1) if count > 1 else [key]


def run(main: Callable[..., object], *args: object, **kwargs: object) -> None:
    """`main(*args, **kwargs)`, a refused setting (params.yaml or a stage's item) ending the process
    with one line naming it, as every command does."""
    try:
        main(*args, **kwargs)
    except (ParamsError, SettingError) as error:
        sys.exit(f"{os.environ.get(STAGE_ENV) or os.path.basename(sys.argv[0])}: {error}")

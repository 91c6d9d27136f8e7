"""What the commands answer with besides the clips themselves, shared by `predict` and `evaluate`:
a note for each edit of params.yaml the trained run does not carry, and the rows of features
measured elsewhere that `--features NAME=PATH` gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from pipeline.apply import ensemble
from pipeline.errors import InputError
from pipeline.extract import extractors, tables
from pipeline.ingest import rejected
from pipeline.learn.run import Run


def settings_notes(settings: dict[str, object], params: dict, trained: Run) -> list[str]:
    """A line for each edit of params.yaml not yet trained: what `run` trains and `fuse` deploys
    (the trained run answers), and each modality whose feature settings now differ from those its
    models were trained with (the models' own are used): the user should know why."""
    try:
        notes = [f"params.yaml: {edit}; answering with the trained models (`dvc repro` trains what params.yaml says)"
                 for edit in trained.untrained(params)]
    except ValueError as error:
        notes = [f"params.yaml's run or fuse block cannot be read ({error}); answering with the trained models"]
    for modality, saved in settings.items():
        try:
            changed = extractors.changes(saved, extractors.from_params(modality, params))
        except ValueError as error:
            changed = [f"params.yaml's cannot be read ({error})"]
        if changed:
            notes.append(f"{modality}: features extracted with the settings the models were trained with, not "
                         f"params.yaml's ({'; '.join(changed)}); `dvc repro` retrains with params.yaml's")
    return notes


Measured = dict[str, dict[str, np.ndarray]]  # modality -> clip key -> feature row


def measured_features(options: list[tuple[str, str]], settings: dict[str, object],
                      predictor: ensemble.Predictor) -> Measured:
    """The rows of each `--features NAME=PATH` option, read like `external_features.NAME` but from PATH,
    keyed by clip; unusable rows are listed on stderr."""
    out: Measured = {}
    for name, path in options:
        option = f"{name}={path}"
        source = settings.get(name)
        if not isinstance(source, tables.ExternalSource) or name not in predictor.modalities:
            known = [m for m, s in settings.items() if isinstance(s, tables.ExternalSource)]
            raise InputError(f"--features {option}: expected NAME=PATH with NAME one of the trained "
                             f"external_features modalities ({', '.join(known) or 'none'})")
        if not Path(path).exists():
            raise InputError(f"--features {option}: {path}: no such file or folder")
        rows = tables.read_rows(dataclasses.replace(source, path=path))
        rejected.printed(rejected.table(rows.rejects))
        try:
            out[name] = tables.lookup(rows, source.corpus, predictor.columns(name))
        except tables.TableError as error:
            raise InputError(f"--features {option}: {error}") from None
        if not out[name]:
            raise InputError(f"--features {option}: no usable row")
    return out

"""CK+ (Extended Cohn-Kanade) image sequences: folder = label, `S<subject>_<sequence>_<frame>.png`.

The frames of one sequence are one clip (one take) and the subject is the group for
cross-validation. A clip is addressed by a glob pattern over its frames, which
`pipeline.extract.frames.read` opens.
"""

from __future__ import annotations

import glob
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from pipeline.ingest.corpora import Corpus

if TYPE_CHECKING:
    from pipeline.ingest.probing import Found, Probing

CORPUS = "ckplus"
LABELS = {  # folder name -> canonical emotion (contempt has no RAVDESS twin: kept as is)
    "anger": "angry",
    "contempt": "contempt",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "sadness": "sad",
    "surprise": "surprised",
}
_FRAME = re.compile(r"^S(\d{3})_(\d{3})_(\d{8})\.png$", re.IGNORECASE)


@dataclass(frozen=True)
class Sequence:
    subject: str
    sequence: str
    label: str
    pattern: str  # glob over the sequence's frame files
    n_frames: int

    @property
    def take(self) -> str:
        return f"{CORPUS}-S{self.subject}_{self.sequence}"

    @property
    def speaker(self) -> str:
        return f"{CORPUS}-S{self.subject}"


def sequences(files: list[str]) -> tuple[list[Sequence], list[tuple[str, str]]]:
    """Group frame files into labelled sequences; (path, reason) for every file that is not a
    CK+ frame in a known label folder, or whose sequence appears under two labels."""
    problems: list[tuple[str, str]] = []
    grouped: dict[tuple[str, str], dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for file in map(Path, files):
        match = _FRAME.match(file.name)
        if not match:
            problems.append((str(file), "not a CK+ frame name (expected S<subject>_<sequence>_<frame>.png)"))
        elif file.parent.name.lower() not in LABELS:
            problems.append((str(file), f"unknown CK+ label folder {file.parent.name!r} (expected one of {sorted(LABELS)})"))
        else:
            grouped[match.group(1), match.group(2)][LABELS[file.parent.name.lower()]].append(file)
    found = []
    for (subject, sequence), by_label in sorted(grouped.items()):
        if len(by_label) > 1:
            problems += [(str(f), f"sequence S{subject}_{sequence} appears under several labels {sorted(by_label)}")
                         for frames in by_label.values() for f in frames]
            continue
        (label, frames), = by_label.items()
        folder = frames[0].parent
        if any(f.parent != folder for f in frames):
            problems += [(str(f), f"sequence S{subject}_{sequence} is split over several folders") for f in frames]
            continue
        pattern = str(folder / f"{frames[0].name[:len('S000_000_')]}*{frames[0].suffix}")
        found.append(Sequence(subject, sequence, label, pattern, len(frames)))
    return found, problems


def takes(adapter: Corpus, files: list[str], probing: Probing) -> Found:
    """CK+ image sequences (every frame read once) and the rejects."""
    import cv2  # the image reader loads when takes are read, not when the corpus is named
    import pandas as pd

    from pipeline import progress
    from pipeline.ingest.probing import COLUMNS
    from pipeline.ingest.rejected import reject
    found, problems = sequences(files)
    rejects = [reject(path, reason) for path, reason in problems]
    rows = []
    for sequence in progress.bar(found, desc="probe CK+ sequences", unit="sequence"):
        frames = sorted(glob.glob(sequence.pattern))
        unreadable = [f for f in frames if cv2.imread(f, cv2.IMREAD_GRAYSCALE) is None]
        if unreadable:
            rejects += [reject(f, f"unreadable image: sequence {sequence.take} left out") for f in unreadable]
            continue
        rows.append({
            "corpus": CORPUS, "take": sequence.take, "speaker": sequence.speaker, "label": sequence.label,
            "video_path": sequence.pattern, "n_frames": sequence.n_frames,
        })
    return pd.DataFrame(rows, columns=COLUMNS), rejects


ADAPTER = Corpus(CORPUS, (".png",), ("video",), tuple(LABELS.values()), read=takes)

"""Score the trained models on labelled takes they never saw: new speakers, other corpora.

Usage: python -m pipeline.apply.evaluate ROOT [--corpus NAME] [--features NAME=PATH]... [--out DIR] [--jobs N]

ROOT is read like a `fetch.corpora` root (folders, zip archives), or is a table of your own
labelled clips (.csv, .tsv, .parquet; read like a `fetch.tables` entry: that entry's settings
and name when it names this file, else the columns file, speaker and emotion). Every labelled take is
scored by every learner of each modality it carries, plain and speaker-normalised (each speaker
standardised with its own takes here, as in training), and by every fusion rule (per modality,
and across modalities; the `fuse.deploy` rule marked), as `dvc repro` left them; takes
whose label a model was not trained on are counted and left out, never mapped onto another
label. Takes a deployed learner was trained on (its out-of-fold table lists them) are also
counted and left out, and so are training takes under another name: the same decoded audio or
video file (the hashes the train stage recorded), the audio resampled, compressed or dithered (the
fingerprints stage's), or a --features row equal to a training row (`seen`); a root holding
nothing else is refused. Only the models of the
modalities the takes carry are loaded. Writes DIR/evaluation.md (default evaluation/): the verdict
first (each deployed decision with its 95% interval over these speakers, beside its cross-validated
accuracy on the same kind of takes: speech against speech, song against song; a take of a corpus
with no channel code that has a voice is speech), each model's figures beside its cross-validated
ones and the gap, and how the deployed fusion rule was chosen; DIR/models.md: per model accuracy, UAR,
macro F1, top-3, the confusion matrix, per-speaker accuracy, accuracy per vocal channel and intensity
and its figures; and DIR/evaluation.json. DIR is
written whole or not at all: the run writes a fresh folder beside it and swaps it in at the end,
so a run killed midway never leaves a report beside another run's figures. It never removes what
it did not write: DIR must be new, empty or an earlier evaluation holding only its own files
(listed in its .avemotion-evaluation.json), and never holds the takes scored or the project.
RAVDESS actors 21-24, withheld from every fold, are scored here (`--corpus ravdess`).
`--features au=SOURCE` gives the takes' measurements for an `external_features` modality (as in
predict): takes with a row are scored by that modality and fused with their voice.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import cli, compute, io, paths
from pipeline.apply import ensemble, scoring, seen
from pipeline.ingest import rejected
from pipeline.learn import fusion
from pipeline.report import charts, formatting, trained
from pipeline.ingest.corpora import ravdess, table
from pipeline.apply.ensemble import ModelError
from pipeline.apply.given import measured_features, settings_notes
from pipeline.errors import InputError



def described_by(root: str, corpus: str, params: dict) -> tuple[str, table.TableSpec | None]:
    """(the corpus's name, its table's settings) when ROOT is a table: those of the fetch.tables entry
    naming this file (then its key names the corpus), else the default columns (file, speaker,
    emotion) under the name `table`; (corpus, None) for a folder or archive."""
    if Path(root).suffix.lower() not in table.SUFFIXES:
        return corpus, None
    for name, block in ((params.get("fetch") or {}).get("tables") or {}).items():
        if os.path.realpath(str(block.get("path", ""))) == os.path.realpath(root):
            return name, dataclasses.replace(table.TableSpec.from_params(name, block), path=root)
    return "table", table.TableSpec(path=root)


MODELS_MD = "models.md"  # beside evaluation.md: each model's section, so the verdict file stays short


def _interval(bounds: list[float], n_speakers: int) -> str:
    """A 95% interval over speakers, or why there is none: one speaker resampled is that speaker again."""
    if n_speakers < 2:
        return "(no interval: one speaker)"
    return f"[{formatting.pct(bounds[0])}, {formatting.pct(bounds[1])}]"


def baseline(s: dict) -> str:
    """What a decision's figures stand against: the UAR a constant answer gets, how much of its
    answers the commonest one takes (a near-one-class answerer reads as one), the share of takes
    `predict` would flag as unlike the training takes, the labels it left out."""
    left_out = ", ".join(f"{label} ({n} takes)" for label, n in s["left_out"].items())
    return (f"UAR {formatting.pct(s['uar'])} against chance {formatting.pct(s['chance_uar'])}; its commonest answer, "
            f"{s['top_answer']}, is {formatting.pct(s['top_answer_share'])} of its answers; "
            f"{formatting.pct(s['flagged_share'])} of the takes are flagged as unlike the training takes"
            + (f"; left out, labels it does not know: {left_out}" if left_out else ""))


def verdict(summary: dict[str, dict], corpus: str) -> str:
    """The evaluation's conclusion, first: each deployed decision on these takes with its 95%
    interval (a bootstrap over these speakers), beside its cross-validated accuracy on the same
    kind of takes, chance and its commonest answer's share."""
    rows, sentences = [], []
    for name, s in summary.items():
        if not s["deployed"]:
            continue
        cv, kind = s["cross_validated_same_channels"], s["channels_matched"]
        gap = 100 * (s["accuracy"] - cv)
        interval, uar_interval = (_interval(s[key], s["n_speakers"]) for key in ("accuracy_ci", "uar_ci"))
        rows.append({"deployed decision": name, "takes": s["n_takes"], "speakers": s["n_speakers"],
                     "accuracy": formatting.pct(s["accuracy"]), "95% CI": interval,
                     "UAR": formatting.pct(s["uar"]), "UAR 95% CI": uar_interval,
                     "chance UAR": formatting.pct(s["chance_uar"]),
                     "commonest answer": f"{s['top_answer']} {formatting.pct(s['top_answer_share'])}",
                     f"cross-validated ({kind} takes)": formatting.pct(cv), "gap": f"{gap:+.1f}"})
        sentences.append(f"- **{name}**: {formatting.pct(s['accuracy'])} {interval} on {s['n_takes']} {corpus} takes "
                         f"of {s['n_speakers']} speakers it never heard, against {formatting.pct(cv)} cross-validated "
                         f"on the training corpora's {kind} takes: {abs(gap):.1f} points "
                         f"{'lower' if gap < 0 else 'higher'}"
                         + (" (the interval holds the cross-validated figure)."
                            if s["n_speakers"] > 1 and s["accuracy_ci"][0] <= cv <= s["accuracy_ci"][1] else ".")
                         + f" {baseline(s)}.")
    return "\n".join(["## Verdict", "", *sentences, "", formatting.table(pd.DataFrame(rows)) if rows else
                      "No deployed decision scored these takes.", ""])


def gap_table(summary: dict[str, dict]) -> str:
    """Each model's figures on these takes beside its cross-validated ones (outer folds, the
    speakers it was trained with) and the difference: the generalisation gap."""
    rows = []
    for name, s in summary.items():
        cv = s["cross_validated"]
        row = {"model": f"**{name}** (deployed)" if s["deployed"] else name, "takes": s["n_takes"]}
        for key, label in (("accuracy", "accuracy"), ("uar", "UAR"), ("macro_f1", "macro F1")):
            row |= {label: formatting.pct(s[key]), f"{label} (CV)": formatting.pct(cv.get(key, np.nan)),
                    f"{label} gap": f"{100 * (s[key] - cv[key]):+.1f}" if key in cv else "–"}
        rows.append(row)
    return "\n".join([
        "## Summary: these takes against cross-validation",
        "",
        "Each model on these takes, beside its figure on the outer folds of `dvc repro` (speakers it was "
        "never trained on there too, but from the training corpus) and the difference in points: the gap "
        "is what a new recording situation costs beyond a new speaker.",
        "",
        formatting.table(pd.DataFrame(rows)),
    ])


def fusion_note(predictor: ensemble.Predictor, deploy: str) -> str:
    """How the fused decisions were made and how the deployed rule was chosen, from the fuse stage's record."""
    lines = ["## Fusion rules", "",
             "Every rule was fitted by the fuse stage on out-of-fold probabilities of the training speakers only "
             f"(none of these takes). `predict` applies `{deploy}` (`fuse.deploy`), the row marked deployed above."]
    learnt = [(fused.name, told) for fused in predictor.fused if fused.rule_name == deploy and fused.figures
              and (told := fusion.RULES[deploy].told(io.read_json(fused.figures)["rules"][deploy], str))]
    if learnt:
        lines[-1] += f" `{deploy}` learnt its settings from the training takes' probabilities:"
        lines += [f"- {name}: {told}" for name, told in learnt]
    return "\n".join(lines)


def section(name: str, figures: dict, out: Path) -> str:
    png = out / f"confusion_{re.sub(r'[^A-Za-z0-9+]+', '_', name).strip('_')}.png"
    modality, _, learner = name.partition("/")
    charts.confusion_figure(trained.LearnerResult(modality, learner, "none", figures, pd.DataFrame()), png)
    present = [i for i, c in enumerate(figures["classes"]) if not np.isnan(figures["recall"][c])]
    confusion = pd.DataFrame(figures["confusion"], index=figures["classes"], columns=figures["classes"])
    confusion = confusion.iloc[present]
    confusion.index.name = "true \\ predicted"
    speakers = pd.Series(figures["per_speaker_accuracy"]).map(formatting.pct).rename("accuracy").rename_axis("speaker")
    splits = " ".join(f"Accuracy by {label}: " + ", ".join(f"{value} {formatting.pct(accuracy)} ({n} takes)"
                                                           for value, (accuracy, n) in by.items()) + "."
                      for label, by in zip(scoring.SPLITS.values(), figures["accuracy_by"].values()) if by)
    return "\n".join([
        f"### {name}",
        "",
        f"{figures['n_takes']} takes: accuracy {formatting.pct(figures['accuracy'])}, UAR {formatting.pct(figures['uar'])}, "
        f"macro F1 {formatting.pct(figures['macro_f1'])}, "
        f"top-3 {formatting.pct(figures['top3_accuracy'])}; chance {formatting.pct(1 / len(present))} "
        f"over the {len(present)} emotions present. UAR and macro F1 average over the emotions present among "
        f"these takes. {splits}",
        "",
        ("Left out (labels this model was not trained on): "
         + ", ".join(f"{label} {n}" for label, n in figures["left_out"].items()) + ".") if figures["left_out"] else
        "No take left out: the model knows every label present.",
        "",
        f"![confusion]({png.name})",
        "",
        formatting.table(confusion),
        "",
        formatting.table(speakers.to_frame()),
        "",
    ])


MARKER = ".avemotion-evaluation.json"  # in every folder evaluate writes: the files it wrote there


def _inside(path: Path, folder: Path) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def replaceable(out: Path, keep: list[Path]) -> None:
    """Refuse an `out` this run may not replace: a file, a folder holding the input or the project
    (`keep`), or a folder holding anything but an earlier evaluation's files (its MARKER lists them).
    `out` is replaced whole, so it must hold nothing a user could lose."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file; name a folder (it is replaced whole by this run's report)")
    for kept in keep:
        if _inside(kept, out):
            raise InputError(f"--out {out}: holds {kept}, which an evaluation's report must not replace; "
                             "name a folder of its own (e.g. evaluation/)")
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        written = set(io.read_json(out / MARKER)["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"--out {out}: a folder that is not an earlier evaluation's report (no {MARKER}); "
                         "it is replaced whole, so name a new or empty folder") from None
    other = sorted(p.name for p in out.iterdir() if p.name not in written | {MARKER})
    if other:
        raise InputError(f"--out {out}: holds {', '.join(other[:5])}{' ...' if len(other) > 5 else ''}, which no "
                         "evaluation wrote; move them, or name another folder")


def without_copied_rows(takes: pd.DataFrame, measured: dict[str, dict[str, np.ndarray]], predictor: ensemble.Predictor
                        ) -> tuple[pd.DataFrame, dict[str, dict[str, np.ndarray]], int]:
    """The takes and --features rows without the takes whose measured row is a training take's row
    (features/<modality>.parquet, where `dvc repro` left it), and how many were left out."""
    copied: set[str] = set()
    for modality, rows in measured.items():
        table = paths.features(modality)
        if table.exists():
            copied |= seen.copied_rows(rows, pd.read_parquet(table, columns=predictor.columns(modality)).to_numpy())
    left_out = takes["take"].isin(copied).to_numpy()
    if copied and left_out.all():
        raise InputError(f"every take's --features row is a training take's row ({len(copied)} takes)")
    kept = {m: {t: row for t, row in rows.items() if t not in copied} for m, rows in measured.items()}
    return takes[~left_out].reset_index(drop=True), kept, int(left_out.sum())


def writable_out(out: Path) -> Path:
    """A fresh folder beside `out` to write into, checked before any scoring (after `replaceable`):
    its parent must take a new folder (not read-only, not missing)."""
    fresh = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:12]}"
    try:
        fresh.mkdir(parents=True)  # the permissions any folder gets (mkdtemp's would be its owner's only)
        return fresh
    except OSError as error:
        raise InputError(f"--out {out}: cannot be written ({error.strerror})") from None


def swap_in(fresh: Path, out: Path, keep: list[Path]) -> None:
    """Put the finished folder where `out` is: the old one (checked again: still only an earlier
    evaluation's files) is moved aside first and removed after, so at no moment does `out` hold
    files of two runs."""
    io.write_json({"files": sorted(p.name for p in fresh.iterdir())}, fresh / MARKER)
    old = None
    if out.exists():
        replaceable(out, keep)
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.replace(out, old / out.name)
    os.replace(fresh, out)
    if old is not None:
        shutil.rmtree(old)


def kept_from(root: str) -> list[Path]:
    """What an --out folder may never hold: the takes scored and the project (its data and models)."""
    return [Path(root), Path.cwd(), paths.MANIFEST.parent, ensemble.MODELS, paths.features("").parent]


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    with compute.engine(compute.Compute(n_jobs=args.jobs)):
        try:
            params = io.load_params()
            trained = ensemble.load_run()
            if not Path(args.root).exists():
                raise InputError(f"{args.root}: no such file or folder")
            keep = kept_from(args.root)
            replaceable(out, keep)  # before any work: a folder that must not be replaced is refused at once
            args.corpus, spec = described_by(args.root, args.corpus, params)
            takes, rejects = scoring.labelled_takes(args.root, args.corpus, params["ingest"]["silence_dbfs"],
                                            params["ingest"]["max_take_mb"], spec)
            columns = {c for c in ("audio_path", "video_path") if takes[c].notna().any()}
            carried = {m for m in trained.plan.modalities if trained.reads(m) in columns}
            predictor = ensemble.load(trained, carried | {name for name, _ in args.features},
                                      trained.plan.normalisations, all_rules=True)
            settings = predictor.settings
            for note in settings_notes(settings, params, trained):
                print(f"evaluate: note: {note}", file=sys.stderr)
            measured = measured_features(args.features, settings, predictor)
            training = seen.Training.of(predictor)
            if not training.content or not training.prints:  # models trained before the stages recorded them
                print("evaluate: the models record no content hashes or fingerprints of their training takes (run "
                      "`dvc repro`): copies of training takes under other names may not be recognised", file=sys.stderr)
            takes, n_trained, n_copied = seen.unseen(takes, training, args.root)
            takes, measured, n_rows = without_copied_rows(takes, measured, predictor)
            n_copied += n_rows
            fresh = writable_out(out)
        except (ModelError, InputError, ValueError) as error:  # ValueError: a setting of params.yaml refused
            print(f"evaluate: {error}", file=sys.stderr)
            return 2
        summary: dict[str, dict] = {}
        try:
            summary, lines, details = scored(args, trained.deploy, settings, predictor, takes, rejects, carried,
                                             measured, n_trained, n_copied, fresh)
            for name, figures in summary.items():
                print(f"{name}: accuracy {formatting.pct(figures['accuracy'])}, UAR {formatting.pct(figures['uar'])} "
                      f"on {figures['n_takes']} takes")
            io.write_text("\n".join(lines) + "\n", fresh / "evaluation.md")
            io.write_text("\n".join(details), fresh / MODELS_MD)
            io.write_json(summary, fresh / "evaluation.json")
            swap_in(fresh, out, keep)
        except OSError as error:  # a full disk, a folder removed meanwhile
            printed = "the figures above are this run's" if summary else "no figure was printed"
            print(f"evaluate: the report could not be written to {out} ({error.strerror or error}); {printed}",
                  file=sys.stderr)
            return 1
        except InputError as error:  # --out gained files meanwhile: the old folder is left as it is
            print(f"evaluate: {error}", file=sys.stderr)
            return 2
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        print(f"evaluate: {out / 'evaluation.md'}")
        return 0


def scored(args: argparse.Namespace, deploy: str, settings: dict[str, object], predictor: ensemble.Predictor,
           takes: pd.DataFrame, rejects: pd.DataFrame, carried: set[str], measured: dict, n_trained: int,
           n_copied: int, out: Path) -> tuple[dict[str, dict], list[str], list[str]]:
    """Every model's figures on the takes (its figures written into `out`), the report's lines and
    those of its per-model detail (MODELS_MD); `carried`: the modalities extracted from the takes' files."""
    features = {}
    for modality in (m for m in predictor.modalities if m in carried):
        features[modality], failed = scoring.features_of_takes(takes, modality, settings[modality])
        rejects = pd.concat([rejects, failed], ignore_index=True)
    for modality, rows in measured.items():
        blank = np.full(len(predictor.columns(modality)), np.nan)  # rows are keyed by take: a take without one
        features[modality] = np.vstack([rows.get(take, blank) for take in takes["take"]])
    withheld = "; RAVDESS actors 21-24 are withheld from it" if args.corpus == ravdess.CORPUS else ""
    lines = [f"# Evaluation on {args.corpus}: {args.root}", "",
             f"{len(takes)} labelled takes from {takes['speaker'].nunique()} speakers, none of them seen in "
             f"training (scored by the models `dvc repro` trained{withheld}); "
             f"{n_trained} takes the models were trained on left out, and {n_copied} that are a training take "
             "under another name (the same audio or video, the audio re-encoded, or its measured row). "
             f"{len(rejects)} files refused or caveated. Fused decisions apply their rule to the learners present for "
             "each take; speaker-normalised models (+ speaker norm) standardise each speaker's takes here with that "
             "speaker's own statistics, as in training (no label is used).", ""]
    summary: dict[str, dict] = {}
    sections = []
    cross_validated = predictor.cross_validated()
    deployed = {f.name for f in predictor.fused if f.rule_name == deploy
                and not any(predictor.learners[s].normalisation != "none" for s in f.stems)}
    flagged = predictor.flagged(features)
    for name, (classes, probabilities) in predictor.predict(features, takes["speaker"].to_numpy()).items():
        figures = scoring.score(classes, probabilities, takes, flagged)
        if figures["n_takes"] == 0:
            continue
        matched, kind = scoring.same_channels(figures, cross_validated[name])
        summary[name] = {k: figures[k] for k in ("n_takes", "accuracy", "uar", "macro_f1", "top3_accuracy",
                                                   "accuracy_ci", "uar_ci", "chance_uar", "top_answer",
                                                   "top_answer_share", "left_out")}
        summary[name] |= {"n_speakers": len(figures["per_speaker_accuracy"]), "deployed": name in deployed,
                          "flagged_share": figures["flagged_share"],
                          "cross_validated": cross_validated[name], "cross_validated_same_channels": matched,
                          "channels_matched": kind}
        sections.append(section(name, figures, out))
    lines[2:2] = [verdict(summary, args.corpus), ""]
    lines += [gap_table(summary), "", fusion_note(predictor, deploy), "",
              f"Every model in detail (confusion matrix, per speaker, per channel and intensity): "
              f"[{MODELS_MD}]({MODELS_MD}).",
              ""]
    if len(rejects):
        lines += ["## Refused and caveated files", "", formatting.table(rejects)]
    rejected.printed(rejects)
    if n_trained or n_copied:
        print(f"evaluate: {n_trained} takes the models were trained on left out, and {n_copied} copies of training "
              "takes under another name")
    return summary, lines, [f"# Every model on {args.corpus}: {args.root}", "", *sections]


def main(argv: list[str] | None = None, prog: str = "python -m pipeline.apply.evaluate") -> int:
    return cli.run_command("evaluate", argv if argv is not None else sys.argv[1:], prog)


if __name__ == "__main__":
    sys.exit(main())

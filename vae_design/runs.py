"""A training run's folder and the prediction table: the jobs behind ``vae-design train`` and ``predict`` as plain
functions (typed settings and an output folder in, files and results out). No Hydra here: ``vae_design/cli``
composes the settings, calls these and prints.

A run folder holds ``metrics.json``, ``model/`` (the bundle), the plots, and the training's own ``checkpoints/``,
``logs/`` and ``tensorboard/``. Checkpoints and logs go straight into the folder, so an interrupted run keeps them
for ``resume=true``; metrics, model and plots are staged and appear only when everything succeeded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vae_design.data.table import AlloyTable
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError
from vae_design.outputs import staged_run_dir, write_text_atomic

METRICS_FILE = "metrics.json"
DATA_REPORT = "data_report.csv"  # a user's data problems (data=csv), one row per excluded or merged row
BUNDLE_DIR = "model"


@dataclass(frozen=True)
class TrainRun:
    """The top-level settings of ``vae-design train`` (configs/train.yaml adds the config groups)."""

    # seeds the split (split.seed follows it), weight initialisation and batch order
    seed: int = 0
    # true: continue from OUT/checkpoints/last.ckpt of an interrupted (or finished) run in the same hydra.run.dir
    resume: bool = False


@dataclass(frozen=True)
class PredictRun:
    """The settings of ``vae-design predict`` but the bundle (configs/predict.yaml adds ``bundle``)."""

    input: str | None = None  # a CSV file with a formula column (one of input / formula)
    formula: str | None = None  # a single formula (instead of input): printed, nothing written
    formula_col: str = "formula"  # the formula column of input


@dataclass(frozen=True)
class FeaturizeRun:
    """The settings of ``vae-design featurize``."""

    input: str = "???"  # the CSV file (required; "???" is OmegaConf's mark for a value that must be given)
    formula_col: str = "formula"  # its formula column
    # rows per batch through the descriptor module (bounded memory for large files); Any, not int, because
    # featurize_compositions checks it with its own message ("a positive integer"), which users' scripts match
    batch_size: Any = 100_000


@dataclass
class TrainedRun:
    metrics: dict[str, float]  # flat figures, as in metrics.json
    plots: list[str]  # the PNG files written


def write_metrics(metrics: dict[str, float], path: Path) -> None:
    """Flat ``{"test/auc": 0.93, ...}`` JSON, keys sorted; a figure that cannot be computed (AUC of a one-class
    test set) is null rather than NaN, which is not JSON."""
    finite = {key: (float(v) if np.isfinite(v) else None) for key, v in sorted(metrics.items())}
    write_text_atomic(path, json.dumps(finite, indent=2) + "\n")


def write_data_report(table: AlloyTable, path: Path) -> None:
    """The table's data problems as CSV (kind, file, row, formula, problem, action), written atomically."""
    from vae_design.data.problems import problems_frame

    write_text_atomic(path, problems_frame(table.problems).to_csv(index=False))


def _part(table: AlloyTable, positions) -> tuple[list, np.ndarray]:
    rows = table.alloys.iloc[positions]
    return list(rows["composition"]), rows["label"].to_numpy(dtype=float, na_value=-1).astype(int)


def train_run(
    model, table: AlloyTable, split, out: Path, seed: int, resume: bool, elements=None, record=None, init=None
) -> TrainedRun | None:
    """Fit ``model`` (an untrained AlloyVAE) on ``split`` of ``table``, evaluate it and write the run folder ``out``.

    ``elements``: the configured vocabulary (None: every element of the table, so that each test alloy can be
    encoded; which elements occur somewhere carries no label information). ``record(folder)`` writes the caller's
    record of the settings into the staged folder (the CLI's ``.hydra/``; copied as ``model/config.yaml``). Under
    DDP only rank 0 writes; the other processes train and return None."""
    from vae_design.data.problems import describe, problem_counts
    from vae_design.plots import save_run_plots
    from vae_design.training.fit import is_rank_zero, last_checkpoint

    checkpoints = out / "checkpoints"
    if not resume and checkpoints.is_dir() and any(checkpoints.iterdir()):
        raise InputError(
            f"{out} already holds a training run (checkpoints/); resume=true continues it, "
            "or choose another hydra.run.dir"
        )
    train, unlabelled, val, test = (_part(table, getattr(split, p)) for p in ("train", "unlabelled", "val", "test"))
    vocabulary = ElementVocabulary.from_config(elements, table.alloys["composition"])
    fit = {"unlabelled": unlabelled[0], "val": val, "seed": seed, "run_dir": out, "resume": resume}
    if init is not None:  # a warm start (AlloyVAE.fit's init: used only where vocabulary and architecture match)
        fit["init"] = init
    if not is_rank_zero():  # under DDP (trainer=ddp, or srun on a cluster) every process runs this
        model.fit(*train, elements=vocabulary.elements, **fit)
        return None
    if resume and not last_checkpoint(out).is_file():
        print(f"no checkpoint in {checkpoints}: training from the start")
    for line in describe(table.problems, first=0):
        print(f"data: {line} -> {DATA_REPORT}")
    with staged_run_dir(out) as staging:
        model.fit(*train, elements=vocabulary.elements, **fit)
        metrics = model.evaluate(val=val, test=test, seed=seed)
        metrics.update(model.history)
        metrics.update({f"n/{part}": float(n) for part, n in split.sizes().items()})
        model.record_test_alloys(*test)
        if table.from_user_files:
            metrics.update(problem_counts(table.problems))
            write_data_report(table, staging / DATA_REPORT)
        write_metrics(metrics, staging / METRICS_FILE)
        model.save(staging / BUNDLE_DIR)
        if record is not None:
            record(staging)
            shutil.copyfile(staging / ".hydra" / "config.yaml", staging / BUNDLE_DIR / "config.yaml")
        labelled = (train[0] + val[0] + test[0], np.concatenate([train[1], val[1], test[1]]))
        plots = save_run_plots(model, staging, test, labelled)
    return TrainedRun(metrics, plots)


def train_summary(metrics: dict[str, float], out: Path, plots: list[str]) -> str:
    """What ``vae-design train`` prints: sizes, time, the val and test figures, reconstruction, files."""

    def figure(key: str) -> str:
        value = metrics.get(key, float("nan"))
        return f"{value:.3f}" if np.isfinite(value) else "n/a"

    lines = [
        f"trained on {metrics['n/train']:.0f} labelled + {metrics['n/unlabelled']:.0f} unlabelled alloys in "
        f"{metrics['train/seconds']:.1f} s ({metrics.get('train/epochs', 0):.0f} epochs, best "
        f"{metrics.get('train/best_epoch', float('nan')):.0f})"
    ]
    for part in ("val", "test"):
        if f"{part}/accuracy" in metrics:
            lines.append(
                f"{part:<4} (n={metrics[f'n/{part}']:.0f}): accuracy {figure(f'{part}/accuracy')}  "
                f"AUC {figure(f'{part}/auc')}  balanced accuracy {figure(f'{part}/balanced_accuracy')}  "
                f"log-loss {figure(f'{part}/log_loss')}"
            )
    if "recon/element_set_exact" in metrics:
        lines.append(
            f"reconstruction: exact element set {figure('recon/element_set_exact')}, "
            f"MAE {figure('recon/mae_present')} at.% on present elements"
        )
    lines.append(f"wrote {out}: {METRICS_FILE}, {BUNDLE_DIR}/, {', '.join(plots)}, checkpoints/")
    return "\n".join(lines)


def sweep_report(sweep_dir: Path) -> tuple[list[str], int]:
    """One line per job folder of a multirun (its validation figures, or FAILED, and the settings that differ
    between jobs) and the number of failed jobs."""
    import yaml

    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))

    def overrides(job: Path) -> list[str]:  # absent with hydra.output_subdir=null
        path = job / ".hydra" / "overrides.yaml"
        return [str(text) for text in yaml.safe_load(path.read_text(encoding="utf-8")) or []] if path.is_file() else []

    settings = {job: overrides(job) for job in jobs}
    common = set.intersection(*(set(s) for s in settings.values())) if settings else set()
    lines, failed = [], 0
    for job in jobs:
        swept = " ".join(text for text in settings[job] if text not in common)
        if (job / "FAILED").exists():
            failed += 1
            lines.append(f"  job {job.name}: FAILED  {swept}")
            continue
        metrics = json.loads((job / METRICS_FILE).read_text()) if (job / METRICS_FILE).exists() else {}
        figures = "  ".join(f"{key} {metrics[key]:.4f}" for key in ("val/log_loss", "val/auc") if key in metrics)
        lines.append(f"  job {job.name}: {figures or 'done'}  {swept}")
    return lines, failed


def prediction_table(model, compositions: Sequence) -> pd.DataFrame:
    """``probability`` = P(single phase) and ``uncertainty`` = its standard deviation over the head's posterior
    (through the neighbour update, like the probability); for a multi-class target also ``probability_<class>``."""
    mean, std = model.predict_proba(compositions, return_std=True)
    # P(single phase) = 1 - P(multi-phase) exactly, so its posterior spread is that of P(multi-phase).
    multi = model.classes.index("multi-phase")
    table = pd.DataFrame({"probability": 1 - mean[:, multi], "uncertainty": std[:, multi]})
    if len(model.classes) > 2:
        for k, name in enumerate(model.classes):
            table[f"probability_{name}"] = mean[:, k]
    return table


def predict_file(model, path: str, column: str) -> pd.DataFrame:
    """The prediction table of every formula in ``column`` of the CSV file ``path``, ``formula`` (as written) first;
    a bad or unusable formula is a one-line error naming file, row and column."""
    from vae_design.data.csv_input import read_formulas

    rows, compositions = read_formulas(path, column)
    model.check_usable(compositions, path, [row for row, _ in rows], column)
    table = prediction_table(model, compositions)
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    return table


def predict_formula(model, text: str) -> str:
    """One line for one formula: P(single phase) +- its uncertainty (and every class's P for a multi-class target);
    an unreadable or unusable formula is a one-line error naming ``formula=``."""
    from vae_design.data.csv_input import setting_composition

    row = prediction_table(model, [setting_composition(model, "formula", text)]).iloc[0]
    others = "".join(f", P({c}) {row[f'probability_{c}']:.3f}" for c in model.classes if len(model.classes) > 2)
    return f"{text}: P(single phase) {row['probability']:.3f} +- {row['uncertainty']:.3f}{others}"


def featurize_file(path: str, column: str, batch_size: int, progress: Callable[[int, int], None] | None = None):
    """The descriptors of every formula in ``column`` of the CSV file ``path``, ``formula`` (as written) first."""
    from vae_design.data.csv_input import read_formulas
    from vae_design.errors import where
    from vae_design.features.featurize import featurize_compositions

    rows, compositions = read_formulas(path, column)
    table = featurize_compositions(
        compositions,
        batch_size=batch_size,
        locate=lambda i: where(path, rows[i][0], column),
        progress=(lambda done: progress(done, len(rows))) if progress else None,
    )
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    return table


# ------------------------------------------------------------------------------------------------------ update

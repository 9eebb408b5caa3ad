"""``vae-design train`` and ``data summary`` as plain functions, and the training run's folder that ``update`` also
writes.

A run folder holds ``metrics.json``, ``model/`` (the bundle), the plots, and the training's own ``checkpoints/``,
``logs/`` and ``tensorboard/``. Checkpoints and logs go straight into the folder, so an interrupted run keeps them
for ``resume=true``; metrics, model and plots are staged and appear only when everything succeeded.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path

import numpy as np
import yaml

from vae_design.data.settings import DataSettings, SplitSettings
from vae_design.data.table import AlloyTable
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError
from vae_design.outputs import staged_run_dir, write_text_atomic
from vae_design.runs import Record

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


SETTINGS = TrainRun  # the root schema of configs/train.yaml (registered by the CLI as train_schema)


@dataclass
class TrainedRun:
    metrics: dict[str, float]  # flat figures, as in metrics.json
    plots: list[str]  # the PNG files written
    reports: list[str] = field(default_factory=list)  # other files written beside metrics.json (data_report.csv)


def write_metrics(metrics: dict[str, float], path: Path) -> None:
    """Flat ``{"test/auc": 0.93, ...}`` JSON, keys sorted; a figure that cannot be computed (AUC of a one-class
    test set) is null rather than NaN, which is not JSON."""
    finite = {key: (float(v) if np.isfinite(v) else None) for key, v in sorted(metrics.items())}
    write_text_atomic(path, json.dumps(finite, indent=2) + "\n")


def write_data_report(table: AlloyTable, path: Path) -> None:
    """The table's data problems as CSV (kind, file, row, formula, problem, action), written atomically."""
    from vae_design.data.problems import problems_frame

    write_text_atomic(path, problems_frame(table.problems).to_csv(index=False))


def load_dataset(data: DataSettings, split: SplitSettings):
    """The alloy table ``data`` describes and its split (one way, for every command that reads training data)."""
    from vae_design.data import load_table, make_split
    from vae_design.features.coverage import drop_without_descriptors

    table = load_table(data)
    if data.drop_without_descriptors:
        table = drop_without_descriptors(table)
    return table, make_split(table, split)


def build_model(data: DataSettings, model, prior, semi, trainer, logger=None, weak=None, pretrain=None, split=None):
    """An untrained :class:`~vae_design.api.AlloyVAE` for ``data.target`` from train's groups, each as its dataclass
    (``prior`` a mapping or a name; ``logger``, ``weak``, ``pretrain`` None when switched off; ``split`` is not
    used, so that every group can be passed as it comes); every setting is checked here, before a run folder
    exists."""
    from vae_design.api import AlloyVAE
    from vae_design.training.settings import TrainingSettings

    training = TrainingSettings(**asdict(trainer), loggers=logger.loggers if logger else ())
    return AlloyVAE(
        target=data.target, prior=prior, model=model, training=training, weak=weak, pretrain=pretrain, semi=semi
    )


def settings_record(settings: dict) -> Record:
    """The record of a run for a caller without one (Python): ``settings`` (dataclasses or plain values) as
    ``.hydra/config.yaml``, the file the CLI writes, which :func:`train_run` copies into the bundle and ``update``
    reads the trainer and logger settings from. The text is made here, before any training, so that a value YAML
    cannot hold fails at once."""
    plain = {key: asdict(value) if is_dataclass(value) else value for key, value in settings.items()}
    if plain.get("logger") is None:  # switched off, as the CLI's logger=none records it
        plain["logger"] = {"loggers": []}
    # tuples as lists; a path as text and a numpy number as a number
    text = json.dumps(plain, default=lambda value: value.item() if hasattr(value, "item") else str(value))
    text = yaml.safe_dump(json.loads(text), sort_keys=False)

    def write(folder: Path) -> None:
        (folder / ".hydra").mkdir(parents=True, exist_ok=True)
        (folder / ".hydra" / "config.yaml").write_text(text, encoding="utf-8")

    return write


def train(
    run: TrainRun, out: Path, record: Record | None = None, *, data: DataSettings, split: SplitSettings, **groups
) -> str | None:
    """``vae-design train``: a model from ``groups`` (:func:`build_model`'s), fitted on ``data`` split by ``split``,
    the run folder ``out`` written (:func:`train_run`) and ``data.report`` when asked for; returns what to print
    (None on the processes other than rank 0 under DDP). Without ``record`` the settings are recorded by
    :func:`settings_record`."""
    table, parts = load_dataset(data, split)
    model = build_model(data, **groups)
    out = Path(out).absolute()
    record = record or settings_record({**asdict(run), "data": data, "split": split, **groups})
    done = train_run(model, table, parts, out, run.seed, run.resume, data.elements, record)
    if done is None:
        return None
    if data.report:
        write_data_report(table, Path(data.report))
    return train_summary(done.metrics, out, done.plots, done.reports)


def data_summary(run: TrainRun, out: Path, record: Record | None = None, *, data, split, **groups) -> str:
    """``vae-design data summary``: what is in the data a training run with these settings would use, with the
    split sizes; writes only ``data.report``, when asked for (``groups``, the model's, are not used here; from the
    CLI they arrive as dataclasses whose own checks have run, but :func:`build_model`'s checks do not run)."""
    from vae_design.data.summary import summarise

    table, parts = load_dataset(data, split)
    text = summarise(table, parts)
    if data.report:
        write_data_report(table, Path(data.report))
        text += f"\nwrote {len(table.problems)} data problems to {data.report}"
    return text


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
    return TrainedRun(metrics, plots, [DATA_REPORT] if table.from_user_files else [])


def train_summary(metrics: dict[str, float], out: Path, plots: list[str], reports: list[str] = ()) -> str:
    """What ``vae-design train`` prints: sizes, time, the val and test figures, reconstruction, and every file
    written into ``out`` (``reports``: data_report.csv and the like)."""

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
    lines.append(f"wrote {out}: {', '.join([METRICS_FILE, f'{BUNDLE_DIR}/', *reports, *plots, 'checkpoints/'])}")
    return "\n".join(lines)


def sweep_report(sweep_dir: Path) -> tuple[list[str], int]:
    """One line per job folder of a multirun (its validation figures, or FAILED, and the settings that differ
    between jobs) and the number of failed jobs."""
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

"""Plain functions behind the sub-commands: config in, files and printed text out."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import types
import typing
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from vae_design.errors import InputError, located, where
from vae_design.outputs import staged_run_dir, write_text_atomic


def run_dir(cfg: DictConfig) -> Path:
    return Path(str(cfg.hydra.run.dir))


def save_config(cfg: DictConfig, overrides: list[str], folder: Path) -> None:
    """Hydra's record of a run: .hydra/config.yaml and .hydra/overrides.yaml inside ``folder``."""
    plain = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    (folder / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(plain), encoding="utf-8")
    (folder / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(list(overrides)), encoding="utf-8")


def group(cfg: DictConfig, key: str) -> dict:
    """``cfg[key]`` as a plain dict; anything but a group of settings is a one-line error."""
    values = OmegaConf.to_container(cfg[key], resolve=True)
    if not isinstance(values, dict):
        raise InputError(f"{key} must be a group of settings, got {values!r}")
    return values


def resume_setting(cfg: DictConfig) -> bool:
    if not isinstance(cfg.resume, bool):
        raise InputError(f"resume must be true or false, got {cfg.resume!r}")
    return cfg.resume


def options(cfg: DictConfig, key: str, function: Callable, extra: tuple[str, ...] = ()) -> dict:
    """``cfg[key]`` as keyword arguments of ``function``; a key it does not take is a one-line error."""
    values = group(cfg, key)
    known = [*inspect.signature(function).parameters, *extra]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown setting {key}.{unknown[0]} (known: {', '.join(known)})")
    return values


def load_dataset(cfg: DictConfig):
    """The alloy table and split a run's ``data`` and ``split`` configs describe (one way, for every command)."""
    from vae_design.data import load_table, make_split
    from vae_design.features.coverage import drop_without_descriptors

    data = options(cfg, "data", load_table, extra=("drop_without_descriptors", "report"))
    drop = data.pop("drop_without_descriptors", True)
    data.pop("report", None)
    table = load_table(**data)
    if drop:
        table = drop_without_descriptors(table)
    return table, make_split(table, **options(cfg, "split", make_split))


def write_data_report(table, path: Path) -> None:
    """The table's data problems as CSV (kind, file, row, formula, problem, action), written atomically."""
    from vae_design.data.problems import problems_frame

    write_text_atomic(path, problems_frame(table.problems).to_csv(index=False))


def report_setting(cfg: DictConfig) -> Path | None:
    report = cfg.data.get("report")
    return Path(str(report)) if report else None


def run_data_summary(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data.summary import summarise

    table, split = load_dataset(cfg)
    print(summarise(table, split))
    report = report_setting(cfg)
    if report is not None:
        write_data_report(table, report)
        print(f"wrote {len(table.problems)} data problems to {report}")
    return 0


def run_featurize(cfg: DictConfig, overrides: list[str]) -> int:
    from rich.progress import Progress

    from vae_design.data.csv_input import parse_formula_cell, read_table
    from vae_design.features.featurize import featurize_compositions

    path, column = str(cfg.input), str(cfg.formula_col)
    rows = read_table(path, (column,))
    compositions = [parse_formula_cell(cells[column], path, row, column) for row, cells in rows]
    with Progress(transient=True, disable=len(rows) < 200_000) as progress:
        task = progress.add_task("featurizing", total=len(rows))
        table = featurize_compositions(
            compositions,
            batch_size=cfg.batch_size,
            locate=lambda i: where(path, rows[i][0], column),
            progress=lambda done: progress.update(task, completed=done),
        )
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    out = run_dir(cfg)
    with staged_run_dir(out) as staging:
        table.to_csv(staging / "descriptors.csv", index=False, float_format="%.10g")
        save_config(cfg, overrides, staging)
    print(f"wrote {len(table)} alloys x {table.shape[1] - 1} descriptors to {out / 'descriptors.csv'}")
    return 0


# ------------------------------------------------------------------------------------------------------ train
# What a trained run's folder holds besides the training's own checkpoints/, logs/ and tensorboard/.
METRICS_FILE = "metrics.json"
DATA_REPORT = "data_report.csv"  # a user's data problems (data=csv), one row per excluded or merged row
BUNDLE_DIR = "model"


def _checked(group: str, values: dict, function: Callable) -> dict:
    """``values`` after a check against ``function``'s type hints: an int setting given 'abc' is a one-line error
    here, not a traceback from deep inside torch or Lightning. A number for a text setting becomes text (Hydra
    reads trainer.precision=32 as a number)."""
    hints = typing.get_type_hints(function.__init__ if inspect.isclass(function) else function)
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    for key, value in values.items():
        hint = hints.get(key)
        allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        if not set(allowed) <= set(names):
            continue  # lists, mappings and objects are checked where they are used
        if allowed == (str,) and isinstance(value, int | float) and not isinstance(value, bool):
            values[key] = value = str(value)
        accepted = (*allowed, int) if float in allowed else allowed
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in allowed):
            kinds = " or ".join(names[kind] for kind in allowed)
            raise InputError(f"{group}.{key} must be {kinds}, got {value!r}")
    return values


def training_settings(cfg: DictConfig):
    """The ``trainer`` and ``logger`` groups as :class:`TrainingSettings`."""
    from vae_design.training.fit import TrainingSettings

    trainer = _checked("trainer", options(cfg, "trainer", TrainingSettings), TrainingSettings)
    if "loggers" in trainer:
        raise InputError("choose training logs with logger=default|csv|none (or logger.loggers=[csv]), not trainer")
    loggers = options(cfg, "logger", lambda loggers: None).get("loggers", [])
    if not isinstance(loggers, list):
        raise InputError(f"logger.loggers must be a list (of csv, tensorboard), got {loggers!r}")
    try:
        return TrainingSettings(**trainer, loggers=tuple(loggers))
    except ValueError as error:
        raise InputError(f"trainer: {error}") from None


def build_model(cfg: DictConfig):
    """An untrained :class:`AlloyVAE` from the ``model``, ``prior``, ``semi``, ``weak``, ``pretrain``, ``trainer`` and
    ``logger`` groups (every setting checked here, before a run folder exists)."""
    from vae_design.api import AlloyVAE

    architecture = _checked("model", options(cfg, "model", AlloyVAE), AlloyVAE)
    taken = sorted({"target", "prior", "training", "weak", "pretrain", "semi"} & set(architecture))
    if taken:
        raise InputError(f"model.{taken[0]} is not a model setting here (target: data.target; prior: prior=...)")
    prior = OmegaConf.to_container(cfg.prior, resolve=True)
    from vae_design.data.weak_labels import WeakLabelling
    from vae_design.models.semi import SemiSupervision
    from vae_design.training.pretrain import Pretraining

    knowledge = {"weak": _knowledge(cfg, "weak", WeakLabelling), "pretrain": _knowledge(cfg, "pretrain", Pretraining)}
    knowledge["semi"] = _knowledge(cfg, "semi", SemiSupervision)
    return AlloyVAE(
        target=str(cfg.data.target), prior=prior, **architecture, training=training_settings(cfg), **knowledge
    )


def _knowledge(cfg: DictConfig, key: str, settings: Callable):
    """The ``weak``, ``pretrain`` or ``semi`` group as ``settings``; None when the group is empty (``none``)."""
    if cfg.get(key) is None:
        return None
    values = _checked(key, options(cfg, key, settings), settings)
    return settings(**values) if values else None


def _is_rank_zero() -> bool:
    # Under DDP (trainer=ddp, or srun on a cluster) every process runs this command; Lightning marks the others
    # with these variables (the same ones it reads itself), and only rank 0 writes the run's files.
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if key in os.environ:
            return int(os.environ[key]) == 0
    return True


def _part(table, positions) -> tuple[list, np.ndarray]:
    rows = table.alloys.iloc[positions]
    return list(rows["composition"]), rows["label"].to_numpy(dtype=float, na_value=-1).astype(int)


def write_metrics(metrics: dict[str, float], path: Path) -> None:
    """Flat ``{"test/auc": 0.93, ...}`` JSON, keys sorted; a figure that cannot be computed (AUC of a one-class
    test set) is null rather than NaN, which is not JSON."""
    finite = {key: (float(v) if np.isfinite(v) else None) for key, v in sorted(metrics.items())}
    write_text_atomic(path, json.dumps(finite, indent=2) + "\n")


def run_train(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data import ElementVocabulary
    from vae_design.data.problems import describe, problem_counts
    from vae_design.plots import save_run_plots
    from vae_design.training.fit import last_checkpoint

    resume = resume_setting(cfg)
    table, split = load_dataset(cfg)
    report = report_setting(cfg)
    model = build_model(cfg)
    out = run_dir(cfg).absolute()
    checkpoints = out / "checkpoints"
    if not resume and checkpoints.is_dir() and any(checkpoints.iterdir()):
        raise InputError(
            f"{out} already holds a training run (checkpoints/); resume=true continues it, "
            "or choose another hydra.run.dir"
        )
    train, unlabelled, val, test = (_part(table, getattr(split, p)) for p in ("train", "unlabelled", "val", "test"))
    # The configured vocabulary, else every element of the table, so that each test alloy can be encoded (which
    # elements occur somewhere carries no label information).
    configured = cfg.data.get("elements")
    if configured is None:
        elements = ElementVocabulary.from_compositions(table.alloys["composition"]).elements
    else:  # data.elements=Fe is a one-item list, as load_table reads it
        elements = [str(configured)] if isinstance(configured, str) else list(configured)
    fit = {"unlabelled": unlabelled[0], "val": val, "seed": cfg.seed, "run_dir": out, "resume": resume}
    if not _is_rank_zero():
        model.fit(*train, elements=elements, **fit)
        return 0
    if resume and not last_checkpoint(out).is_file():
        print(f"no checkpoint in {checkpoints}: training from the start")
    for line in describe(table.problems, first=0):
        print(f"data: {line} -> {DATA_REPORT}")
    # Checkpoints and training logs go straight into the run folder, so an interrupted run keeps them for
    # resume=true; metrics, model and plots are staged and appear only when everything succeeded.
    with staged_run_dir(out) as staging:
        model.fit(*train, elements=elements, **fit)
        metrics = model.evaluate(val=val, test=test, seed=cfg.seed)
        metrics.update(model.history)
        metrics.update({f"n/{part}": float(n) for part, n in split.sizes().items()})
        model.record_test_alloys(*test)
        if table.from_user_files:
            metrics.update(problem_counts(table.problems))
            write_data_report(table, staging / DATA_REPORT)
        write_metrics(metrics, staging / METRICS_FILE)
        model.save(staging / BUNDLE_DIR)
        save_config(cfg, overrides, staging)
        shutil.copyfile(staging / ".hydra" / "config.yaml", staging / BUNDLE_DIR / "config.yaml")
        labelled = (train[0] + val[0] + test[0], np.concatenate([train[1], val[1], test[1]]))
        plots = save_run_plots(model, staging, test, labelled)
    if report is not None:
        write_data_report(table, report)
    print(_train_summary(metrics, out, plots))
    return 0


def _train_summary(metrics: dict[str, float], out: Path, plots: list[str]) -> str:
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


# ---------------------------------------------------------------------------------------------------- predict
def load_model(cfg: DictConfig):
    """The model bundle named by ``model=``; a missing or foreign folder is a one-line error."""
    from vae_design.api import AlloyVAE

    if cfg.model is None or not str(cfg.model).strip():
        raise InputError("model=PATH is required: the model/ folder of a training run (RUN_DIR/model)")
    path = Path(str(cfg.model))
    if not path.is_dir():
        raise InputError(f"model={path}: no such folder (pass the model/ folder of a training run)")
    return AlloyVAE.load(path)


def _locate_unusable(model, compositions: list, path: str, rows: list[int], column: str) -> None:
    """The first row the model cannot predict (:meth:`AlloyVAE.unusable`) as an error naming file, row and column."""
    reasons = model.unusable(compositions)
    if reasons:
        first = min(reasons)
        raise InputError(located(reasons[first], path, rows[first], column))


def predictions(model, compositions: list) -> pd.DataFrame:
    """``probability`` = P(single phase) and ``uncertainty`` = its standard deviation over the head's posterior (through
    the neighbour update, like the probability);
    for a multi-class target also ``probability_<class>`` per class."""
    mean, std = model.predict_proba(compositions, return_std=True)
    # P(single phase) = 1 - P(multi-phase) exactly, so its posterior spread is that of P(multi-phase).
    multi = model.classes.index("multi-phase")
    table = pd.DataFrame({"probability": 1 - mean[:, multi], "uncertainty": std[:, multi]})
    if len(model.classes) > 2:
        for k, name in enumerate(model.classes):
            table[f"probability_{name}"] = mean[:, k]
    return table


def run_predict(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data.composition import parse_formula
    from vae_design.data.csv_input import parse_formula_cell, read_table

    has_input, has_formula = cfg.input is not None, cfg.formula is not None
    if has_input == has_formula:
        raise InputError("give either input=FILE.csv or formula=FORMULA (exactly one)")
    model = load_model(cfg)
    if has_formula:
        text = str(cfg.formula)
        try:
            composition = parse_formula(text)
        except InputError as error:
            raise InputError(f"formula={text}: {error}") from None
        _locate_unusable(model, [composition], f"formula={text}", [None], None)
        row = predictions(model, [composition]).iloc[0]
        others = "".join(f", P({c}) {row[f'probability_{c}']:.3f}" for c in model.classes if len(model.classes) > 2)
        print(f"{text}: P(single phase) {row['probability']:.3f} +- {row['uncertainty']:.3f}{others}")
        return 0
    path, column = str(cfg.input), str(cfg.formula_col)
    rows = read_table(path, (column,))
    compositions = [parse_formula_cell(cells[column], path, row, column) for row, cells in rows]
    _locate_unusable(model, compositions, path, [row for row, _ in rows], column)
    table = predictions(model, compositions)
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    out = run_dir(cfg)
    with staged_run_dir(out) as staging:
        table.to_csv(staging / "predictions.csv", index=False, float_format="%.6g")
        save_config(cfg, overrides, staging)
    print(f"wrote predictions for {len(table)} alloys to {out / 'predictions.csv'}")
    return 0

"""``vae-design update`` as a plain function, the campaign loop's update: measured alloys folded into a trained
model's labels, and the model retrained, warm-started where valid."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vae_design.data.table import AlloyTable
from vae_design.errors import InputError, located
from vae_design.runs import Record, bundle_folder
from vae_design.runs.train import METRICS_FILE, TrainedRun, train_run, train_summary, write_metrics


@dataclass(frozen=True)
class UpdateRun:
    """The settings of ``vae-design update`` but the bundle (configs/update.yaml adds ``bundle``)."""

    # the measured alloys: a CSV file with a formula and a label column (required)
    results: str = "???"
    formula_col: str = "formula"  # the formula column of results
    # the label column of results: labels as the model's target takes them (single_phase: 0 or 1; phase: BCC,
    # FCC, HCP or multi-phase); every row needs one
    label_col: str = "label"
    # seeds weight initialisation (when not warm-started) and batch order
    seed: int = 0
    # true: start from the bundle's weights where valid (same element vocabulary and architecture); false, or not
    # valid: train from scratch (metrics.json: update/warm_start 1 or 0)
    warm_start: bool = True
    # null: the bundle's trainer.max_epochs (its config.yaml); a whole number overrides it
    max_epochs: int | None = None

    def __post_init__(self) -> None:
        if str(self.results).strip() in ("", "???"):
            raise InputError("results=FILE.csv is required: the measured alloys (columns formula and label)")
        if self.max_epochs is not None and (not isinstance(self.max_epochs, int) or self.max_epochs < 1):
            raise InputError(f"max_epochs must be a whole number >= 1 or null, got {self.max_epochs!r}")


SETTINGS = UpdateRun  # the root schema of configs/update.yaml (registered by the CLI as update_schema)

UPDATE_FILE = "update.csv"  # the measured alloys an update folded in: formula, label, action, previous_label, row
# What an update does with a measured alloy, by the part of the bundle's known alloys it is in (none: a new alloy).
# Validation and test alloys are refused: they stay untouched, so that the updated model's figures stay honest and
# comparable with the bundle's.
UPDATE_ACTIONS = {
    None: "added",  # a new alloy joins the training labels
    "unlabelled": "moved from pool",  # leaves the unlabelled pool for the training labels
    "train": "relabelled",  # the new measurement replaces the old label ("unchanged" when they agree)
}


def read_results(model, path: str, formula_col: str, label_col: str) -> list[dict]:
    """The measured alloys of ``path``: one dict per alloy (formula, composition, label, row), every row labelled
    as ``model``'s target takes labels and usable by ``model`` (its element vocabulary and descriptor data). A
    problem is a one-line InputError naming file, row and column; so is one alloy measured twice with different
    labels (repeats with the same label count once)."""
    from vae_design.data.csv_input import read_labelled_formulas

    missing = "a measured alloy needs a label"
    rows, compositions, labels = read_labelled_formulas(path, formula_col, label_col, model.target, missing)
    model.check_usable(compositions, path, [row for row, _ in rows], formula_col)
    return [
        {"composition": c, "label": y, "row": row} for c, y, (row, _) in zip(compositions, labels, rows, strict=True)
    ]


def fold_results(known: pd.DataFrame, measured: list[dict], path: str, formula_col: str, label_col: str):
    """(alloy rows of the new training table, the update's record): the bundle's ``known`` alloys (formula, label,
    part) with the ``measured`` alloys folded in by :data:`UPDATE_ACTIONS`. An alloy is matched to a known one by
    composition, within the tolerance training's de-duplication uses (:class:`~vae_design.data.table.SameAlloy`)."""
    from vae_design.data.csv_input import parse_formula_cell
    from vae_design.data.table import SameAlloy, alloy_row

    same_alloy = SameAlloy()
    alloys: list[dict] = []  # every known alloy keeps its row (near twins too); a measurement matches the first
    position: dict[str, int] = {}
    for number, alloy in enumerate(known.itertuples(index=False), start=2):
        composition = parse_formula_cell(str(alloy.formula), "known_alloys.csv", number, "formula")
        label = None if pd.isna(alloy.label) else int(alloy.label)
        row = alloy_row(composition, label, None, f"known_alloys.csv:{number}", str(alloy.part))
        position.setdefault(same_alloy(row)["formula"], len(alloys))
        alloys.append(row)
    record: dict[str, dict] = {}
    for measurement in measured:
        row = same_alloy(alloy_row(measurement["composition"], measurement["label"], None, "", "train"))
        formula, label, number = row["formula"], measurement["label"], measurement["row"]
        earlier = record.get(formula)
        if earlier is not None:
            if earlier["label"] != label:
                raise InputError(
                    located(
                        f"{formula} is measured {label} here and {earlier['label']} in row {earlier['row']}",
                        path,
                        number,
                        label_col,
                    )
                )
            continue
        previous = alloys[position[formula]] if formula in position else None
        part = None if previous is None else previous["part"]
        if part not in UPDATE_ACTIONS:
            raise InputError(
                located(
                    f"{formula} is a {part} alloy of the bundle; val and test alloys stay untouched for honest "
                    "evaluation (leave the row out, or train a new model)",
                    path,
                    number,
                    formula_col,
                )
            )
        action = UPDATE_ACTIONS[part]
        if part == "train" and previous["label"] == label:
            action = "unchanged"
        old = None if previous is None else previous["label"]
        record[formula] = {"formula": formula, "label": label, "action": action, "previous_label": old, "row": number}
        folded = {**(previous or row), "label": label, "part": "train", "source": f"{Path(path).name}:{number}"}
        if previous is None:
            position[formula] = len(alloys)
            alloys.append(folded)
        else:
            alloys[position[formula]] = folded
    frame = pd.DataFrame(list(record.values()), columns=["formula", "label", "action", "previous_label", "row"])
    frame["previous_label"] = frame["previous_label"].astype("Int64")
    return alloys, frame


def bundle_training_settings(bundle: Path, max_epochs: int | None):
    """The ``trainer`` and ``logger`` settings of the bundle's ``config.yaml`` (the defaults where it has none, or
    for keys this version does not know), with ``max_epochs`` overriding ``trainer.max_epochs``."""
    from dataclasses import asdict, fields, replace

    import yaml

    from vae_design.training.settings import LOGGERS, TrainerSettings, TrainingSettings

    path = bundle / "config.yaml"
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}
    if not isinstance(config, dict):
        raise InputError(f"{path}: not a mapping of settings")
    values = config.get("trainer") or {}
    known = {f.name for f in fields(TrainerSettings)}
    try:
        trainer = TrainerSettings(**{key: value for key, value in values.items() if key in known})
        if max_epochs is not None:
            trainer = replace(trainer, max_epochs=max_epochs)
        loggers = tuple((config.get("logger") or {}).get("loggers", LOGGERS))
        return config, TrainingSettings(**asdict(trainer), loggers=loggers)
    except InputError as error:
        raise InputError(f"{path}: {error}") from None


def update_run(bundle: Path, results: str, out: Path, settings: UpdateRun, record=None) -> TrainedRun | None:
    """Fold the measured alloys of ``results`` into the training data of the model bundle ``bundle``, retrain and
    write the run folder ``out``: the campaign loop's update (suggest, measure, update, suggest).

    The training data are the bundle's known alloys (``known_alloys.csv``, parts train, val, test, unlabelled),
    with each measured alloy folded in by :data:`UPDATE_ACTIONS`: a new alloy and an alloy of the unlabelled pool
    join the training labels, a training alloy takes the new label, and a val or test alloy is an error (they stay
    untouched for honest evaluation). The new model has the bundle's architecture, prior, semi-supervision and
    element vocabulary, the training settings of its ``config.yaml`` (``settings.max_epochs`` overriding), and
    starts from the bundle's weights (``settings.warm_start``; :meth:`AlloyVAE.fit`'s ``init``). ``results`` is
    the file read (the CLI passes ``settings.results``).

    ``out`` gets :func:`train_run`'s layout, plus ``update.csv`` (:data:`UPDATE_FILE`) and the metrics
    ``update/n_added`` (alloys new to the training labels, the pool's included), ``update/n_from_pool``,
    ``update/n_relabelled`` (labels changed) and ``update/warm_start``. ``model/config.yaml`` is the bundle's
    config with the trainer settings used and the update's own settings appended to ``updates`` (those of
    ``record``'s ``.hydra/config.yaml`` when given), so that the next update trains the same way. Every input is
    checked before anything is written; under DDP the processes other than rank 0 return None."""
    from dataclasses import asdict, fields

    import yaml

    from vae_design.api import AlloyVAE
    from vae_design.data.splits import Split
    from vae_design.data.table import make_frame
    from vae_design.models.settings import ModelSettings

    bundle = Path(bundle)
    checkpoints = Path(out) / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.iterdir()):
        raise InputError(f"{out} already holds a training run (checkpoints/); choose another hydra.run.dir")
    old = AlloyVAE.load(bundle)
    known = old.known_alloys
    if known is None or not {"formula", "label", "part"} <= set(known.columns) or not len(known):
        raise InputError(f"{bundle / 'known_alloys.csv'}: the bundle lists no known alloys to update")
    measured = read_results(old, results, settings.formula_col, settings.label_col)
    rows, folded = fold_results(known, measured, results, settings.formula_col, settings.label_col)
    config, training = bundle_training_settings(bundle, settings.max_epochs)
    architecture = old.architecture
    model = AlloyVAE(
        target=old.target,
        prior=architecture["prior"],
        semi=architecture["semi"],
        model=ModelSettings(**{f.name: architecture[f.name] for f in fields(ModelSettings)}),
        training=training,
    )
    table = AlloyTable(alloys=make_frame(rows), target=old.target, name=f"{bundle / 'known_alloys.csv'} + {results}")
    parts = table.alloys["part"].to_numpy()
    split = Split(
        *(np.flatnonzero(parts == p) for p in ("train", "unlabelled", "val", "test")), "update", settings.seed
    )
    counts = folded["action"].value_counts()
    figures = {
        "update/n_added": float(counts.get("added", 0) + counts.get("moved from pool", 0)),
        "update/n_from_pool": float(counts.get("moved from pool", 0)),
        "update/n_relabelled": float(counts.get("relabelled", 0)),
    }

    def write_record(staging: Path) -> None:
        if record is not None:
            record(staging)
        hydra = staging / ".hydra" / "config.yaml"
        hydra.parent.mkdir(parents=True, exist_ok=True)
        own = yaml.safe_load(hydra.read_text(encoding="utf-8")) if hydra.is_file() else None
        own = own or {"bundle": str(bundle), **asdict(settings), "results": str(results)}
        trainer = {key: value for key, value in asdict(training).items() if key != "loggers"}
        merged = {**config, "seed": settings.seed, "trainer": trainer, "updates": [*(config.get("updates") or []), own]}
        hydra.write_text(yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
        folded.to_csv(staging / UPDATE_FILE, index=False)
        figures["update/warm_start"] = float(model.history.get("update/warm_start", 0.0))
        metrics = json.loads((staging / METRICS_FILE).read_text(encoding="utf-8"))
        write_metrics(
            {**{k: np.nan if v is None else v for k, v in metrics.items()}, **figures}, staging / METRICS_FILE
        )

    init = old.vae if settings.warm_start else None
    run = train_run(model, table, split, out, settings.seed, False, old.vocabulary.elements, write_record, init)
    if run is not None:
        run.metrics.update(figures)
    return run


def update_summary(metrics: dict[str, float], out: Path, plots: list[str], reports: list[str] = ()) -> str:
    """What ``vae-design update`` prints: what was folded in, then :func:`train_summary`'s lines."""
    start = "from the bundle's weights" if metrics.get("update/warm_start") else "from scratch"
    first = (
        f"folded in the measurements: {metrics['update/n_added']:.0f} alloys added to the training labels "
        f"({metrics['update/n_from_pool']:.0f} from the pool), {metrics['update/n_relabelled']:.0f} relabelled; "
        f"trained {start}"
    )
    return f"{first}\n{train_summary(metrics, out, plots, reports)}, {UPDATE_FILE}"


def update(run: UpdateRun, out: Path, record: Record | None = None, *, bundle: str | None) -> str | None:
    """``vae-design update``: :func:`update_run` of ``run.results`` on the model bundle ``bundle``; returns what to
    print (None on the processes other than rank 0 under DDP)."""
    out = Path(out).absolute()
    done = update_run(bundle_folder(bundle), run.results, out, run, record)
    return None if done is None else update_summary(done.metrics, out, done.plots, done.reports)

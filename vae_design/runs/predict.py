"""``vae-design predict`` as a plain function: P(single phase) with its uncertainty for the alloys of a CSV file or
one formula."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vae_design.errors import InputError
from vae_design.runs import Record, setting_composition, staged_run, trained_model


@dataclass(frozen=True)
class PredictRun:
    """The settings of ``vae-design predict`` but the bundle (configs/predict.yaml adds ``bundle``)."""

    input: str | None = None  # a CSV file with a formula column (one of input / formula)
    formula: str | None = None  # a single formula (instead of input): printed, nothing written
    formula_col: str = "formula"  # the formula column of input


SETTINGS = PredictRun  # the root schema of configs/predict.yaml (registered by the CLI as predict_schema)


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

    row = prediction_table(model, [setting_composition(model, "formula", text)]).iloc[0]
    others = "".join(f", P({c}) {row[f'probability_{c}']:.3f}" for c in model.classes if len(model.classes) > 2)
    return f"{text}: P(single phase) {row['probability']:.3f} +- {row['uncertainty']:.3f}{others}"


def predict(run: PredictRun, out: Path, record: Record | None = None, *, bundle: str | None) -> str:
    """``vae-design predict``: the line for ``run.formula`` (nothing written), or ``out/predictions.csv`` for the
    alloys of ``run.input``; returns what to print."""
    if (run.input is None) == (run.formula is None):
        raise InputError("give either input=FILE.csv or formula=FORMULA (exactly one)")
    model = trained_model(bundle)
    if run.formula is not None:
        return predict_formula(model, run.formula)
    table = predict_file(model, run.input, run.formula_col)
    out = Path(out)
    with staged_run(out, record) as staging:
        table.to_csv(staging / "predictions.csv", index=False, float_format="%.6g")
    return f"wrote predictions for {len(table)} alloys to {out / 'predictions.csv'}"

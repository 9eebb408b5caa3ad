"""``vae-design predict`` as a plain function: P(single phase) with its uncertainty for the alloys of a CSV file or
one formula."""

from __future__ import annotations

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
    # compare with the shipped datasets too (not only the bundle's alloys) for known_label and in_domain
    shipped_datasets: bool = True


SETTINGS = PredictRun  # the root schema of configs/predict.yaml (registered by the CLI as predict_schema)


def predict_file(model, path: str, column: str, shipped: bool = True) -> pd.DataFrame:
    """The prediction table (:func:`~vae_design.design.scoring.predictions`, known alloys: the bundle's and, with
    ``shipped``, the shipped datasets') of every formula in ``column`` of the CSV file ``path``, ``formula`` (as
    written) first; a bad or unusable formula is a one-line error naming file, row and column."""
    from vae_design.data.csv_input import read_formulas
    from vae_design.design.scoring import KnownAlloys, predictions

    rows, compositions = read_formulas(path, column)
    model.check_usable(compositions, path, [row for row, _ in rows], column)
    table = predictions(model, compositions, KnownAlloys.build(model, shipped=shipped))
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    return table


def predict_formula(model, text: str, shipped: bool = True) -> str:
    """One line for one formula: P(single phase) with the head's spread over its weights (worded as no error bar),
    every class's P for a multi-class target, and the alloy's record when it is a known alloy (or why it lies
    outside the head's domain); an unreadable or unusable formula is a one-line error naming ``formula=``."""
    from vae_design.design.scoring import KnownAlloys, predictions, record_text, spread_text

    composition = setting_composition(model, "formula", text)
    row = predictions(model, [composition], KnownAlloys.build(model, shipped=shipped)).iloc[0]
    others = "".join(f", P({c}) {row[f'probability_{c}']:.3f}" for c in model.classes if len(model.classes) > 2)
    return (
        f"{text}: P(single phase) {row['probability']:.3f} ({spread_text(row['uncertainty'])}){others}"
        f"{record_text(row, model.classes)}"
    )


def predict(run: PredictRun, out: Path, record: Record | None = None, *, bundle: str | None) -> str:
    """``vae-design predict``: the line for ``run.formula`` (nothing written), or ``out/predictions.csv`` for the
    alloys of ``run.input``; returns what to print."""
    if (run.input is None) == (run.formula is None):
        raise InputError("give either input=FILE.csv or formula=FORMULA (exactly one)")
    model = trained_model(bundle)
    if run.formula is not None:
        return predict_formula(model, run.formula, run.shipped_datasets)
    table = predict_file(model, run.input, run.formula_col, run.shipped_datasets)
    out = Path(out)
    with staged_run(out, record) as staging:
        table.to_csv(staging / "predictions.csv", index=False, float_format="%.6g")
    return f"wrote predictions for {len(table)} alloys to {out / 'predictions.csv'}"

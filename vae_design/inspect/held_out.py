"""The test alloys an inspection compares the formula and the empirical rules on: a user's CSV file, or the test part
the training run stored in its bundle (``known_alloys.csv``, part 'test')."""

from __future__ import annotations

import numpy as np

from vae_design.inspect.inspection import Part


def read_held_out(path: str, formula_col: str, label_col: str, model) -> Part:
    """(compositions, labels) of a CSV file with a formula and a label column, every row labelled and usable by
    ``model``; a problem is a one-line error naming file, row and column."""
    from vae_design.data.csv_input import read_labelled_formulas

    missing = "a test alloy needs a label"
    rows, compositions, labels = read_labelled_formulas(path, formula_col, label_col, model.target, missing)
    model.check_usable(compositions, path, [row for row, _ in rows], formula_col)
    return compositions, np.asarray(labels, dtype=int)


def bundle_held_out(model) -> Part | None:
    """(compositions, labels) of the test part stored in the model bundle; None when it lists none (older bundles)."""
    from vae_design.data.composition import parse_formula

    known = model.known_alloys
    rows = known[known["part"] == "test"] if known is not None else None
    if rows is None or not len(rows):
        return None
    return [parse_formula(f) for f in rows["formula"]], rows["label"].to_numpy(dtype=int)

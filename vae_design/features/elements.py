"""Per-element property tables for the physics descriptors, read from matminer's installed data files.

Nothing here is typed in by hand: every value comes from a file shipped inside the installed ``matminer``
package (``matminer/utils/data_files``), so the descriptors agree with matminer's featurizers by construction.

Columns of :func:`element_table` (units):

========  =========  ==========================================================================================
column    unit       source
========  =========  ==========================================================================================
k         GPa        bulk modulus, magpie ``BulkModulus.table``; for the 8 metals magpie lacks (Ga, Ge, Sr, Zr,
                     Tc, In, Os, Pu) the bulk modulus of matminer's ``Miedema.csv`` (column "compressibility",
                     which holds bulk moduli in GPa, e.g. Fe 168.3; de Boer et al., *Cohesion in Metals*, 1988)
vm        cm^3/mol   molar volume, magpie ``MolarVolume.table`` (its README says "cm^3"; the values are per
                     mole, e.g. Fe 7.09 = 55.845 g/mol / 7.874 g/cm^3, so no conversion is needed)
tm        K          melting temperature, magpie ``MeltingT.table`` (the table YangSolidSolution uses)
vec       e/atom     valence electron count in Guo's convention (Guo et al., J. Appl. Phys. 109, 103505
                     (2011)): the periodic-table group from magpie ``Column.table`` for groups 1-12 and group - 10
                     for groups 13-18 (Al 3, Sn 4, Hf 4, W 6, Ni 10, Cu 11); magpie files the lanthanides and
                     actinides under group 3, so they count 3
radius    pm         metallic radius in metallic glasses, magpie ``MiracleRadius.table`` (Miracle et al.,
                     Int. Mater. Rev. 55, 218 (2010)), the radius YangSolidSolution uses
chi       Pauling    electronegativity, magpie ``Electronegativity.table``
========  =========  ==========================================================================================

Why not magpie ``NValence`` for VEC: it counts filled d and f shells, giving Hf 18, Ta 19, W 20, Ga 13 and
Sn 14, which puts refractory BCC alloys such as HfNbTaTiZr at VEC 10 ("FCC" by Guo's rule). The group rule
equals matminer's ``Miedema.csv`` valence (which WenAlloys averages) and hea-bench's Guo table for every s-,
p- and d-block element; they differ only for the f block (Miedema.csv counts f electrons, hea-bench has Yb 2,
Th 4, U 6).

Pair mixing enthalpies (kJ/mol) come from matminer's ``MiedemaLiquidDeltaHf.tsv``: Miedema-model liquid
enthalpies of equiatomic binaries tabulated by Takeuchi & Inoue, Mater. Trans. 46, 2817 (2005). The table
covers 75 elements and lacks 147 of their pairs.

The magpie tables are those of Ward et al., npj Comput. Mater. 2, 16028 (2016): one value per line for
Z = 1, 2, ...; a line that does not parse as a number ("Missing", "NA", "None") means no value, exactly as
``matminer.utils.data.MagpieData`` reads them (without its ``impute_nan`` averaging: a missing value here is
an error the caller sees, never a silent mean).
"""

from __future__ import annotations

import csv
import importlib.resources
import itertools
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core.periodic_table import Element

from vae_design.data.composition import atomic_number
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError

PROPERTY_COLUMNS = ("k", "vm", "tm", "vec", "radius", "chi")

# What each column is called in messages, and the file it comes from.
_PROPERTY_NAMES = {
    "k": "bulk modulus",
    "vm": "molar volume",
    "tm": "melting temperature",
    "vec": "valence electron count (group number)",
    "radius": "Miracle radius",
    "chi": "Pauling electronegativity",
}
_MAGPIE_FILES = {
    "k": "BulkModulus",
    "vm": "MolarVolume",
    "tm": "MeltingT",
    "vec": "Column",
    "radius": "MiracleRadius",
    "chi": "Electronegativity",
}
_TABLE_NAMES = {column: f"matminer's magpie {name} table" for column, name in _MAGPIE_FILES.items()} | {
    "k": "matminer's magpie BulkModulus table or Miedema.csv"
}
PAIR_TABLE_NAME = "matminer's MiedemaLiquidDeltaHf.tsv (Takeuchi & Inoue 2005)"
# Lanthanides and actinides up to Pu: where Guo's VEC (3 here) and the electron-counting tables disagree.
F_BLOCK = frozenset(Element.from_Z(z).symbol for z in (*range(57, 72), *range(89, 95)))


def data_dir() -> Path:
    """Folder of matminer's bundled data files (``matminer/utils/data_files``)."""
    return Path(str(importlib.resources.files("matminer.utils") / "data_files"))


@cache
def _magpie_values(name: str) -> dict[int, float]:
    """Atomic number -> value of one magpie table; lines that are not numbers are left out (no value)."""
    lines = (data_dir() / "magpie_elementdata" / f"{name}.table").read_text().splitlines()
    values = {}
    for z, line in enumerate(lines, start=1):
        try:
            values[z] = float(line)
        except ValueError:
            continue
    return values


@cache
def _miedema_bulk_modulus() -> dict[str, float]:
    """Symbol -> bulk modulus (GPa) from matminer's Miedema.csv; zeros there mean 'no value' (H, N, ...)."""
    with open(data_dir() / "Miedema.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["element"]: float(row["compressibility"]) for row in rows if float(row["compressibility"]) > 0}


@cache
def _pair_enthalpies() -> dict[tuple[str, str], float]:
    """Sorted symbol pair -> liquid mixing enthalpy (kJ/mol); the last row wins, as in matminer."""
    table = pd.read_csv(data_dir() / "MiedemaLiquidDeltaHf.tsv", sep=r"\s+")
    return {tuple(sorted((a, b))): float(value) for a, b, value in table.itertuples(index=False) if np.isfinite(value)}


def _value(symbol: str, column: str) -> float:
    """One property of one element, NaN when its table has no value."""
    values = _magpie_values(_MAGPIE_FILES[column])
    value = values.get(atomic_number(symbol), np.nan)
    if column == "k" and np.isnan(value):
        value = _miedema_bulk_modulus().get(symbol, np.nan)
    if column == "vec" and np.isfinite(value):
        # Guo's VEC leaves the filled d10 shell of groups 13-18 out (Al 3, Ga 3, Sn 4).
        value = value if value <= 12 else value - 10
    return value


def _symbols(elements: Iterable[str]) -> tuple[str, ...]:
    """Checked symbols as a hashable tuple (pymatgen ``Element`` objects are accepted: their str is the symbol).

    Unknown, repeated or no symbols are an InputError from :class:`ElementVocabulary`, the one place that
    checks element lists.
    """
    return ElementVocabulary(tuple(str(symbol) for symbol in elements)).elements


@lru_cache(maxsize=256)
def _table(elements: tuple[str, ...]) -> pd.DataFrame:
    rows = [[_value(symbol, column) for column in PROPERTY_COLUMNS] for symbol in elements]
    return pd.DataFrame(
        np.array(rows, dtype=np.float64).reshape(len(elements), len(PROPERTY_COLUMNS)),
        index=pd.Index(elements, name="element"),
        columns=list(PROPERTY_COLUMNS),
    )


def missing_message(symbol: str, column: str) -> str:
    """The one-line message for an element without a value in one property table."""
    return f"no {_PROPERTY_NAMES[column]} for element {symbol!r} in {_TABLE_NAMES[column]}"


def pair_missing_message(first: str, second: str) -> str:
    """The one-line message for a pair of elements without a mixing enthalpy."""
    return f"no mixing enthalpy for the pair {first!r}-{second!r} in {PAIR_TABLE_NAME}"


def element_table(elements: Iterable[str], *, allow_missing: bool = False) -> pd.DataFrame:
    """Property table of ``elements``, one row per element in the given order.

    Columns and units: k (GPa), vm (cm^3/mol), tm (K), vec (valence electrons per atom), radius (pm),
    chi (Pauling units); sources in the module docstring.

    Raises:
        InputError: for a symbol that is not an element or is listed twice, and, unless ``allow_missing``,
            for the first element that lacks a value (then the table holds NaN for missing values).
    """
    table = _table(_symbols(elements))
    if not allow_missing:
        for symbol, column in missing_properties(table.index).items():
            raise InputError(missing_message(symbol, column[0]))
    return table.copy()


def missing_properties(elements: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Element -> the columns of :func:`element_table` it has no value for (elements with all values omitted)."""
    table = _table(_symbols(elements))
    missing = table.isna()
    return {
        symbol: tuple(column for column in PROPERTY_COLUMNS if missing.at[symbol, column])
        for symbol in table.index
        if missing.loc[symbol].any()
    }


@lru_cache(maxsize=64)
def _pair_matrices(elements: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    pairs = _pair_enthalpies()
    size = len(elements)
    enthalpy = np.zeros((size, size), dtype=np.float64)
    missing = np.zeros((size, size), dtype=bool)
    for i, j in itertools.combinations(range(size), 2):
        value = pairs.get(tuple(sorted((elements[i], elements[j]))))
        if value is None:
            missing[i, j] = missing[j, i] = True
        else:
            enthalpy[i, j] = enthalpy[j, i] = value
    enthalpy.flags.writeable = missing.flags.writeable = False  # cached: callers must not edit
    return enthalpy, missing


def mixing_enthalpy_matrix(elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pair mixing enthalpies H_ij (kJ/mol) of ``elements`` and the mask of pairs without a value.

    Returns ``(enthalpy, missing)``, both (E, E) and symmetric: ``enthalpy`` has a zero diagonal (an element
    does not mix with itself) and zeros where ``missing`` is True. Raises :class:`InputError` for a symbol
    that is not an element.
    """
    enthalpy, missing = _pair_matrices(_symbols(elements))
    return enthalpy.copy(), missing.copy()


def missing_pairs(elements: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs of ``elements`` (in vocabulary order) that have no mixing enthalpy in the pair table."""
    elements = _symbols(elements)
    _, missing = _pair_matrices(elements)
    return [(elements[i], elements[j]) for i, j in zip(*np.nonzero(np.triu(missing)), strict=True)]

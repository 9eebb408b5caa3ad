"""Raw-material cost and density of alloys from element tables (vectorised over a batch, torch).

Both work on any non-negative amounts per element (grid steps or mole fractions over ``elements``), (N, E):

* :func:`alloy_cost`, US$ per kg of alloy: sum_i w_i p_i, with w_i the mass fractions (from the atomic fractions
  and pymatgen's atomic masses) and p_i the element prices (US$/kg) of the table pymatgen ships
  (``pymatgen/analysis/costdb_elements.csv``; its rows cite Wolfram Alpha and Wikipedia's "Prices of elements and
  their compounds", both September 2013). Prices of the pure element, so an estimate of the raw-material cost,
  not of melting or of buying a ferro-alloy; elements missing from the table (U, Pu, Pm, ...) give NaN.
* :func:`alloy_density`, g/cm^3: rule of mixtures with additive volumes, rho = sum_i w_i / sum_i (w_i / rho_i),
  rho_i pymatgen's density of the solid element. An ideal-mixing estimate: no excess volume of mixing, no
  ordering; elements without a solid density (H, N, O, ...) give NaN.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from functools import cache
from importlib import resources

import torch

from vae_design.data.composition import atomic_mass

PRICE_CITATION = (
    "element prices (US$/kg) of pymatgen's costdb_elements.csv: Wolfram Alpha and Wikipedia, "
    "'Prices of elements and their compounds', September 2013"
)


@cache
def element_prices() -> dict[str, float]:
    """Element symbol -> price of the pure element in US$/kg (pymatgen's table, see :data:`PRICE_CITATION`)."""
    table = resources.files("pymatgen.analysis").joinpath("costdb_elements.csv")
    with table.open(encoding="utf-8") as file:
        # formula, US$/kg, note, BibTeX citation between | quotes (the format pymatgen.analysis.cost reads)
        return {row[0].strip(): float(row[1]) for row in csv.reader(file, quotechar="|") if row}


@cache
def _solid_density(symbol: str) -> float:
    """Density of the solid element in g/cm^3 (NaN when pymatgen has none)."""
    from pymatgen.core.periodic_table import Element

    with warnings.catch_warnings():  # pymatgen warns for each element without the value; NaN says it here
        warnings.simplefilter("ignore")
        value = Element(symbol).density_of_solid
    return float("nan") if value is None else float(value) / 1000.0  # kg/m^3 -> g/cm^3


@cache
def _columns(elements: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per element (E,) float64: atomic mass (g/mol), price (US$/kg, NaN if unknown), density (g/cm^3, NaN)."""
    prices = element_prices()
    mass = torch.tensor([atomic_mass(e) for e in elements], dtype=torch.float64)
    price = torch.tensor([prices.get(e, float("nan")) for e in elements], dtype=torch.float64)
    density = torch.tensor([_solid_density(e) for e in elements], dtype=torch.float64)
    return mass, price, density


def unpriced(elements: Sequence[str]) -> tuple[str, ...]:
    """The elements the price table lacks."""
    return tuple(e for e in elements if e not in element_prices())


def without_density(elements: Sequence[str]) -> tuple[str, ...]:
    """The elements pymatgen has no solid density for."""
    return tuple(e for e in elements if math.isnan(_solid_density(e)))


def mass_fractions(amounts: torch.Tensor, elements: Sequence[str]) -> torch.Tensor:
    """Atomic amounts (N, E) -> mass fractions (N, E) float64, each row summing to 1."""
    mass = _columns(tuple(elements))[0].to(amounts.device)
    grams = amounts.double() * mass
    return grams / grams.sum(-1, keepdim=True)


def _weighted(amounts: torch.Tensor, elements: Sequence[str], values: torch.Tensor) -> torch.Tensor:
    """sum_i w_i v_i (N,) over the elements present; NaN where a present element has no value."""
    present = amounts > 0
    terms = mass_fractions(amounts, elements) * values.to(amounts.device)
    return torch.where(present, terms, 0.0).sum(-1)  # absent elements' unknown values do not count


def alloy_cost(amounts: torch.Tensor, elements: Sequence[str]) -> torch.Tensor:
    """Raw-material cost (N,) in US$ per kg of alloy of atomic amounts (N, E) over ``elements``."""
    return _weighted(amounts, elements, _columns(tuple(elements))[1])


def alloy_density(amounts: torch.Tensor, elements: Sequence[str]) -> torch.Tensor:
    """Ideal-mixing density (N,) in g/cm^3 of atomic amounts (N, E): 1 / sum_i (w_i / rho_i)."""
    return 1.0 / _weighted(amounts, elements, 1.0 / _columns(tuple(elements))[2])

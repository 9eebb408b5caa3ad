"""What counts as a practical alloy, and how decoded fractions become one (vectorised over a batch, torch).

A decoded composition is a vector of mole fractions over the model's element vocabulary. :class:`AlloyConstraints`
turns it into an alloy a metallurgist can weigh out: only allowed elements, between ``min_elements`` and
``max_elements`` of them, each between ``min_fraction`` and ``max_fraction``, in whole steps of ``grid`` at.% that
sum to exactly 100, and optionally at most ``max_cost`` US$/kg of raw materials and ``max_density`` g/cm^3
(:mod:`vae_design.design.properties`). Everything is checked once up front (:meth:`AlloyConstraints.check`), so
impossible settings are a one-line :class:`InputError` rather than an empty or endless search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import torch

from vae_design.data.vocabulary import ElementVocabulary
from vae_design.design.properties import alloy_cost, alloy_density, unpriced, without_density
from vae_design.design.settings import ConstraintSettings
from vae_design.errors import InputError

# Bisection steps for the box-constrained projection onto the simplex: the threshold is bracketed in [-1, 1], so 50
# halvings leave it within 1e-15, far below one grid step.
_BISECTION_STEPS = 50
# No stable isotope (Tc, Pm, and everything from Po on): not weighed out for an alloy outside a nuclear lab.
RADIOACTIVE = frozenset(
    ("Tc", "Pm", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es")
)
# Platinum-group metals, gold and rhenium: thousands to tens of thousands of $/kg, against 1-50 $/kg for the usual
# HEA elements (Al, Co, Cr, Cu, Fe, Mn, Mo, Nb, Ni, Ti, V, W, Zr); a model trained on few of them still proposes them.
PRECIOUS = frozenset(("Ru", "Rh", "Pd", "Os", "Ir", "Pt", "Au", "Re"))
# Alkali and alkaline-earth metals: reactive, low-melting and volatile (Mg boils at 1090 C, below most HEAs' melting
# points), not melted with transition metals for a structural alloy; the data hold their binaries, and a model
# trained on those proposes absurd Ba-Ca-Sr alloys. Lightweight-HEA work (Li, Mg, Be) names them or sets the flag.
ALKALI = frozenset(("Li", "Na", "K", "Rb", "Cs", "Fr"))
ALKALINE_EARTH = frozenset(("Be", "Mg", "Ca", "Sr", "Ba", "Ra"))
# Rare-earth elements (Sc, Y and the lanthanides): costly (Tb, Lu, Tm: thousands of $/kg), oxidise readily, and form
# single-phase HCP alloys only among themselves, which is not structural-HEA design.
RARE_EARTH = frozenset(
    ("Sc", "Y", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu")
)
# The element groups a candidate contains only when their constraint flag is true or the element is named in allowed:
# the defaults of a metallurgist designing structural HEAs.
GATED = {
    "radioactive": RADIOACTIVE,
    "precious": PRECIOUS,
    "alkali": ALKALI,
    "alkaline_earth": ALKALINE_EARTH,
    "rare_earth": RARE_EARTH,
}


@dataclass(frozen=True)
class AlloyConstraints(ConstraintSettings):
    """The constraints of :class:`ConstraintSettings` (fractions in at.%: ``min_fraction=5`` means 5 at.%; ``grid``
    is the composition step in at.%) over a model's vocabulary, ``elements``.

    ``allowed`` empty means every element of the vocabulary; ``forbidden`` removes elements from it. The element
    groups of :data:`GATED`, radioactive (:data:`RADIOACTIVE`), precious (:data:`PRECIOUS`), alkali
    (:data:`ALKALI`), alkaline-earth (:data:`ALKALINE_EARTH`) and rare-earth (:data:`RARE_EARTH`) elements, are
    left out unless their flag (``radioactive``, ``precious``, ``alkali``, ``alkaline_earth``, ``rare_earth``) is
    true or the element is named in ``allowed``.

    ``max_cost`` (US$ per kg of alloy, raw materials) and ``max_density`` (g/cm^3, ideal mixing) are ceilings on
    the whole alloy (None: none). With a cost ceiling, elements the price table lacks cannot be priced and are left
    out (an error if ``allowed`` names one); likewise elements without a solid density under a density ceiling."""

    elements: tuple[str, ...] = field(default=(), repr=False)  # the vocabulary, set by ``from_settings``

    @classmethod
    def from_settings(
        cls, vocabulary: ElementVocabulary, settings: ConstraintSettings | None = None, **values
    ) -> AlloyConstraints:
        """Constraints for a model's vocabulary from ``settings`` and/or the keyword ``values`` of its fields,
        checked (one-line InputError for impossible settings)."""
        chosen = {f.name: getattr(settings, f.name) for f in fields(ConstraintSettings)} if settings else {}
        constraints = cls(**{**chosen, **values}, elements=vocabulary.elements)
        constraints.check()
        return constraints

    # ------------------------------------------------------------------------------------------------- checks
    @property
    def steps(self) -> int:
        """Grid steps in 100 at.% (100 for a 1 at.% grid)."""
        return round(100.0 / self.grid)

    @property
    def step_bounds(self) -> tuple[int, int]:
        """Smallest and largest number of grid steps one element may take."""
        low = int(-(-round(self.min_fraction / self.grid * 1e9) // 10**9))  # ceil without float noise
        high = int(round(self.max_fraction / self.grid * 1e9) // 10**9)
        return max(low, 1), min(high, self.steps)

    @property
    def usable(self) -> tuple[str, ...]:
        """Vocabulary elements a candidate may contain."""
        chosen = set(self.allowed) if self.allowed else set(self.elements)
        left_out = set(self.forbidden)
        for flag, group in GATED.items():
            left_out |= set() if getattr(self, flag) else group - set(self.allowed)
        left_out |= set(self._unmeasurable(self.elements))
        return tuple(e for e in self.elements if e in chosen and e not in left_out)

    def _unmeasurable(self, elements) -> tuple[str, ...]:
        """Those of ``elements`` a ceiling cannot be checked for (no price, no density)."""
        gaps = unpriced(elements) if self.max_cost is not None else ()
        return gaps + (without_density(elements) if self.max_density is not None else ())

    def feasible_sizes(self) -> list[int]:
        """Numbers of elements for which some on-grid composition meets every bound."""
        low, high = self.step_bounds
        top = min(self.max_elements, len(self.usable))
        return [k for k in range(max(self.min_elements, 1), top + 1) if k * low <= self.steps <= k * high]

    def check(self) -> None:
        if not self.grid > 0 or self.grid > 100:
            raise InputError(f"constraints.grid must be a step in (0, 100] at.%, got {self.grid:g}")
        if abs(self.steps * self.grid - 100.0) > 1e-9:
            raise InputError(
                f"constraints.grid={self.grid:g} at.% cannot reach exactly 100 at.% (100 / grid is not whole)"
            )
        vocabulary = ElementVocabulary(self.elements)
        for key in ("allowed", "forbidden"):
            outside = [e for e in getattr(self, key) if e not in vocabulary.elements]
            if outside:
                ElementVocabulary(tuple(outside))  # a misspelt symbol gets the vocabulary's own message
                raise InputError(
                    f"constraints.{key}: element {outside[0]} is not in the model's vocabulary "
                    f"({len(vocabulary)} elements)"
                )
        for key, lacking, what in (("max_cost", unpriced, "price"), ("max_density", without_density, "solid density")):
            gaps = lacking(self.allowed) if getattr(self, key) is not None else ()
            if gaps:
                raise InputError(
                    f"constraints.{key}: {gaps[0]} (in allowed) has no {what} in pymatgen's tables, so the ceiling "
                    "cannot be checked for it; drop the element or the ceiling"
                )
        if not self.usable:
            raise InputError(
                "constraints allow no element (allowed minus forbidden and the groups left out by default: "
                "radioactive, precious, alkali, alkaline-earth and rare-earth elements, is empty)"
            )
        # A cost is a mass-weighted mean of prices and a density a weighted harmonic mean of densities, so neither
        # falls below the smallest value among the usable elements.
        for key, value, unit in (("max_cost", alloy_cost, "US$/kg"), ("max_density", alloy_density, "g/cm^3")):
            limit = getattr(self, key)
            if limit is None:
                continue
            each = value(torch.eye(len(self.usable), dtype=torch.float64), self.usable)
            if limit < each.min():
                lowest = self.usable[int(each.argmin())]
                raise InputError(
                    f"constraints.{key}={limit:g} {unit} is below every allowed element (the lowest, {lowest}, has "
                    f"{float(each.min()):.3g} {unit}), so no alloy can meet it"
                )
        if self.min_elements < 1:
            raise InputError(f"constraints.min_elements must be at least 1, got {self.min_elements}")
        if self.min_elements > self.max_elements:
            raise InputError(
                f"constraints.min_elements={self.min_elements} is more than max_elements={self.max_elements}"
            )
        if self.min_elements > len(self.usable):
            raise InputError(
                f"constraints.min_elements={self.min_elements} but only {len(self.usable)} element(s) are allowed"
            )
        if not 0 <= self.min_fraction <= self.max_fraction <= 100:
            raise InputError(
                f"constraints need 0 <= min_fraction <= max_fraction <= 100 at.%, got {self.min_fraction:g} and "
                f"{self.max_fraction:g}"
            )
        if not self.feasible_sizes():
            low, high = self.step_bounds
            raise InputError(
                f"no alloy of {self.min_elements}-{min(self.max_elements, len(self.usable))} elements with "
                f"{low * self.grid:g}-{high * self.grid:g} at.% each on a {self.grid:g} at.% grid sums to 100 at.%"
            )

    # ------------------------------------------------------------------------------------------------- apply
    def mask(self) -> torch.Tensor:
        """Bool (E,): vocabulary columns a candidate may use."""
        usable = set(self.usable)
        return torch.tensor([e in usable for e in self.elements])

    def nearest_sizes(self, wanted: torch.Tensor) -> torch.Tensor:
        """Element counts (N,) moved to the nearest feasible size (ties to the smaller set)."""
        sizes = torch.tensor(self.feasible_sizes(), device=wanted.device)
        return sizes[(wanted[:, None] - sizes[None, :]).abs().argmin(-1)]

    def choose_elements(self, scores: torch.Tensor, wanted: torch.Tensor | None = None) -> torch.Tensor:
        """Element sets (N, E) bool from per-element scores (N, E), e.g. presence logits: the ``wanted`` (N,) best
        usable elements (default: as many as have a positive score), the count moved to the nearest feasible size."""
        usable = self.mask().to(scores.device)
        scores = scores.masked_fill(~usable, float("-inf"))
        wanted = (scores > 0).sum(-1) if wanted is None else wanted.to(scores.device).expand(len(scores))
        size = self.nearest_sizes(wanted)
        order = scores.argsort(-1, descending=True).argsort(-1)  # rank of each element, 0 = best
        return (order < size[:, None]) & usable

    def project(self, fractions: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Fractions (N, E) on the ``present`` sets moved to the nearest point (Euclidean) with every present element
        within [min_fraction, max_fraction] and sum 1; absent elements exactly 0."""
        fractions = fractions.double().masked_fill(~present, 0.0)
        low, high = (b * self.grid / 100.0 for b in self.step_bounds)
        # x_i = clip(f_i - tau, low, high) with tau chosen so that the present x sum to 1 (monotone in tau).
        lo_tau = torch.full(fractions.shape[:1], -1.0, dtype=fractions.dtype, device=fractions.device)
        hi_tau = torch.full_like(lo_tau, 1.0)
        for _ in range(_BISECTION_STEPS):
            tau = (lo_tau + hi_tau) / 2
            total = torch.where(present, (fractions - tau[:, None]).clamp(low, high), 0.0).sum(-1)
            too_much = total > 1
            lo_tau = torch.where(too_much, tau, lo_tau)
            hi_tau = torch.where(too_much, hi_tau, tau)
        tau = (lo_tau + hi_tau) / 2
        return torch.where(present, (fractions - tau[:, None]).clamp(low, high), 0.0)

    def round_to_grid(self, fractions: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Integer grid steps (N, E) summing to ``steps`` per row, each present element within the step bounds:
        floor, then the missing steps to the largest remainders (the largest-remainder method)."""
        low, high = self.step_bounds
        exact = fractions.double() * self.steps
        counts = torch.where(present, exact.floor().clamp(low, high), 0.0)
        remainder = torch.where(present, exact - counts, float("-inf"))
        for _ in range(int(present.sum(-1).max().item()) if len(present) else 0):
            missing = self.steps - counts.sum(-1)
            if not (missing != 0).any():
                break
            up = torch.where(present & (counts < high), remainder, float("-inf")).argmax(-1)
            down = torch.where(present & (counts > low), -remainder, float("-inf")).argmax(-1)
            rows = torch.arange(len(counts), device=counts.device)
            counts[rows, up] += (missing > 0).double()
            counts[rows, down] -= (missing < 0).double()
            remainder[rows, up] -= (missing > 0).double()
            remainder[rows, down] += (missing < 0).double()
        return counts.round().long()

    def within_ceilings(self, counts: torch.Tensor, elements: Sequence[str] | None = None) -> torch.Tensor:
        """Bool (N,): amounts (N, E) over ``elements`` (default: the vocabulary) at most ``max_cost`` US$/kg and
        ``max_density`` g/cm^3 (an alloy that cannot be priced fails a cost ceiling)."""
        elements = self.elements if elements is None else tuple(elements)
        ok = torch.ones(len(counts), dtype=torch.bool, device=counts.device)
        if self.max_cost is not None:
            ok &= alloy_cost(counts, elements) <= self.max_cost  # NaN (no price) compares false
        if self.max_density is not None:
            ok &= alloy_density(counts, elements) <= self.max_density
        return ok

    def valid(self, counts: torch.Tensor) -> torch.Tensor:
        """Bool (N,): integer grid steps (N, E) that meet every constraint."""
        low, high = self.step_bounds
        present = counts > 0
        n = present.sum(-1)
        usable = self.mask().to(counts.device)
        return (
            (counts.sum(-1) == self.steps)
            & (n >= self.min_elements)
            & (n <= self.max_elements)
            & ~(present & ~usable).any(-1)
            & ~(present & ((counts < low) | (counts > high))).any(-1)
            & self.within_ceilings(counts)
        )

    def apply(
        self, scores: torch.Tensor, fractions: torch.Tensor, sizes: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Element scores and fractions (N, E) and the wanted element counts (N,) (default: the positive scores)
        -> (integer grid steps (N, E), valid (N,))."""
        present = self.choose_elements(scores, sizes)
        counts = self.round_to_grid(self.project(fractions, present), present)
        return counts, self.valid(counts)

    def to_fractions(self, counts: torch.Tensor) -> torch.Tensor:
        """Grid steps -> mole fractions (float64)."""
        return counts.double() / self.steps

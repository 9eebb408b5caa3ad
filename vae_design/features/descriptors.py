"""Vectorised, differentiable physics descriptors of alloy compositions (torch).

One call maps an (N, E) tensor of mole fractions over a fixed element vocabulary to the (N, 9) descriptors of
Zeng, Khan & Post (2025) plus Yang & Zhang's Omega, with no Python loop over alloys. The values equal
matminer's ``YangSolidSolution`` (delta / 100 and Omega, to ~1e-12 relative in float64, with delta exactly 0
when all radii in the alloy are equal) and, where the definitions coincide, ``WenAlloys``; element data come
from :mod:`vae_design.features.elements`.

delta uses the Miracle et al. radii, as matminer does (Cantor alloy CoCrFeMnNi 2.25 %, AlCoCrFeNi 4.70 %),
which differ from the metallic radii behind commonly quoted values (about 3.2-3.3 % for the Cantor alloy;
3.16 % with hea-bench's radii) and behind hea-bench's delta; empirical thresholds such as Zhang's
delta <= 6.6 % were calibrated on those other radii.

Features (c_i = mole fraction of element i; rows are normalised by their sum, as matminer does):

========  ===========  ======================================================================================
name      unit         definition
========  ===========  ======================================================================================
k         GPa          sum c_i K_i, bulk modulus
vm        cm^3/mol     sum c_i Vm_i, molar volume
tm        K            sum c_i Tm_i, melting temperature
vec       e/atom       sum c_i VEC_i, valence electron concentration (Guo's convention)
delta     %            100 sqrt(sum c_i (1 - r_i / rbar)^2), rbar = sum c_i r_i, Miracle radii
dchi      Pauling      sqrt(sum c_i (chi_i - chibar)^2), electronegativity mismatch
dS_mix    J/(mol K)    -R sum c_i ln c_i, ideal mixing entropy, R = 8.314
dH_mix    kJ/mol       sum_{i<j} 4 H_ij c_i c_j, regular-solution sum over Takeuchi & Inoue's (2005) binary pair
                       table (H_ij: equiatomic liquid enthalpies they computed with Miedema's model; not
                       matminer's full ``Miedema`` featurizer)
omega     1            tm * dS_mix / (1000 max(|dH_mix|, 1e-6)) (Yang & Zhang, Mater. Chem. Phys. 132, 233
                       (2012)); 0 for a pure element
========  ===========  ======================================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError
from vae_design.features import elements as element_data

DESCRIPTOR_NAMES = ("k", "vm", "tm", "vec", "delta", "dchi", "dS_mix", "dH_mix", "omega")
DESCRIPTOR_UNITS = {
    "k": "GPa",
    "vm": "cm^3/mol",
    "tm": "K",
    "vec": "e/atom",
    "delta": "%",
    "dchi": "Pauling units",
    "dS_mix": "J/(mol K)",
    "dH_mix": "kJ/mol",
    "omega": "dimensionless",
}

# omega spans 0 to ~1e6 (it divides by |dH_mix|, which can cancel): networks see log1p(omega), capped so that a
# cancelling enthalpy cannot dominate a standardised input.
OMEGA_CAP = 1e4

# J/(mol K). Yang & Zhang and matminer use 8.314, not CODATA's 8.314462618; the fifth digit would break
# the 1e-6 agreement of dS_mix and omega with matminer.
GAS_CONSTANT = 8.314
# kJ/mol. matminer's floor on |dH_mix| in omega: omega stays finite for alloys whose enthalpy cancels.
OMEGA_MIN_ENTHALPY = 1e-6
# One-pass variances E[v^2] - E[v]^2 (v' = v centred on the vocabulary's mean) carry a rounding error of a few
# eps * max v'^2, which swamps a variance near 0. Rows whose radius or chi variance is below this fraction of
# the vocabulary's largest squared value (for radii, delta below roughly 0.1-0.2 %) are recomputed from offsets
# to the row's main element, which is exact at 0 (see Descriptors._spread_variances); elsewhere |v'| <= max v
# keeps the one-pass relative error below ~1e-8 in float64.
_RECOMPUTE_BELOW = 1e-6
# Below this, a variance is taken as exactly zero (so a pure element has delta = dchi = 0, as in matminer)
# and its square root gets a zero gradient instead of an infinite one.
_MIN_VARIANCE = 1e-30
# Smallest fraction inside the logarithm's gradient: log(1e-12) keeps d(x ln x)/dx finite at x = 0.
_MIN_FRACTION = 1e-12

# Columns of the stacked weight matrix: one matmul gives every composition-weighted sum at once.
_ONES, _K, _VM, _TM, _VEC, _R, _CHI, _R2, _CHI2 = range(9)


class _XLogX(torch.autograd.Function):
    """x ln x with 0 ln 0 = 0 in one fused pass; gradient ln(max(x, 1e-12)) + 1 stays finite at x = 0."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.special.xlogy(x, x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (torch.log(x.clamp_min(_MIN_FRACTION)) + 1)


def _sqrt_or_zero(variance: torch.Tensor) -> torch.Tensor:
    """sqrt(variance), but exactly 0 with a zero gradient where variance <= 1e-30 (round-off negatives too)."""
    positive = variance > _MIN_VARIANCE
    return torch.where(positive, torch.sqrt(torch.where(positive, variance, 1.0)), 0.0)


class Descriptors(torch.nn.Module):
    """Physics descriptors of alloys over a fixed element vocabulary (a torch module with no parameters).

    Args:
        elements: element symbols, the column order of the fraction tensors given to :meth:`forward`.

    The element tables are float64 buffers, so ``.to("cuda")`` moves them; each call computes in the dtype
    of its input (``module.float()`` would round the tables themselves to float32).

    Elements without a value in some table, and pairs without a mixing enthalpy, do not stop construction
    (real vocabularies hold ~80 elements, some of them gaps): :meth:`forward` raises :class:`InputError` only
    for alloys that contain such an element or both elements of such a pair, and :meth:`unsupported` /
    :meth:`unsupported_reasons` let callers drop those alloys with a report first. Symbols that are not
    elements, or that repeat, raise :class:`InputError` here.

    Attributes:
        elements: the vocabulary, in column order.
        missing_properties: element -> descriptor-table columns it lacks (see ``element_table``).
        missing_pairs: element pairs of the vocabulary without a mixing enthalpy.
    """

    elements: tuple[str, ...]
    missing_properties: dict[str, tuple[str, ...]]
    missing_pairs: tuple[tuple[str, str], ...]

    def __init__(self, elements: Sequence[str]) -> None:
        super().__init__()
        self.elements = ElementVocabulary(tuple(str(symbol) for symbol in elements)).elements  # checks the list
        table = element_data.element_table(self.elements, allow_missing=True)
        enthalpy, pair_missing = element_data.mixing_enthalpy_matrix(self.elements)
        self.missing_properties = element_data.missing_properties(self.elements)
        self.missing_pairs = tuple(element_data.missing_pairs(self.elements))

        values = table.to_numpy()
        element_missing = np.isnan(values).any(axis=1)
        values = np.nan_to_num(values, nan=0.0)  # never used: alloys containing these elements are refused
        radius, chi = values[:, 4], values[:, 5]
        # Variances come from E[v^2] - E[v]^2; centring on the vocabulary's mean first keeps the cancellation
        # mild, and rows where it would still matter (small mismatch) are recomputed exactly (see
        # _RECOMPUTE_BELOW and _spread_variances): float64 within ~1e-12 (relative) of matminer's two-pass sum,
        # and exactly 0 for equal radii; float32 within ~3e-4 % on delta and ~1e-5 on dchi (absolute, on
        # 200,000 random alloys), and exactly 0 where float64 is.
        shift = np.array(
            [
                radius[~element_missing].mean() if (~element_missing).any() else 0.0,
                chi[~element_missing].mean() if (~element_missing).any() else 0.0,
            ]
        )
        # The squared columns (_R2, _CHI2) are appended per call, in the input's dtype (see forward).
        weights = np.column_stack([np.ones(len(values)), values[:, :4], radius - shift[0], chi - shift[1]])

        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float64))
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float64))
        # Uncentred (radius, chi) rows for the recomputation of small variances, and the variances below which
        # it runs (plain floats: one comparison per alloy, no per-alloy mean needed).
        self.register_buffer("spread_values", torch.tensor(np.vstack([radius, chi]), dtype=torch.float64))
        self._recompute_below = tuple(_RECOMPUTE_BELOW * float(np.max(v**2, initial=0.0)) for v in (radius, chi))
        self.register_buffer("enthalpy", torch.tensor(enthalpy, dtype=torch.float64))
        self._register_gap_checks(element_missing, pair_missing)

    def _register_gap_checks(self, element_missing: np.ndarray, pair_missing: np.ndarray) -> None:
        """Buffers for the per-call check, arranged so that it stays cheap on real, gappy vocabularies.

        Three kinds of gap: elements without data, refused when present; "pairless" elements, with no
        enthalpy to any other usable element (S, Se, Te, Pu, O are absent from the pair table), refused when
        present with a second element; and the few remaining missing pairs (e.g. Th-U). The first two are
        indicator columns appended to the weight matrix, so the descriptors' own matmul detects them; only
        the third needs a (small) matmul over its columns. A vocabulary without gaps gets no check at all.
        """
        usable = ~element_missing
        residual = pair_missing & usable[:, None] & usable[None, :]
        n_usable = int(usable.sum())
        pairless = usable & (residual.sum(axis=1) == n_usable - 1) & (n_usable > 1)
        residual &= ~pairless[:, None] & ~pairless[None, :]
        pair_columns = residual.any(axis=1)

        refused = element_missing[:, None] if element_missing.any() else np.zeros((len(usable), 0))
        self.register_buffer("refused_weights", torch.tensor(refused, dtype=torch.float64))
        self.register_buffer("pairless_weights", torch.tensor(np.eye(len(usable))[:, pairless], dtype=torch.float64))
        self.register_buffer("pair_columns", torch.tensor(np.nonzero(pair_columns)[0], dtype=torch.long))
        # 0/1 counts in float32 are exact and twice as fast as float64 in the matmul.
        self.register_buffer(
            "pair_mask", torch.tensor(residual[np.ix_(pair_columns, pair_columns)], dtype=torch.float32)
        )

    def _weights(self, dtype: torch.dtype) -> torch.Tensor:
        """(E, 9 + gap columns) weight matrix in ``dtype``; columns _ONES ... _CHI2, then the gap indicators."""
        weights = self.weights.to(dtype)
        # Squaring in the input's dtype makes E[v^2] - E[v]^2 exactly 0 for a pure element in float32 too.
        squares = weights[:, _R : _CHI + 1] ** 2
        return torch.cat([weights, squares, self.refused_weights.to(dtype), self.pairless_weights.to(dtype)], dim=1)

    def extra_repr(self) -> str:
        return (
            f"elements={len(self.elements)}, elements_without_data={len(self.missing_properties)}, "
            f"missing_pairs={len(self.missing_pairs)}"
        )

    def _check_shape(self, fractions: torch.Tensor) -> None:
        if fractions.ndim != 2 or fractions.shape[1] != len(self.elements):
            raise ValueError(f"expected fractions of shape (N, {len(self.elements)}), got {tuple(fractions.shape)}")
        if not fractions.is_floating_point():
            raise ValueError(f"expected a floating-point fraction tensor, got {fractions.dtype}")

    def _refused(self, fractions: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
        """Bool (N,) from ``sums = fractions @ self._weights(...)``; fractions are taken as non-negative."""
        total = sums[:, _ONES]
        # NaN > 0 is False, so the first term also catches NaN rows; inf rows would give inf / inf.
        bad = ~(total > 0) | torch.isinf(total)
        gaps = sums[:, _CHI2 + 1 :]
        if self.refused_weights.shape[1]:
            bad |= gaps[:, 0] > 0
        if self.pairless_weights.shape[1]:
            pairless = gaps[:, self.refused_weights.shape[1] :]
            bad |= ((pairless > 0) & (pairless < total[:, None])).any(dim=1)
        if self.pair_columns.numel():
            present = (fractions.detach()[:, self.pair_columns] > 0).to(self.pair_mask.dtype)
            bad |= ((present @ self.pair_mask) * present).sum(dim=1) > 0
        return bad

    def unsupported(self, fractions: torch.Tensor) -> torch.Tensor:
        """Bool (N,): rows that :meth:`forward` would refuse.

        A row is refused when it contains (fraction > 0) an element without data, or both elements of a
        pair without a mixing enthalpy, or when its fractions do not sum to a finite positive number. (For
        an element without any pair enthalpy, "another element" means one whose fractions do not vanish
        in the row sum's rounding: below ~1e-16 of it they could not change any descriptor anyway.)
        """
        self._check_shape(fractions)
        with torch.no_grad():
            return self._refused(fractions, fractions @ self._weights(fractions.dtype))

    def unsupported_reasons(self, fractions: torch.Tensor) -> dict[int, str]:
        """Row index -> one-line reason, for each row :meth:`unsupported` flags (a loop over those rows only)."""
        rows = torch.nonzero(self.unsupported(fractions)).flatten().tolist()
        selected = fractions.detach()[rows]
        present_rows = (selected > 0).cpu().numpy()
        negative_rows = (selected < 0).any(dim=1).tolist()
        totals = selected.sum(dim=1).tolist()
        missing_pairs = {frozenset(pair): pair for pair in self.missing_pairs}
        reasons = {}
        for row, present, negative, total in zip(rows, present_rows, negative_rows, totals, strict=True):
            if not (0 < total < float("inf")):
                reasons[row] = f"its fractions sum to {total}, not to a finite positive number"
                continue
            if negative:  # outside the contract; such a row can be flagged through a pairless element
                reasons[row] = "it has negative fractions"
                continue
            symbols = [symbol for symbol, here in zip(self.elements, present, strict=True) if here]
            reasons[row] = self._reason(symbols, missing_pairs)
        return reasons

    def _reason(self, symbols: list[str], missing_pairs: dict[frozenset, tuple[str, str]]) -> str:
        for symbol in symbols:
            if symbol in self.missing_properties:
                return element_data.missing_message(symbol, self.missing_properties[symbol][0])
        for first_index, first in enumerate(symbols):
            for second in symbols[first_index + 1 :]:
                if frozenset((first, second)) in missing_pairs:
                    return element_data.pair_missing_message(*missing_pairs[frozenset((first, second))])
        raise AssertionError("row flagged unsupported without a reason")  # unsupported() and this disagree

    def _spread_variances(
        self, fractions: torch.Tensor, total: torch.Tensor, means: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Variances (N,) of radius and chi: one-pass from the matmul's means, recomputed where they are small.

        E[v^2] - E[v]^2 over vocabulary-centred values cancels catastrophically when the true variance is ~0:
        Fe and Co have equal Miracle radii, and for Fe0.345Co0.655 it gave delta = 2.7e-7 % where matminer
        gives 0. Rows below the thresholds (see _RECOMPUTE_BELOW), for either quantity, are gathered and
        recomputed from offsets to the value of the row's main element (largest fraction c_m):
        var = sum_i c_i o_i^2 - (sum_i c_i o_i)^2 with o_i = v_i - v_m. The offsets are exact, and 0 for
        elements with the same value, so equal radii and pure elements give exactly 0 in any dtype; and since
        var >= c_m (v_m - vbar)^2, sum_i c_i o_i^2 <= (1 + 1/c_m) var, so the subtraction loses at most a
        factor (1 + number of elements) of precision (float64: ~1e-14 relative), like a two-pass sum.
        About 0.3 % of random alloys are recomputed (mostly binaries of equal radius or electronegativity);
        the cost is ~5 % of a call.
        """
        r_centred, chi_centred = means[:, _R], means[:, _CHI]
        radius_variance = means[:, _R2] - r_centred * r_centred
        chi_variance = means[:, _CHI2] - chi_centred * chi_centred
        with torch.no_grad():
            radius_below, chi_below = self._recompute_below
            rows = torch.nonzero((radius_variance < radius_below) | (chi_variance < chi_below)).flatten()
        if rows.numel():
            selected = fractions[rows] / total[rows, None]  # (n, E)
            values = self.spread_values.to(fractions.dtype)  # (2, E): radius, chi
            main = selected.detach().argmax(dim=1)
            offsets = values[:, None, :] - values[:, main, None]  # (2, n, E)
            weighted = selected * offsets
            mean_offset = weighted.sum(dim=2)
            exact = (weighted * offsets).sum(dim=2) - mean_offset * mean_offset  # (2, n)
            radius_variance = radius_variance.index_put((rows,), exact[0])
            chi_variance = chi_variance.index_put((rows,), exact[1])
        return radius_variance, chi_variance

    def forward(self, fractions: torch.Tensor) -> torch.Tensor:
        """Descriptors of each alloy.

        Args:
            fractions: (N, E) mole fractions in vocabulary column order, non-negative; rows are normalised
                by their sum, so amounts work too.

        Returns:
            (N, 9) tensor in ``DESCRIPTOR_NAMES`` order and ``DESCRIPTOR_UNITS``, same dtype and device as
            ``fractions``.

        Raises:
            InputError: naming the first row that :meth:`unsupported` flags, and why.
        """
        self._check_shape(fractions)
        dtype = fractions.dtype
        sums = fractions @ self._weights(dtype)  # (N, 9+): every composition-weighted sum in one pass
        if self._refused(fractions, sums.detach()).any():
            row, reason = next(iter(self.unsupported_reasons(fractions).items()))
            raise InputError(f"row {row} of {len(fractions)} alloys: {reason}")
        total = sums[:, _ONES]
        means = sums[:, : _CHI2 + 1] / total[:, None]
        k, vm, tm, vec = means[:, _K], means[:, _VM], means[:, _TM], means[:, _VEC]

        radius_variance, chi_variance = self._spread_variances(fractions, total, means)
        radius_mean = means[:, _R] + self.shift[0].to(dtype)
        delta = 100.0 * _sqrt_or_zero(radius_variance / (radius_mean * radius_mean))
        dchi = _sqrt_or_zero(chi_variance)

        # -sum (x/s) ln(x/s) = ln s - (sum x ln x) / s: normalising costs O(N) instead of an (N, E) pass.
        xlogx = _XLogX.apply(fractions).sum(dim=1)
        entropy = GAS_CONSTANT * (torch.log(total) - xlogx / total)
        # sum_{i<j} 4 H_ij c_i c_j = 2 c^T H c with H symmetric and zero on the diagonal. einsum runs the row
        # dot products as one batched matmul, ~3x faster on CPU than (a * b).sum(1) or linalg.vecdot.
        pair_sum = torch.einsum("ne,ne->n", fractions @ self.enthalpy.to(dtype), fractions)
        enthalpy = 2.0 * pair_sum / (total * total)
        omega = tm * (entropy / 1000.0) / enthalpy.abs().clamp_min(OMEGA_MIN_ENTHALPY)

        return torch.stack([k, vm, tm, vec, delta, dchi, entropy, enthalpy, omega], dim=1)

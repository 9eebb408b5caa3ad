"""Likelihoods of a composition (a vector of mole fractions over the element vocabulary) given decoder outputs.

* :class:`SparseComposition` (default decoder): which elements are present (independent Bernoullis) and, given the
  present set, their fractions (a Dirichlet over the present elements only). Absent elements have exactly zero
  fraction, so decoded alloys have realistic element sets instead of a smear over every element.
* :class:`FractionMultinomial` (the reference, Zeng, Khan & Post 2025): a multinomial over elements with
  ``total_count`` atoms (100: at.%), evaluated on fractional counts; its decoded mean is dense.

Both broadcast over leading (enumeration) dimensions, as Pyro's ``TraceEnum_ELBO`` needs.
"""

from __future__ import annotations

import torch
from pyro.distributions import TorchDistribution
from torch.distributions import constraints

# Dirichlet concentrations are exp(raw) clamped here: below 1e-3 lgamma's gradient explodes, above 1e4 the
# density is a spike no real alloy list rounds to.
_MIN_CONCENTRATION, _MAX_CONCENTRATION = 1e-3, 1e4
# Fractions at or below this are "absent" (the data are normalised mole fractions with at most 1e-6 noise).
PRESENCE_THRESHOLD = 1e-6


class SparseComposition(TorchDistribution):
    """p(x) = prod_e Bernoulli(present_e | sigmoid(presence_logits_e)) * Dirichlet(x_present | alpha_present).

    A single-element alloy has fraction 1 with certainty, so its Dirichlet term is 0.
    """

    arg_constraints = {"presence_logits": constraints.real, "log_concentration": constraints.real}
    support = constraints.simplex

    def __init__(self, presence_logits: torch.Tensor, log_concentration: torch.Tensor, validate_args=None) -> None:
        self.presence_logits, self.log_concentration = torch.broadcast_tensors(presence_logits, log_concentration)
        shape = self.presence_logits.shape
        super().__init__(shape[:-1], shape[-1:], validate_args=False)

    def expand(self, batch_shape, _instance=None):
        shape = torch.Size(batch_shape) + self.event_shape
        return SparseComposition(self.presence_logits.expand(shape), self.log_concentration.expand(shape))

    @property
    def concentration(self) -> torch.Tensor:
        return self.log_concentration.exp().clamp(_MIN_CONCENTRATION, _MAX_CONCENTRATION)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        present = value > PRESENCE_THRESHOLD
        presence = -torch.nn.functional.binary_cross_entropy_with_logits(
            self.presence_logits,
            present.to(self.presence_logits.dtype).expand_as(self.presence_logits),
            reduction="none",
        ).sum(-1)
        alpha = self.concentration
        zero = torch.zeros((), dtype=alpha.dtype)
        present = present.expand_as(alpha)
        alpha_present = torch.where(present, alpha, zero)
        log_value = torch.where(present, value.clamp_min(PRESENCE_THRESHOLD).log().expand_as(alpha), zero)
        dirichlet = (
            torch.lgamma(alpha_present.sum(-1))
            - torch.where(present, torch.lgamma(alpha), zero).sum(-1)
            + ((alpha_present - 1) * log_value).sum(-1)
        )
        return presence + torch.where(present.sum(-1) > 1, dirichlet, zero)

    def decode(self) -> torch.Tensor:
        """The most probable element set (at least one element) with the Dirichlet mean fractions on it."""
        present = self.presence_logits > 0
        top = torch.nn.functional.one_hot(self.presence_logits.argmax(-1), self.presence_logits.shape[-1]).bool()
        present = present | (top & ~present.any(-1, keepdim=True))
        weights = torch.where(present, self.concentration, torch.zeros((), dtype=self.concentration.dtype))
        return weights / weights.sum(-1, keepdim=True)

    @property
    def mean(self) -> torch.Tensor:
        return self.decode()


class FractionMultinomial(TorchDistribution):
    """The reference decoder: log p(x) = total_count * sum_e x_e log softmax(logits)_e (fractional counts)."""

    arg_constraints = {"logits": constraints.real}
    support = constraints.simplex

    def __init__(self, logits: torch.Tensor, total_count: float = 100.0, validate_args=None) -> None:
        self.logits, self.total_count = logits, float(total_count)
        super().__init__(logits.shape[:-1], logits.shape[-1:], validate_args=False)

    def expand(self, batch_shape, _instance=None):
        return FractionMultinomial(self.logits.expand(torch.Size(batch_shape) + self.event_shape), self.total_count)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return self.total_count * (value * self.logits.log_softmax(-1)).sum(-1)

    def decode(self) -> torch.Tensor:
        """Softmax probabilities: dense, every element gets some fraction (the reference's weakness)."""
        return self.logits.softmax(-1)

    @property
    def mean(self) -> torch.Tensor:
        return self.decode()

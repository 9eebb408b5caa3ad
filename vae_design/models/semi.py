"""How the unlabelled pool reaches the classification head: every route named, each one a choice (``semi`` group).

Routes that always exist (unsupervised statistics of the composition distribution; no label, no gradient):

1. **Descriptor scaling.** The mean and standard deviation of each descriptor are fitted on the labelled training
   and pool compositions together (``AlloyVAE.fit``), so a standardised descriptor means the same on both.
2. **Residualisation of h.** h's least-squares fit on [1, f(x)] is removed; its running average (used at
   evaluation) is updated on every training batch the head sees, pool batches included
   (:class:`~vae_design.models.networks.CompositionEmbedding`).

Routes that carry a training signal from the pool into the head, one per ``semi.method``:

``none``
    The pool trains the encoder and decoder only. In the unlabelled ELBO, y is summed out under q(y | x) = the
    head, held fixed (no gradient), and the model's label prior is the same head, also held fixed. Why held fixed
    on both sides: in training the two calls draw different dropout masks, so q(y | x) != p(y | x) and
    -KL(q(y | x) || p(y | x)) had a gradient into the head, a dropout-consistency regulariser that nobody had
    designed (issue 13: it was the whole of the pool's benefit to the head).
``m2``
    Kingma et al. (NeurIPS 2014) M2: the model's label prior is the class prior pi (from ``prior.class_prior``;
    uniform when null), not a function of x, and the guide's classifier is the head, q(y | x). Per unlabelled alloy

        -L(x) = sum_y q(y | x) [log p(x | y, z) + log p(z) - log q(z | x, y)]_{z ~ q(z | x, y)}
                + sum_y q(y | x) log pi_y + H(q(y | x)),

    and the head's log-likelihood of the labels plays M2's auxiliary classification term (alpha = label_weight).
    ``weight`` scales the gradient of the unlabelled term into the head (values unchanged): 1 is plain M2.
``consistency``
    Pi-model / R-Drop (Laine & Aila, ICLR 2017; Liang et al., NeurIPS 2021), the accidental route made deliberate:
    two views of each pool alloy that keep its identity (independent dropout masks, and each present element's
    fraction multiplied by exp(noise * eps), eps ~ N(0, 1), renormalised: noise 0.05 moves a 20 at.% element by
    about 1 at.%, the distance at which the measured-neighbour update calls two alloys twins), and the head, at
    q(w)'s mean, is asked to agree on them:

        penalty = weight * mean_u 1/2 [KL(p1 || p2) + KL(p2 || p1)],   p_i = p(y | view_i of x_u).
``entropy``
    Entropy minimisation (Grandvalet & Bengio, NeurIPS 2004): the head is asked to be decisive on the pool, which
    moves its decision boundary into low-density regions of composition space:

        penalty = weight * mean_u H(p(y | x_u)).

The ``weak`` group (labels from empirical rules on the pool) is a further, separate route.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from vae_design.errors import InputError

METHODS = ("none", "m2", "consistency", "entropy")


@dataclass(frozen=True)
class SemiSupervision:
    """``method`` (see the module docstring), its ``weight`` (m2: gradient scale into the head in [0, 1];
    consistency, entropy: the penalty's weight per pool alloy, beside the ELBO per alloy) and, for consistency,
    ``noise`` (log-scale standard deviation of the composition perturbation, dimensionless)."""

    # the default, chosen on validation log-loss (issue 13; docs/benchmarks.md#semi-supervision-by-design)
    method: str = "consistency"
    weight: float = 3.0
    noise: float = 0.05

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"semi.method must be one of {', '.join(METHODS)}, got {self.method!r}")
        for key in ("weight", "noise"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InputError(f"semi.{key} must be a number >= 0, got {value!r}")
        if self.method == "m2" and self.weight > 1:
            raise InputError(f"semi.weight for m2 scales a gradient and must be in [0, 1], got {self.weight}")

    def to_dict(self) -> dict:
        return asdict(self)

    def penalty(self, x_u: torch.Tensor | None, log_p: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor | None:
        """The ``consistency`` or ``entropy`` term on a pool batch x_u (N, E), mean per alloy and unweighted, with
        ``log_p`` the head's log-probabilities of compositions (N, K); None for the other methods or no batch."""
        if self.method not in ("consistency", "entropy") or x_u is None or not len(x_u):
            return None
        if self.method == "entropy":
            return entropy(log_p(x_u)).mean()
        # two views: independent dropout masks (train mode) and independent composition noise
        return symmetric_kl(log_p(perturbed(x_u, self.noise)), log_p(perturbed(x_u, self.noise))).mean()


# The ``semi`` config group's options (registered by the CLI as semi=none|m2|consistency|entropy)
PRESETS = {
    # the pool trains the encoder and decoder only; the head learns from the labels (plus the unsupervised
    # descriptor scaling and residualisation fits)
    "none": SemiSupervision("none", 0.0, 0.0),
    # 0.1: plain M2 (weight 1) let the decoder's clusters override the labels on the default data
    "m2": SemiSupervision("m2", 0.1, 0.0),
    # the default: weight 3 had the lowest validation log-loss of 0.3, 1 and 3 at 10 % of the labels
    # (docs/benchmarks.md#semi-supervision-by-design-issue-13)
    "consistency": SemiSupervision(),
    # measured at 10 % of the labels it collapses the head (test AUC 0.68 grouped, 0.56 random): kept as a named
    # option to compare against, not to use
    "entropy": SemiSupervision("entropy", 0.1, 0.0),
}


def perturbed(x: torch.Tensor, noise: float) -> torch.Tensor:
    """Compositions (N, E) with each present element's fraction multiplied by exp(noise * eps), renormalised:
    the element set never changes, so the view is the same alloy measured a little off."""
    if noise == 0:
        return x
    scaled = x * torch.exp(noise * torch.randn_like(x))
    return scaled / scaled.sum(-1, keepdim=True)


def symmetric_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """1/2 [KL(p || q) + KL(q || p)] per row, from log-probabilities (N, K)."""
    return 0.5 * ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(-1)


def entropy(log_p: torch.Tensor) -> torch.Tensor:
    """H(p) per row (nats), from log-probabilities (N, K)."""
    return -(log_p.exp() * log_p).sum(-1)

"""The classification head at its posterior mean, as plain functions of compositions and descriptors.

Every inspection reads the head through this view: the log-odds of a single phase against the multi-phase class,
``eta(x, f) = b + w f + h(x, f)`` with w, b at the mean of q(w), q(b) (with ``model.head_function=gp``, g(f, x) at
its posterior mean in place of h). For two classes this is exactly the head's
logit (and, being linear in w and b, the posterior average of the logit); for the four-class ``phase`` target it is
log(P(BCC) + P(FCC) + P(HCP)) - log P(multi-phase).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vae_design.models.ssvae import PhaseVAE

# Half-width of a 90 % interval of a normal distribution, in standard deviations.
Z90 = 1.6448536269514722


@dataclass
class HeadView:
    """The head of a trained :class:`PhaseVAE` with its coefficients fixed at their posterior mean."""

    vae: PhaseVAE

    def __post_init__(self) -> None:
        self.vae.eval()
        self.w, _ = self.vae.coefficient_posterior()
        self.b, _ = self.vae.intercept_posterior()

    @property
    def descriptors(self) -> tuple[str, ...]:
        return self.vae.config.descriptors

    @property
    def reference_class(self) -> int:
        return self.vae.config.reference_class

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised descriptors (N, D) of compositions x (N, E)."""
        with torch.no_grad():
            return self.vae.head.features(x)

    def logits(self, x: torch.Tensor, features: torch.Tensor, w=None, b=None) -> torch.Tensor:
        """Class logits (N, K); differentiable in x, features, w and b (defaults: the posterior means)."""
        return self.vae.head.logits(x, features, self.w if w is None else w, self.b if b is None else b)

    def log_odds(self, x: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Log-odds of a single phase (N,), natural log."""
        features = self.vae.head.features(x) if features is None else features
        return single_phase_log_odds(self.logits(x, features), self.reference_class)

    @torch.no_grad()
    def probability(self, x: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """P(single phase) (N,) at the posterior mean."""
        return torch.sigmoid(self.log_odds(x, features))


def single_phase_log_odds(logits: torch.Tensor, reference_class: int) -> torch.Tensor:
    """log sum_{k != ref} exp(logit_k) - logit_ref, over the last dim."""
    others = torch.cat([logits[..., :reference_class], logits[..., reference_class + 1 :]], dim=-1)
    return others.logsumexp(-1) - logits[..., reference_class]

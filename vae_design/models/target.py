"""The target factor z_y: a small latent subspace whose prior depends on the class, p(z_y | y).

CCVAE's conditional prior (Joy, Schmon, Torr, Siddharth & Rainforth, ICLR 2021): per class k and latent dimension
d a Normal with mean mu_kd and a learnable scale s_kd,

    p(z_y | y = k) = prod_d Normal(z_yd | mu_kd, s_kd),

and its Bayes classifier, the "diagonal classifier" q(y | z_y) with no parameters of its own,

    q(y = k | z_y) = softmax_k( log pi_k + log p(z_y | y = k) ),

pi the class prior of the head (its intercepts' prior mean). The decoder has no y input, so y reaches the
composition only through z_y: drawing z_y from p(z_y | target) is the model's half of aiming a design at a class
(the other half, and on the default data the larger, is where z_n is drawn: models/nuisance.py), and setting z_y
of an encoded alloy to the mean of another class (:meth:`TargetFactor.class_latent`) is the intervention "this
alloy, but single phase" (measured in docs/benchmarks.md: it moves the decoded alloy too little).

One :class:`TargetFactor` per property: a second property (crystal structure, a hardness band) is a second factor
beside this one, its dimensions concatenated before the nuisance factor's; nothing else in the story changes.
"""

from __future__ import annotations

import pyro.distributions as dist
import torch
from torch import nn


class TargetFactor(nn.Module):
    """p(z_y | y) for one property with ``n_classes`` classes over ``dim`` latent dimensions."""

    MAX_SCALE = 0.5

    def __init__(self, n_classes: int, dim: int) -> None:
        super().__init__()
        self.n_classes, self.dim = n_classes, dim
        # The class means are fixed, spread evenly over [-1, 1] on every dimension (binary: -1 and +1), and the
        # scales learnt but at most MAX_SCALE, so the classes stay at least 4 prior s.d. apart. Learnable means
        # (CCVAE's choice) met in the middle on the default data: q(y | z_y) fell to chance (probe AUC 0.49-0.58).
        start = torch.linspace(-1.0, 1.0, n_classes) if n_classes > 1 else torch.zeros(1)
        self.register_buffer("loc", start[:, None].repeat(1, dim))
        self.raw_scale = nn.Parameter(torch.zeros(n_classes, dim))

    @property
    def scale(self) -> torch.Tensor:
        """Per class and dimension (K, dim), in (0.01, MAX_SCALE] so the density stays bounded and the classes apart."""
        return 0.01 + (self.MAX_SCALE - 0.01) * torch.sigmoid(self.raw_scale)

    def prior(self, y: torch.Tensor) -> dist.Distribution:
        """p(z_y | y) for integer classes y of any shape (enumerated y included): event shape (dim,)."""
        return dist.Normal(self.loc[y], self.scale[y]).to_event(1)

    def log_prob_by_class(self, z_y: torch.Tensor) -> torch.Tensor:
        """log p(z_y | y = k) for every class (N, K), nats."""
        return dist.Normal(self.loc, self.scale).log_prob(z_y[..., None, :]).sum(-1)

    def classifier_logits(self, z_y: torch.Tensor, class_log_prior: torch.Tensor) -> torch.Tensor:
        """The Bayes classifier q(y | z_y) as logits (N, K)."""
        return self.log_prob_by_class(z_y) + class_log_prior

    def class_latent(self, y: torch.Tensor) -> torch.Tensor:
        """The most probable z_y of each class in y (N,) -> (N, dim): the mean of p(z_y | y)."""
        return self.loc[y]

    def sample(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """z_y ~ p(z_y | y) for classes y (N,) -> (N, dim)."""
        noise = torch.randn((len(y), self.dim), generator=generator, device=self.loc.device)
        return (self.loc[y] + self.scale[y] * noise).detach()

    def kl(self, loc: torch.Tensor, scale: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """KL(Normal(loc, scale) || p(z_y | y)) per alloy (N,), nats (closed form)."""
        prior_loc, prior_scale = self.loc[y], self.scale[y]
        ratio = (scale / prior_scale).square()
        return 0.5 * (ratio + ((loc - prior_loc) / prior_scale).square() - 1 - ratio.log()).sum(-1)

"""The head's Gaussian-process term g(x) ~ GP(0, k): a sparse variational GP (SVGP, Hensman et al. 2015) over the
standardised descriptors, with whitened inducing values.

The head's log-odds are f(x) = b + w f_d(x) + g(x) (:class:`~vae_design.models.head.PhaseHead`): the expert-prior
linear model is the GP's mean, g what the labels say beyond it. With M inducing inputs Z (learnt, started at M of the
training alloys) and K_zz = L L^T:

    v ~ Normal(0, I) (K-1, M)                 whitened inducing values, u = L v; q(v) = Normal(m, S S^T)
    g(x) | v ~ Normal(A(x) v, k(x, x) - |A(x)|^2),   A(x) = K_xz L^-T

so far from every inducing input A(x) -> 0 and g(x) falls back to its prior N(0, s^2 + s_c^2): the head's spread
grows there instead of shrinking. An input is the alloy's standardised descriptors f (D) and, with the composition
term (``model.gp_composition``), its mole fractions c (E). The kernel is additive over the descriptors (what beat
the product kernel in a standalone probe on the default data, docs/benchmarks.md), plus a Laplace kernel on the
composition:

    k(a, b) = s^2 sum_d pi_d k_5/2(|f_a,d - f_b,d| / l_d) + s_c^2 exp(-|c_a - c_b|_1 / l_c),  pi = softmax(logits)

with one length-scale l_d and one weight pi_d per descriptor (ARD: pi_d is the descriptor's share of s^2, reported
by ``inspect``). The composition term is the measured-neighbour vote's kernel (models/neighbours.py) inside the
model: it could let g remember an alloy whose descriptors resemble other alloys' (the Cantor alloy), with a spread
that does not fade where descriptors repeat but compositions are new. On the default data the ELBO shrinks s_c^2 to
3-4 % of g's variance, so it is off by default (docs/benchmarks.md). Kernel parameters, Z, m and S are learnt from
the ELBO with the rest of the model; KL(q(v) || p(v)) is
the Pyro site ``process`` of the model and guide. In training the ELBO's sites draw g(x) from q (the conditional
variance included): the SVGP's expected log-likelihood. Elsewhere g is the posterior mean A(x) m unless draws are
asked for (:meth:`HeadProcess.sample` and :meth:`HeadProcess.at`, the head's spread).
"""

from __future__ import annotations

import math

import pyro.distributions as dist
import torch
from torch import nn

JITTER = 1e-4  # added to K_zz's diagonal (relative to s^2) so its Cholesky factor exists in float32


def matern52(distance: torch.Tensor) -> torch.Tensor:
    """Matern-5/2 correlation of scaled distances r >= 0: (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)."""
    root5 = math.sqrt(5.0) * distance
    return (1.0 + root5 + root5.square() / 3.0) * torch.exp(-root5)


class HeadProcess(nn.Module):
    """g(x) for ``n_outputs`` log-odds from ``n_inputs`` standardised descriptors and, where ``n_elements`` > 0,
    the composition over ``n_elements`` elements (the composition term), with ``n_inducing`` inducing inputs.
    Inputs are rows [descriptors, fractions] (N, D + E)."""

    def __init__(self, n_inputs: int, n_outputs: int, n_inducing: int, n_elements: int = 0) -> None:
        super().__init__()
        self.n_descriptors, self.n_elements = n_inputs, n_elements
        # Z; replaced by training alloys (initialise)
        self.inducing = nn.Parameter(torch.randn(n_inducing, n_inputs + n_elements))
        self.log_lengthscale = nn.Parameter(torch.zeros(n_inputs))  # l_d = 1 standard deviation at the start
        self.relevance_logits = nn.Parameter(torch.zeros(n_inputs))
        self.log_variance = nn.Parameter(torch.zeros(()))  # s^2, log-odds^2
        if n_elements:
            # l_c = 0.2 (10 at.% moved, in L1 over mole fractions) and s_c^2 = 1 log-odds^2 at the start
            self.log_composition_scale = nn.Parameter(torch.tensor(math.log(0.2)))
            self.log_composition_variance = nn.Parameter(torch.zeros(()))
        self.loc = nn.Parameter(torch.zeros(n_outputs, n_inducing))  # m: g starts at 0, the linear head alone
        # S's lower triangle; its diagonal through softplus. Started at 0.3 I: a calm start, not the prior's spread.
        self.scale_raw = nn.Parameter(torch.diag_embed(torch.full((n_outputs, n_inducing), -1.05)))

    @torch.no_grad()
    def initialise(self, labelled: torch.Tensor, unlabelled: torch.Tensor, seed: int = 0) -> None:
        """Z <- distinct rows of the standardised inputs of labelled training alloys (N, D + E), in a seeded order, then
        of unlabelled ones where fewer than M labelled alloys differ: the inducing inputs start where labels are."""
        generator = torch.Generator().manual_seed(seed)
        labelled, unlabelled = (torch.unique(rows, dim=0) if len(rows) else rows for rows in (labelled, unlabelled))
        labelled, unlabelled = (rows[torch.randperm(len(rows), generator=generator)] for rows in (labelled, unlabelled))
        if len(labelled) >= len(self.inducing):
            unlabelled = unlabelled[:0]
        elif len(labelled) and len(unlabelled):  # exact matches (cdist's fast path is not exact at 0)
            unlabelled = unlabelled[~(unlabelled[:, None, :] == labelled[None, :, :]).all(-1).any(-1)]
        chosen = torch.cat([labelled, unlabelled])[: len(self.inducing)]
        self.inducing[: len(chosen)] = chosen

    def prior_variance(self) -> torch.Tensor:
        """k(x, x) = s^2 (+ s_c^2 with the composition term): g's prior variance, log-odds^2."""
        variance = self.log_variance.exp()
        return variance + self.log_composition_variance.exp() if self.n_elements else variance

    def kernel(self, a: torch.Tensor, b: torch.Tensor, columns: list[int] | None = None) -> torch.Tensor:
        """k(a, b) (N, M) for inputs a (N, D + C) and b (M, D + E). ``columns``: the C of E elements a's fractions
        cover (a screen's palette; None: all E). b's fractions outside them add sum |b_j| to the L1 distance, as
        a's are 0 there: the same value as over the whole vocabulary, at a fraction of the cost."""
        split = self.n_descriptors
        scaled = (a[:, None, :split] - b[None, :, :split]).abs() / self.log_lengthscale.exp()
        k = self.log_variance.exp() * (matern52(scaled) @ self.relevance_logits.softmax(0))
        if not self.n_elements:
            return k
        fractions = b[:, split:]
        if columns is None:
            distance = torch.cdist(a[:, split:], fractions, p=1.0)
        else:
            inside = fractions[:, columns]
            outside = fractions.abs().sum(-1) - inside.abs().sum(-1)
            distance = torch.cdist(a[:, split:], inside, p=1.0) + outside
        return k + self.log_composition_variance.exp() * torch.exp(-distance / self.log_composition_scale.exp())

    def scale_tril(self) -> torch.Tensor:
        """S (K-1, M, M), lower triangular with a positive diagonal."""
        diagonal = nn.functional.softplus(torch.diagonal(self.scale_raw, dim1=-2, dim2=-1)) + 1e-5
        return torch.tril(self.scale_raw, -1) + torch.diag_embed(diagonal)

    def posterior(self):
        """q(v): Normal(m, S S^T) per output, as a (K-1, M) event."""
        return dist.MultivariateNormal(self.loc, scale_tril=self.scale_tril()).to_event(1)

    def prior(self):
        """p(v) = Normal(0, I), a (K-1, M) event."""
        return dist.Normal(torch.zeros_like(self.loc), 1.0).to_event(2)

    def projection(self, inputs: torch.Tensor, columns: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A(x) = K_xz L^-T (N, M) and the conditional variance k(x, x) - |A(x)|^2 (N,) of inputs (N, D + C)
        (``columns``: :meth:`kernel`)."""
        # float32 without autocast: a bf16-rounded K_zz (mixed-precision training) has no Cholesky factor
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            z, inputs = self.inducing.float(), inputs.float()
            variance = self.prior_variance()
            k_zz = self.kernel(z, z) + JITTER * variance * torch.eye(len(z), dtype=z.dtype, device=z.device)
            chol = torch.linalg.cholesky(k_zz)
            a = torch.linalg.solve_triangular(chol, self.kernel(inputs, z, columns).T, upper=False).T
            # floored at 1e-6 s^2: the square root's gradient at exactly 0 is infinite
            return a, (variance - a.square().sum(-1)).clamp_min(1e-6 * variance.detach())

    def forward(self, inputs: torch.Tensor, v: torch.Tensor | None = None) -> torch.Tensor:
        """g at inputs (N, D + E) -> (..., N, K-1): the posterior mean A(x) m, or, given a draw v (..., K-1, M) of the
        inducing values, A(x) v, plus in training a draw of the conditional variance: a draw of the SVGP's q(g(x)),
        as the ELBO's sites need. Penalties that read the head at its posterior mean (consistency) get the mean."""
        a, conditional = self.projection(inputs)
        g = a @ (self.loc if v is None else v).transpose(-1, -2)
        if self.training and v is not None:
            g = g + conditional.sqrt()[:, None] * torch.randn_like(g)
        return g

    def sample(self, n_samples: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """S draws of the posterior's randomness: inducing values v ~ q(v) (S, K-1, M) and one standard normal per
        draw for the conditional part (S, 1, K-1). One normal per draw, shared by every alloy, keeps each alloy's
        draws independent of the batch it is scored in (each alloy's marginal is the SVGP's, exactly)."""
        noise = torch.randn((n_samples, *self.loc.shape), generator=generator, device=self.loc.device)
        v = self.loc + (self.scale_tril() @ noise.unsqueeze(-1)).squeeze(-1)
        return v, torch.randn((n_samples, 1, self.loc.shape[0]), generator=generator, device=self.loc.device)

    def at(
        self, inputs: torch.Tensor, v: torch.Tensor, normal: torch.Tensor, columns: list[int] | None = None
    ) -> torch.Tensor:
        """g (S, N, K-1) at inputs (N, D + C) for draws (v, normal) of :meth:`sample` (``columns``: :meth:`kernel`)."""
        a, conditional = self.projection(inputs, columns)
        return a @ v.transpose(-1, -2) + conditional.sqrt()[:, None] * normal

    def relevance(self) -> torch.Tensor:
        """Each descriptor's share of the kernel's variance (D,) and, with the composition term, the composition's
        last (D + 1,): pi_d s^2 / k(x, x) and s_c^2 / k(x, x), summing to 1."""
        with torch.no_grad():
            shares = self.relevance_logits.softmax(0) * self.log_variance.exp()
            if self.n_elements:
                shares = torch.cat([shares, self.log_composition_variance.exp()[None]])
            return shares / self.prior_variance()

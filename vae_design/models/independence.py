"""The independence term: each class's aggregate posterior of z matched to the prior p(z) = N(0, I).

For class k, q_k(z) = sum_n a_nk q(z | x_n, y=k) / sum_n a_nk is the distribution of the nuisance factor over the
alloys of that class (a_nk = 1 for labelled alloys of class k, the head's q(y=k | x_n) for unlabelled ones, held
fixed). The term is

    I = sum_k pi_k MMD^2(q_k, p),        pi_k = sum_n a_nk / sum_nk a_nk,

a maximum mean discrepancy (Gretton et al. 2012) between the z drawn for each class and as many draws from the
prior, with the inverse multiquadric kernel k(u, v) = sum_s C_s / (C_s + |u - v|^2), C_s = 2 d s (d = z_dim;
s in 0.1 ... 10), which keeps gradients where a Gaussian kernel's vanish (Tolstikhin et al., Wasserstein
auto-encoders, ICLR 2018). Matching every q_k to the *same* p makes z independent of y (q_0 = q_1 = p): the
label can live only in y, so the decoder must read y to reconstruct an alloy. Matching them to the prior (not
only to each other) is what makes z ~ N(0, I), the sampler's draw, decode into alloys like the training
alloys of the chosen class. A kernel two-sample penalty was chosen over an adversarial classifier on z (CSVAE,
Klys et al. 2018) because it has no inner game to balance on a few hundred labels (VFAE, Louizos et al. 2016;
Lopez et al. 2018 use the same argument for HSIC).
"""

from __future__ import annotations

import torch

KERNEL_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def imq_kernel(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Inverse multiquadric kernel matrix (N, M), summed over ``KERNEL_SCALES``."""
    distances = torch.cdist(u, v).square()
    z_dim = u.shape[-1]
    return sum(2 * z_dim * s / (2 * z_dim * s + distances) for s in KERNEL_SCALES)


def weighted_mmd(z: torch.Tensor, weights: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """MMD^2 between the weighted sample (z (N, d), weights (N,) >= 0) and an unweighted prior sample (M, d).

    sum_ij a_i a_j k(z_i, z_j) [i != j, weights renormalised without the diagonal] - 2 sum_im a_i k(z_i, p_m) / M
    + sum_{m != m'} k(p_m, p_m') / (M (M - 1)): unbiased in the prior part; the weighted part drops the diagonal
    so that a single alloy does not count its self-similarity."""
    a = weights / weights.sum().clamp_min(1e-12)
    within = imq_kernel(z, z)
    pair_weights = a[:, None] * a[None, :]
    off_diagonal = 1 - torch.eye(len(z), device=z.device, dtype=z.dtype)
    pair_weights = pair_weights * off_diagonal
    zz = (pair_weights * within).sum() / pair_weights.sum().clamp_min(1e-12)
    m = len(prior)
    pp = (imq_kernel(prior, prior) * (1 - torch.eye(m, device=z.device, dtype=z.dtype))).sum() / (m * (m - 1))
    zp = (a[:, None] * imq_kernel(z, prior)).sum() / m
    return zz + pp - 2 * zp


def class_prior_mmd(classes: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """The independence term I from one (z (N_k, d), a (N_k,)) pair per class: the latents encoded with y = k and
    their memberships a_nk. The prior sample has as many draws as the class has alloys."""
    total = sum(weights.sum() for _, weights in classes)
    penalty = torch.zeros(())
    for z, weights in classes:
        if len(z) < 2:
            continue  # one draw (or none) says nothing about a distribution
        prior = torch.randn(len(z), z.shape[1], device=z.device, dtype=z.dtype)
        penalty = penalty.to(z) + weights.sum() / total.clamp_min(1e-12) * weighted_mmd(z, weights, prior)
    return penalty

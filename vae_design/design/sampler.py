"""Latents in, practical alloys out: where z comes from, and the constrained decoding of (z, y).

Sources of z (each returns an (N, z_dim) float32 tensor):

* :func:`prior_latents`: z ~ N(0, I), the VAE's prior (seeded);
* :func:`grid_latents`: a regular grid over the first ``dims`` latent axes within +-``span`` prior standard
  deviations, the other axes at 0;
* :func:`around_latents`: z of a seed alloy (its posterior mean) plus N(0, radius^2 I) steps;
* explicit z: any (N, z_dim) array the caller has (the CLI reads a CSV of z columns).

:func:`decode_constrained` decodes with y fixed to the target class and applies :class:`AlloyConstraints` to the
decoder's own element scores (presence logits of the sparse decoder), so forbidden elements are never chosen and
the element count comes from the decoder's preference, not from dropping trace elements afterwards.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vae_design.design.constraints import AlloyConstraints
from vae_design.errors import InputError
from vae_design.models.distributions import SparseComposition


def prior_latents(n: int, z_dim: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn((n, z_dim), generator=generator)


def grid_latents(n: int, z_dim: int, dims: int = 2, span: float = 2.5) -> torch.Tensor:
    """About ``n`` points: ceil(n ** (1 / dims)) per axis over the first ``dims`` axes (the first ``n`` kept)."""
    dims = min(int(dims), z_dim)
    if dims < 1:
        raise InputError(f"latent.grid_dims must be at least 1, got {dims}")
    per_axis = max(2, math.ceil(n ** (1.0 / dims) - 1e-9))
    axis = torch.linspace(-span, span, per_axis)
    mesh = torch.stack(torch.meshgrid(*([axis] * dims), indexing="ij"), dim=-1).reshape(-1, dims)[:n]
    z = torch.zeros(len(mesh), z_dim)
    z[:, :dims] = mesh
    return z


def around_latents(center: torch.Tensor, n: int, radius: float = 0.5, seed: int = 0) -> torch.Tensor:
    """``n`` latents around ``center`` (z_dim,): the first is ``center`` itself."""
    generator = torch.Generator().manual_seed(int(seed))
    steps = torch.randn((n, center.shape[-1]), generator=generator) * radius
    steps[0] = 0.0
    return center[None, :] + steps


def element_scores(distribution) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, fractions) (N, E) from a decoder distribution: positive score = the decoder puts the element in.

    Sparse decoder: presence logits and the fractions over all elements (the masked softmax is taken later, on the
    chosen set). Multinomial decoder: log(p / 0.5 %) as a score, so elements above 0.5 at.% count as present."""
    if isinstance(distribution, SparseComposition):
        return distribution.presence_logits, distribution.fraction_logits.softmax(-1)
    probabilities = distribution.decode()
    return (probabilities / 0.005).log(), probabilities


def soft_composition(distribution, usable: torch.Tensor) -> torch.Tensor:
    """A differentiable relaxation of the decoded composition (N, E): softmax(fraction logits + log P(present))
    over usable elements; equals the hard decoding as presence logits go to +-infinity."""
    if isinstance(distribution, SparseComposition):
        logits = distribution.fraction_logits + torch.nn.functional.logsigmoid(distribution.presence_logits)
    else:
        logits = distribution.logits
    return logits.masked_fill(~usable, float("-inf")).softmax(-1)


@torch.no_grad()
def decode_constrained(
    vae, z: torch.Tensor, y: int | torch.Tensor, constraints: AlloyConstraints, batch: int = 65536
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode latents (N, z_dim) with class ``y`` -> (integer grid steps (N, E), valid (N,)); valid also needs
    descriptors the head can compute (a decoded alloy may pair elements without tabulated data)."""
    counts, valid = [], []
    for start in range(0, len(z), batch):
        part = z[start : start + batch].float()
        classes = torch.as_tensor(
            np.broadcast_to(np.asarray(y, dtype=int), (len(z),))[start : start + len(part)].copy()
        )
        scores, fractions = element_scores(vae.decoded(part, classes))
        c, v = constraints.apply(scores, fractions)
        v &= ~vae.head.descriptors.unsupported(constraints.to_fractions(c))
        counts.append(c)
        valid.append(v)
    if not counts:
        return torch.zeros((0, len(constraints.elements)), dtype=torch.long), torch.zeros(0, dtype=torch.bool)
    return torch.cat(counts), torch.cat(valid)

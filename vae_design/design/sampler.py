"""Latents in, practical alloys out: where z comes from, and the constrained decoding of (z, n).

A latent z is the target factor z_y followed by the nuisance factor z_n (:class:`~vae_design.models.ssvae.PhaseVAE`);
the class of a design is chosen through z_y (drawn from, or set to the mean of, p(z_y | target)), never by a y
input. Helpers for the nuisance part (each returns an (N, d) float32 tensor):

* :func:`grid_latents`: a regular grid over the first ``dims`` axes within +-``span`` prior standard deviations,
  the other axes at 0;
* :func:`around_latents`: a seed alloy's latent (its posterior mean) plus N(0, radius^2 I) steps;
* :func:`element_sizes`: the number of elements each design gets (the decoder's observed input n), spread
  evenly over the sizes the constraints allow.

:func:`decode_constrained` decodes each z with its element count and applies :class:`AlloyConstraints` to the
decoder's own element scores (presence logits of the sparse decoder), so forbidden elements are never chosen and
the set is the n best-scored usable elements.
"""

from __future__ import annotations

import math

import torch

from vae_design.design.constraints import AlloyConstraints
from vae_design.errors import InputError
from vae_design.models.distributions import SparseComposition


def element_sizes(n: int, constraints: AlloyConstraints, seed: int = 0) -> torch.Tensor:
    """Element counts (n,) long drawn evenly (seeded) from the constraints' feasible sizes (min_elements ...
    max_elements): the user chooses the spread of element counts through the constraints, not the latent."""
    sizes = torch.tensor(constraints.feasible_sizes(), dtype=torch.long)
    generator = torch.Generator().manual_seed(int(seed) + 7919)  # not the latents' stream
    return sizes[torch.randint(len(sizes), (n,), generator=generator)]


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
    vae,
    z: torch.Tensor,
    sizes: torch.Tensor,
    constraints: AlloyConstraints,
    batch: int = 65536,
    only: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode latents (N, latent) with element counts ``sizes`` (N,) -> (integer grid steps (N, E), valid (N,));
    valid also needs descriptors the head can compute (a decoded alloy may pair elements without tabulated data).
    ``only`` (N, E) bool: the elements each row may use (a seed's own set, to keep it), on top of the constraints."""
    counts, valid = [], []
    sizes = torch.as_tensor(sizes).expand(len(z))
    for start in range(0, len(z), batch):
        part = z[start : start + batch].float()
        size = sizes[start : start + len(part)]
        scores, fractions = element_scores(vae.decoded(part, size))
        if only is not None:
            scores = scores.masked_fill(~only[start : start + len(part)], float("-inf"))
        c, v = constraints.apply(scores, fractions, size)
        v &= ~vae.head.descriptors.unsupported(constraints.to_fractions(c))
        counts.append(c)
        valid.append(v)
    if not counts:
        return torch.zeros((0, len(constraints.elements)), dtype=torch.long), torch.zeros(0, dtype=torch.bool)
    return torch.cat(counts), torch.cat(valid)

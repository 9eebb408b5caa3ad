"""The latent and invert workflows (the screen workflow is in :mod:`vae_design.design.screen`).

* :func:`latent_designs`: z from the prior (z_y ~ p(z_y | target), z_n ~ N(0, T^2 I)), a grid over z_n, around a
  seed alloy or given; each with an element count; decode under the constraints, re-score each decoded alloy with
  the head, keep the valid ones.
* :func:`invert_path`: from a seed alloy, set its target factor to the target class's (its nuisance factor and
  element count kept: the "flip y" stage), then follow the gradient of the head's log-probability of the target
  class through the differentiable descriptors of the (relaxed) decoded composition, with a pull back to the
  flipped latent, until a decoded alloy is predicted in the target class; every distinct alloy met on the way is a
  row of the path.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from vae_design.design.constraints import GATED, AlloyConstraints
from vae_design.design.sampler import (
    around_latents,
    decode_constrained,
    element_scores,
    element_sizes,
    grid_latents,
    soft_composition,
)
from vae_design.design.scoring import KnownAlloys, batch_figures, join_scored, score
from vae_design.design.settings import InvertSettings, LatentSettings, ScoringSettings
from vae_design.errors import InputError
from vae_design.models.networks import element_count

LATENT_SOURCES = ("prior", "grid", "seed", "given")
Progress = Callable[[int, int], None]


@dataclass
class Designs:
    """A workflow's result: one row per candidate (``table``), batch figures, and the latents behind the rows."""

    table: pd.DataFrame
    figures: dict[str, float] = field(default_factory=dict)
    latents: np.ndarray | None = None


def target_index(model, target: int) -> int:
    if not 0 <= int(target) < len(model.classes):
        classes = ", ".join(f"{k} ({c})" for k, c in enumerate(model.classes))
        raise InputError(f"target must be a class index of this model: {classes}; got {target}")
    return int(target)


def seed_latent(model, formula: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(fractions (E,), z (latent,), predicted class) of a seed alloy; z is its posterior mean."""
    try:
        x = model._x([formula])
    except InputError as error:
        raise InputError(f"seed alloy {formula}: {error}") from None
    y = int(model.predict_proba([formula]).argmax(1)[0])
    return x[0], model.vae.encode(x)[0], y


def latents(
    model,
    n: int,
    constraints: AlloyConstraints,
    target: int = 1,
    source: str = LatentSettings.source,
    seed: int = 0,
    grid_dims: int = LatentSettings.grid_dims,
    span: float = LatentSettings.span,
    seed_alloy: str | None = None,
    radius: float = LatentSettings.radius,
    given: np.ndarray | None = None,
    temperature: float = LatentSettings.temperature,
    nuisance: str = LatentSettings.nuisance,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(latents (n, latent), element counts (n,)) for a ``latent.source``. prior: z_y ~ p(z_y | target), z_n from
    the fitted density or the prior (``nuisance``, spread times ``temperature``); grid: z_y at the target class's
    mean, a grid over z_n; seed: the seed alloy's z with z_y set to the target class's mean, plus steps, at the
    seed's own element count (moved into the constraints' range); given: as given. Element counts other than the
    seed's are spread evenly over the sizes the constraints allow (:func:`element_sizes`)."""
    vae = model.vae
    classes = torch.full((n,), target_index(model, target), dtype=torch.long)
    sizes = element_sizes(n, constraints, seed)
    if source == "prior":
        if not temperature > 0:
            raise InputError(f"latent.temperature must be positive, got {temperature:g}")
        return vae.prior_latents(classes, sizes, seed, temperature, nuisance), sizes
    if source == "grid":
        z_n = grid_latents(n, vae.config.z_dim, grid_dims, span)
        return vae.with_target(
            torch.cat([vae.split(torch.zeros(len(z_n), vae.config.latent_dim))[0], z_n], -1), classes[: len(z_n)]
        ), sizes[: len(z_n)]
    if source == "seed":
        if not seed_alloy:
            raise InputError("latent.source=seed needs seed_alloy=FORMULA")
        x, z, _ = seed_latent(model, str(seed_alloy))
        own = constraints.nearest_sizes(element_count(x[None]))[0]
        flipped = vae.with_target(z[None], classes[:1])[0]
        return around_latents(flipped, n, radius, seed), own.expand(n).clone()
    if source == "given":
        if given is None:
            raise InputError("latent.source=given needs latent.file=Z.csv (one column per latent dimension)")
        given = np.asarray(given, dtype=np.float32)
        width = vae.config.latent_dim
        if given.ndim != 2 or given.shape[1] != width or not len(given):
            raise InputError(
                f"given latents must be at least one row of {width} columns (the model's target_dim + z_dim), got "
                f"shape {given.shape}"
            )
        return torch.as_tensor(given), element_sizes(len(given), constraints, seed)
    raise InputError(f"unknown latent.source '{source}'; choose one of {', '.join(LATENT_SOURCES)}")


def gradient_elements(vae, constraints: AlloyConstraints) -> torch.Tensor:
    """Bool (E,): the allowed elements the relaxed (dense) composition of the gradient may spread over: those with
    every descriptor value and a mixing enthalpy to every other element (a dense mixture touches every pair)."""
    descriptors = vae.head.descriptors
    gaps = set(descriptors.missing_properties) | {e for pair in descriptors.missing_pairs for e in pair}
    return constraints.mask() & torch.tensor([e not in gaps for e in constraints.elements])


def guided_composition(
    vae,
    z: torch.Tensor,
    sizes: torch.Tensor,
    constraints: AlloyConstraints,
    usable: torch.Tensor,
    only: torch.Tensor | None = None,
):
    """The decoded alloy (N, E) that guidance scores, straight-through: the forward value is the constrained hard
    decoding (what ``decode_constrained`` keeps), the gradient is that of the relaxed composition
    (:func:`soft_composition`). Scoring the relaxation itself (forward and backward) lets guidance climb a
    composition that is never decoded: on a default model after 50 steps its P(target) averaged 0.85 while the
    hard decodings' averaged 0.34. Rows whose hard decoding is invalid or lacks descriptor data use the relaxation."""
    distribution = vae.decoded(z, sizes)
    soft = soft_composition(distribution, usable if only is None else usable & only)
    with torch.no_grad():
        scores, fractions = element_scores(distribution)
        if only is not None:  # the elements each row may use (invert.keep_elements), as decode_constrained does
            scores = scores.masked_fill(~only, float("-inf"))
        counts, valid = constraints.apply(scores, fractions, sizes)
        hard = constraints.to_fractions(counts).to(soft.dtype)
        valid &= ~vae.head.descriptors.unsupported(hard)
    return torch.where(valid[:, None], hard + soft - soft.detach(), soft)


def target_log_probability(
    vae,
    z: torch.Tensor,
    sizes: torch.Tensor,
    y: torch.Tensor,
    constraints: AlloyConstraints,
    usable: torch.Tensor,
    only: torch.Tensor | None = None,
) -> torch.Tensor:
    """log P(y | decoded(z, sizes)) under the head's posterior mean (N,), differentiable in z through
    :func:`guided_composition` and its descriptors."""
    x = guided_composition(vae, z, sizes, constraints, usable, only)
    w, b = vae.coefficient_posterior()[0], vae.intercept_posterior()[0]
    log_p = vae.head.logits(x, vae.head.features(x), w, b).log_softmax(-1)
    return log_p.gather(-1, y[:, None])[:, 0]


def ascend(
    vae,
    z: torch.Tensor,
    sizes: torch.Tensor,
    target: int,
    constraints: AlloyConstraints,
    step_size: float,
    pull: float,
    only: torch.Tensor | None = None,
):
    """Latents (detached) before each Adam step up the head's log P(target) of their decoded alloys, each pulled
    toward its start by ``pull * ||z - z_start||^2``; the first yielded is the start itself. Endless: the caller
    stops it."""
    usable = gradient_elements(vae, constraints)
    start = z.detach()
    moved = start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([moved], lr=step_size)
    y = torch.full((len(start),), target, dtype=torch.long)
    while True:
        yield moved.detach().clone()  # a copy: the next step changes moved in place
        optimiser.zero_grad()
        log_p = target_log_probability(vae, moved, sizes, y, constraints, usable, only)
        loss = -log_p.sum() + pull * ((moved - start) ** 2).sum()
        loss.backward()
        optimiser.step()


def guide_latents(
    vae,
    z: torch.Tensor,
    sizes: torch.Tensor,
    target: int,
    constraints: AlloyConstraints,
    steps: int,
    step_size: float = 0.05,
    pull: float = 0.05,
) -> torch.Tensor:
    """z moved ``steps`` steps of :func:`ascend`: the latent workflow's head guidance (0 steps: z unchanged)."""
    if steps <= 0:
        return z
    return next(itertools.islice(ascend(vae, z, sizes, target, constraints, step_size, pull), steps, None))


def scored_batches(
    model,
    z: torch.Tensor,
    sizes: torch.Tensor,
    target: int,
    constraints: AlloyConstraints,
    known: KnownAlloys,
    settings: ScoringSettings | None = None,
    progress: Progress | None = None,
    batch: int = 4096,
    guide_steps: int = 0,
    guide_step_size: float = 0.05,
    guide_pull: float = 0.05,
) -> Iterator[tuple[pd.DataFrame, torch.Tensor, int]]:
    """Decode z ``batch`` latents at a time, each with its element count ``sizes``, under ``constraints`` (after
    ``guide_steps`` of head guidance toward ``target``, see :func:`guide_latents`) and score the valid alloys.
    Yields per batch (the :func:`score` table of its valid alloys with ``latent_index`` first, the batch's latents
    as decoded, the batch's first index)."""
    target = target_index(model, target)
    settings = settings or ScoringSettings()
    for start in range(0, len(z), batch):
        size = sizes[start : start + batch]
        part = guide_latents(
            model.vae, z[start : start + batch], size, target, constraints, guide_steps, guide_step_size, guide_pull
        )
        counts, valid = decode_constrained(model.vae, part, size, constraints)
        table = score(model, counts[valid], constraints.grid, known, settings, target)
        table.insert(0, "latent_index", np.flatnonzero(valid.numpy()) + start)
        yield table, part, start
        if progress:
            progress(min(start + batch, len(z)), len(z))


def with_latents(table: pd.DataFrame, z: torch.Tensor, start: int = 0) -> pd.DataFrame:
    """``table`` with columns z1..zD: row i gets z[latent_index - start]."""
    chosen = z[torch.as_tensor(table["latent_index"].to_numpy(dtype=np.int64) - start)].numpy()
    columns = pd.DataFrame(chosen, columns=[f"z{d + 1}" for d in range(z.shape[1])], index=table.index)
    return pd.concat([table, columns], axis=1)


def latent_designs(
    model,
    z: torch.Tensor,
    sizes: torch.Tensor,
    target: int,
    constraints: AlloyConstraints,
    known: KnownAlloys,
    *args,
    **kwargs,
) -> Designs:
    """Every batch of :func:`scored_batches` (same arguments) in one table (rows in z order, with
    ``target_probability`` and the latent actually decoded, ``z1..zD``; an element column for each element any row
    uses)."""
    parts, decoded = [], []
    for table, part, _ in scored_batches(model, z, sizes, target, constraints, known, *args, **kwargs):
        decoded.append(part)
        parts.append(table)
    parts = [p for p in parts if len(p)] or parts[:1]  # an empty batch adds nothing (concat would warn)
    if not parts:  # no latent at all: an empty table with every column
        empty = torch.zeros((0, len(constraints.elements)), dtype=torch.long)
        parts = [score(model, empty, constraints.grid, known, ScoringSettings(), target_index(model, target))]
        parts[0].insert(0, "latent_index", np.zeros(0, dtype=np.int64))
    z = torch.cat(decoded) if decoded else z
    table = with_latents(join_scored(parts, model.vocabulary.elements), z)
    figures = batch_figures(table, len(z), constraints.elements) if len(table) else {"validity": 0.0}
    return Designs(table, figures, z.numpy())


def invert_path(
    model,
    seed_alloy: str,
    target: int,
    constraints: AlloyConstraints,
    known: KnownAlloys,
    settings: ScoringSettings | None = None,
    walk: InvertSettings | None = None,
    progress: Progress | None = None,
) -> Designs:
    """Rows: the seed (on the grid, unconstrained), its decoding with y flipped to ``target``, then every new
    decoded alloy along the gradient path of ``walk`` (at most ``walk.steps`` Adam steps); ``reached`` marks the
    first alloy with P(target) >= ``walk.threshold``."""
    target = target_index(model, target)
    settings = settings or ScoringSettings()
    walk = walk or InvertSettings()
    steps = walk.steps
    vae = model.vae
    x_seed, z_seed, y_seed = seed_latent(model, seed_alloy)
    size = constraints.nearest_sizes(element_count(x_seed[None]))
    z_flipped = vae.with_target(z_seed[None], target)
    loose = AlloyConstraints(  # the seed as it is, whatever it contains
        **dict.fromkeys(GATED, True),
        min_elements=1,
        max_elements=len(constraints.elements),
        min_fraction=0.0,
        max_fraction=100.0,
        grid=constraints.grid,
        elements=constraints.elements,
    )
    seed_counts = loose.round_to_grid(x_seed[None].double(), x_seed[None] > 0)
    rows = [(seed_counts[0], z_seed.clone(), "seed", 0)]
    seen = set()
    reached = False
    only = None
    if walk.keep_elements:
        only = (x_seed > 0)[None]
        outside = [e for e, kept in zip(constraints.elements, only[0] & ~constraints.mask(), strict=True) if kept]
        if outside:
            raise InputError(f"invert.keep_elements: the seed's {outside[0]} is not allowed by the constraints")
        size = element_count(x_seed[None])
        if int(size) not in constraints.feasible_sizes():
            raise InputError(
                f"invert.keep_elements: the seed has {int(size)} elements, outside what the constraints allow "
                f"({min(constraints.feasible_sizes())}-{max(constraints.feasible_sizes())})"
            )
    path = ascend(vae, z_flipped, size, target, constraints, walk.step_size, walk.pull, only)
    for step, z in zip(range(steps + 1), path, strict=False):
        with torch.no_grad():
            counts, valid = decode_constrained(vae, z, size, constraints, only=only)
        key = tuple(counts[0].tolist())
        if valid[0] and key not in seen:
            seen.add(key)
            rows.append((counts[0], z[0].clone(), "flip y" if step == 0 else "gradient", step))
            x = constraints.to_fractions(counts).float()
            probability = model.neighbours.update(x, vae.class_probabilities(x)[0])[0, target]
            if probability >= walk.threshold:
                reached = True
                break
        if progress:
            progress(step + 1, steps + 1)
    counts = torch.stack([r[0] for r in rows])
    table = score(model, counts, constraints.grid, known, settings, target)
    table.insert(0, "step", [r[3] for r in rows])
    table.insert(1, "stage", [r[2] for r in rows])
    seed_fractions = counts[0].double() / constraints.steps
    table["from_seed"] = ((counts.double() / constraints.steps - seed_fractions).abs().sum(1) * 50).numpy()
    table["reached"] = False
    if reached:
        table.loc[len(table) - 1, "reached"] = True
    z_path = torch.stack([r[1] for r in rows]).numpy()
    for d in range(z_path.shape[1]):
        table[f"z{d + 1}"] = z_path[:, d]
    figures = {
        "reached": float(reached),
        "seed_class": float(y_seed),
        "path_length": float(len(table) - 1),
        "final_distance": float(table["from_seed"].iloc[-1]),
        "final_probability": float(table["target_probability"].iloc[-1]),
    }
    return Designs(table, figures, z_path)

"""Pretraining the head's composition network on cheap continuous targets, before the labels are seen.

The targets are thermodynamic and structural descriptors that hea-bench computes from a composition alone (no
experiment): the mixing enthalpy (Takeuchi-Inoue binary pair table, regular-solution model) and its solid-solution
and elastic parts, the solid-solution Gibbs energy, King's Phi, delta, VEC and Omega. The network h of the head
(:class:`~vae_design.models.networks.CompositionEmbedding`) learns to predict them, through a temporary linear
read-out, over a large pool: the training compositions, the unlabelled pool and compositions enumerated from the
same elements. Its hidden layers are then kept and fine-tuned on the phase labels (its last layer still starts at
zero, so the head starts as the expert-prior linear model).

Labels play no part, so pretraining can use every composition a user has, and the enumerated ones cost nothing
but descriptor evaluations (about 1 ms per composition for all eight targets).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vae_design.errors import InputError
from vae_design.features.cheap_targets import TARGETS, descriptor_targets
from vae_design.models.ssvae import PhaseVAE

# refused when the model is built (api.py) and again when a PhaseVAE without h reaches pretraining
NEEDS_NETWORK = (
    "pretraining needs the head's composition network: set model.head_function=network and model.embedding_hidden > 0"
)


@dataclass(frozen=True)
class Pretraining:
    """How to pretrain (the ``pretrain`` config group, ``pretrain=descriptors``); units: compositions, passes,
    compositions per batch. h learns to predict cheap descriptors computed by hea-bench from composition alone,
    over the training + unlabelled alloys and alloys enumerated from their elements, then is fine-tuned on labels."""

    # dH_mix, dH_ss, dH_elastic, dG_ss (kJ/mol), phi (log1p of King's Phi), delta (%), vec (e/atom), omega (log1p)
    targets: tuple[str, ...] = TARGETS
    enumerated: int = 10000  # alloys enumerated from the data's elements (3-6, near-equimolar), beside the given ones
    epochs: int = 20  # passes over the pretraining pool
    batch_size: int = 512
    learning_rate: float = 3e-3  # AdamW step size while pretraining
    # true: fine-tuning trains only h's last layer on the pretrained hidden layers (few labels cannot undo them);
    # false: all of h. false had the lower validation log-loss at 10 % of the labels (0.326 against 0.360;
    # docs/benchmarks.md); the earlier default, true, had been chosen by reading test AUC.
    freeze: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        unknown = [name for name in self.targets if name not in TARGETS]
        if unknown or not self.targets:
            raise InputError(f"pretrain.targets must name targets from {', '.join(TARGETS)}, got {list(self.targets)}")
        for key in ("epochs", "batch_size"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                raise InputError(f"pretrain.{key} must be a whole number >= 1, got {getattr(self, key)!r}")
        if not isinstance(self.enumerated, int) or self.enumerated < 0:
            raise InputError(f"pretrain.enumerated must be a whole number >= 0, got {self.enumerated!r}")
        if not self.learning_rate > 0:
            raise InputError(f"pretrain.learning_rate must be positive, got {self.learning_rate}")


def enumerate_compositions(
    compositions: Sequence[Mapping[str, float]], n: int, seed: int = 0
) -> list[dict[str, float]]:
    """``n`` random alloys like the given ones: 3-6 elements drawn by how often each occurs in ``compositions``,
    near-equimolar fractions (Dirichlet, concentration 4) rounded to 0.5 at.% (at least 0.5 at.%) and renormalised."""
    counts: dict[str, int] = {}
    for composition in compositions:
        for element in composition:
            counts[element] = counts.get(element, 0) + 1
    elements = sorted(counts)
    if len(elements) < 3 or n == 0:
        return []
    weights = np.array([counts[e] for e in elements], dtype=float)
    rng = np.random.default_rng(seed)
    enumerated = []
    for _ in range(n):
        k = int(rng.integers(3, min(6, len(elements)) + 1))
        chosen = rng.choice(len(elements), size=k, replace=False, p=weights / weights.sum())
        fractions = np.maximum(np.round(rng.dirichlet(np.full(k, 4.0)) * 200) / 200, 0.005)
        fractions = fractions / fractions.sum()
        enumerated.append({elements[i]: float(f) for i, f in zip(chosen, fractions, strict=True)})
    return enumerated


def pretrain_head(
    vae: PhaseVAE, x: torch.Tensor, targets: np.ndarray, settings: Pretraining, seed: int = 0
) -> dict[str, float]:
    """Fit h's hidden layers (with a temporary read-out) to the standardised ``targets`` (N, T) of compositions
    ``x`` (N, E) by masked mean squared error; returns ``pretrain/*`` figures (R^2 on a held-out tenth)."""
    embedding = vae.head.embedding
    if embedding is None:
        raise InputError(NEEDS_NETWORK)
    started = time.perf_counter()
    y = torch.as_tensor(targets, dtype=torch.float32)
    known = torch.isfinite(y)
    keep = known.any(1)
    x, y, known = x[keep], y[keep], known[keep]
    mean = torch.nanmean(y, 0)
    std = torch.sqrt(torch.nanmean((y - mean) ** 2, 0)).clamp_min(1e-8)
    # standardised, and clipped so a few extreme alloys (a cancelling enthalpy) do not dominate the squared error
    y = torch.where(known, ((y - mean) / std).clamp(-5, 5), torch.zeros_like(y))
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    held_out, fitted = order[: len(x) // 10], order[len(x) // 10 :]
    with torch.no_grad():
        features = vae.head.features(x)
    trunk = embedding.net[:-1]
    hidden = embedding.net[-1].in_features
    readout = torch.nn.Linear(hidden, y.shape[1])
    inputs = torch.cat([x, features], -1) if embedding.sees_composition else features
    optimizer = torch.optim.AdamW([*trunk.parameters(), *readout.parameters()], lr=settings.learning_rate)
    trunk.train()
    for _ in range(settings.epochs):
        for batch in fitted[torch.randperm(len(fitted), generator=generator)].split(settings.batch_size):
            error = (readout(trunk(inputs[batch])) - y[batch]) ** 2
            loss = (error * known[batch]).sum() / known[batch].sum().clamp_min(1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    trunk.eval()  # no dropout in the held-out figure
    with torch.no_grad():
        predicted = readout(trunk(inputs[held_out]))
        mask = known[held_out]
        residual = ((predicted - y[held_out]) ** 2 * mask).sum(0)
        total = ((y[held_out] - (y[held_out] * mask).sum(0) / mask.sum(0).clamp_min(1)) ** 2 * mask).sum(0)
        # R^2 per target; NaN for a target without held-out values (it cannot be judged)
        r2 = torch.where(mask.sum(0) > 1, 1 - residual / total.clamp_min(1e-8), torch.nan)
    trunk.train()
    # The head already reads delta, vec, dH_mix and omega: those four are easy, and the mean R^2 flatters;
    # dH_ss, dH_elastic, dG_ss and phi are what the network has to learn.
    return {
        "pretrain/seconds": time.perf_counter() - started,
        "pretrain/compositions": float(len(x)),
        "pretrain/r2": float(r2.nanmean()),
    } | {f"pretrain/r2_{name}": float(value) for name, value in zip(settings.targets, r2.tolist(), strict=True)}


def pretrain_on(
    vae: PhaseVAE, vocabulary, compositions: Sequence[Mapping[str, float]], settings: Pretraining, seed: int = 0
) -> dict[str, float]:
    """Pretrain ``vae``'s head on ``compositions`` (labels unused) plus ``settings.enumerated`` alloys enumerated
    from their elements; alloys the model's descriptors cannot describe are left out."""
    pool = [*compositions, *enumerate_compositions(compositions, settings.enumerated, seed)]
    x = vocabulary.to_tensor(pool)
    usable = ~vae.head.descriptors.unsupported(x.double())
    pool = [c for c, ok in zip(pool, usable.tolist(), strict=True) if ok]
    return pretrain_head(vae, x[usable], descriptor_targets(pool, settings.targets), settings, seed)


def freeze_pretrained(vae: PhaseVAE, settings: Pretraining) -> None:
    """With ``settings.freeze``, fine-tuning leaves h's pretrained hidden layers as they are (also after a resume:
    whether a weight trains is not part of a checkpoint)."""
    for parameter in vae.head.embedding.net[:-1].parameters():
        parameter.requires_grad_(not settings.freeze)

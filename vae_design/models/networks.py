"""Plain torch networks of the VAE: descriptor scaling, the encoder q(z | x, y), the decoders p(x | y, z) and the
composition-embedding part of the classification head. No Pyro, no config objects: explicit typed arguments."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import torch
from torch import nn

from vae_design.features.descriptors import DESCRIPTOR_NAMES, OMEGA_CAP
from vae_design.models.distributions import PRESENCE_THRESHOLD, FractionMultinomial, SparseComposition

DECODERS = ("sparse", "multinomial")


def mlp(sizes: Sequence[int], dropout: float = 0.0) -> nn.Sequential:
    """Linear layers with SiLU (and optional dropout) between them; no activation after the last one."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def broadcast_cat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate on the last dim after broadcasting the leading dims (enumerated y has an extra leading dim)."""
    shape = torch.broadcast_shapes(*(t.shape[:-1] for t in tensors))
    return torch.cat([t.expand(*shape, t.shape[-1]) for t in tensors], dim=-1)


class DescriptorScaler(nn.Module):
    """Raw descriptors (units as in ``DESCRIPTOR_NAMES``) -> the head's standardised inputs.

    omega is replaced by log1p(min(omega, 1e4)) before standardising; mean and std are fitted on training alloys
    and saved with the model (buffers), so predictions on new data use the training scale.
    """

    def __init__(self, names: Sequence[str], mean: torch.Tensor | None = None, std: torch.Tensor | None = None):
        super().__init__()
        unknown = [n for n in names if n not in DESCRIPTOR_NAMES]
        assert not unknown, f"unknown descriptors {unknown}"
        self.names = tuple(names)
        self.register_buffer("columns", torch.tensor([DESCRIPTOR_NAMES.index(n) for n in names]))
        self.register_buffer("mean", torch.zeros(len(names)) if mean is None else mean.float())
        self.register_buffer("std", torch.ones(len(names)) if std is None else std.float())
        self._omega = self.names.index("omega") if "omega" in self.names else None

    def transform(self, raw: torch.Tensor) -> torch.Tensor:
        """Select the head's descriptors from the (N, 9) raw matrix and log-transform omega (not standardised)."""
        values = raw[..., self.columns].to(self.mean.dtype)
        if self._omega is not None:
            omega = torch.log1p(values[..., self._omega].clamp(0, OMEGA_CAP))
            values = torch.cat([values[..., : self._omega], omega[..., None], values[..., self._omega + 1 :]], -1)
        return values

    def fit(self, raw: torch.Tensor) -> DescriptorScaler:
        values = self.transform(raw)
        self.mean.copy_(values.mean(0))
        self.std.copy_(values.std(0).clamp_min(1e-8))
        return self

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return (self.transform(raw) - self.mean) / self.std


class FeatureMemo:
    """The features of the last few input tensors, keyed by the tensor itself (identity and in-place version) and
    the scaler's state (loading or refitting it changes its buffers' versions); a weak reference checks that an id
    was not reused by a new tensor. Not pickled or copied: a copy starts empty."""

    SIZE = 4  # a step alternates labelled and unlabelled batches; validation and logging add one or two

    def __init__(self) -> None:
        self.entries: dict[tuple, tuple[weakref.ref, torch.Tensor]] = {}

    def get(self, x: torch.Tensor, scaler: nn.Module, compute) -> torch.Tensor:
        key = (id(x), x._version, x.dtype, id(scaler.mean), scaler.mean._version, scaler.std._version)
        hit = self.entries.get(key)
        if hit is not None and hit[0]() is x:
            return hit[1]
        value = compute(x)
        self.entries[key] = (weakref.ref(x), value)
        while len(self.entries) > self.SIZE:
            self.entries.pop(next(iter(self.entries)))
        return value

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.entries = {}

    def __deepcopy__(self, memo: dict) -> FeatureMemo:
        return FeatureMemo()


class Encoder(nn.Module):
    """q(z | x, y): a diagonal Normal from composition, element presence, the class and (``n_descriptors`` > 0)
    the head's standardised descriptors.

    Presence indicators are given explicitly: the element set is what the decoder most needs from z, and a
    0/1 input makes it linearly available (doubled the element sets recovered after 20 epochs in a test).
    """

    def __init__(self, n_elements: int, n_descriptors: int, n_classes: int, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.sees_descriptors = n_descriptors > 0
        self.net = mlp([2 * n_elements + n_descriptors + n_classes, hidden, hidden, 2 * z_dim])

    def forward(self, x: torch.Tensor, features: torch.Tensor, y_onehot: torch.Tensor):
        present = (x > PRESENCE_THRESHOLD).to(x.dtype)
        inputs = [x, present, features, y_onehot] if self.sees_descriptors else [x, present, y_onehot]
        loc, raw_scale = self.net(broadcast_cat(inputs)).chunk(2, dim=-1)
        return loc, nn.functional.softplus(raw_scale) + 1e-4


class SparseDecoder(nn.Module):
    """p(x | y, z) as a :class:`SparseComposition`: element presence logits and fraction logits."""

    def __init__(self, n_elements: int, n_classes: int, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = mlp([n_classes + z_dim, hidden, hidden, 2 * n_elements])

    def forward(self, y_onehot: torch.Tensor, z: torch.Tensor) -> SparseComposition:
        presence_logits, fraction_logits = self.net(broadcast_cat([y_onehot, z])).chunk(2, dim=-1)
        return SparseComposition(presence_logits, fraction_logits)


class MultinomialDecoder(nn.Module):
    """p(x | y, z) as the reference's multinomial over elements (100 atoms)."""

    def __init__(self, n_elements: int, n_classes: int, z_dim: int, hidden: int, total_count: float = 100.0) -> None:
        super().__init__()
        self.total_count = total_count
        self.net = mlp([n_classes + z_dim, hidden, hidden, n_elements])

    def forward(self, y_onehot: torch.Tensor, z: torch.Tensor) -> FractionMultinomial:
        return FractionMultinomial(self.net(broadcast_cat([y_onehot, z])), self.total_count)


def make_decoder(kind: str, n_elements: int, n_classes: int, z_dim: int, hidden: int) -> nn.Module:
    if kind == "sparse":
        return SparseDecoder(n_elements, n_classes, z_dim, hidden)
    if kind == "multinomial":
        return MultinomialDecoder(n_elements, n_classes, z_dim, hidden)
    raise ValueError(f"decoder must be one of {DECODERS}, got {kind!r}")


class CompositionEmbedding(nn.Module):
    """The head's flexible part h: an MLP on (composition, standardised descriptors) adding to each class log-odds.

    Its last layer starts at zero, so an untrained head is exactly the expert-prior linear model.

    h is *residualised* on the descriptors: its least-squares fit on [1, f(x)] is subtracted, so h cannot carry a
    linear descriptor effect. Without this the coefficients w are not identified (h can cancel any w, and a wrong
    expert prior is never overridden by data: measured, delta stayed +0.8 under a wrong-sign prior at full labels).
    With it, each coefficient is *the* linear effect of its descriptor, and its posterior means what it says.
    Like batch normalisation, the fit is the batch's in training (gradients flow through it) and a running
    average at evaluation.
    """

    def __init__(
        self, n_elements: int, n_descriptors: int, n_outputs: int, hidden: int, dropout: float, momentum: float = 0.05
    ) -> None:
        super().__init__()
        self.sees_composition = n_elements > 0
        self.momentum = momentum
        self.net = mlp([n_elements + n_descriptors, hidden, hidden, n_outputs], dropout=dropout)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        # rows: intercept, then one per descriptor; columns: outputs (K - 1 class log-odds)
        self.register_buffer("projection", torch.zeros(n_descriptors + 1, n_outputs))

    def forward(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        h = self.net(torch.cat([x, features], dim=-1) if self.sees_composition else features)
        design = torch.cat([torch.ones_like(features[:, :1]), features], dim=-1)
        if self.training and len(h) >= 2 * design.shape[1]:
            # ridge keeps the solve stable when a batch barely varies in some descriptor
            gram = design.T @ design + 1e-3 * len(h) * torch.eye(design.shape[1], device=h.device, dtype=h.dtype)
            beta = torch.linalg.solve(gram, design.T @ h)
            with torch.no_grad():
                self.projection.lerp_(beta.detach(), self.momentum)
        else:
            beta = self.projection
        return h - design @ beta

"""Plain torch networks of the VAE: descriptor scaling, the encoder q(z | x), the decoders p(x | z, n) and the
composition-embedding part of the classification head. No Pyro, no config objects: explicit typed arguments.

z is the whole latent (target factor z_y, then nuisance factor z_n); n is the alloy's number of elements, an
observed input of the decoder (see :func:`element_count`)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import torch
from torch import nn

from vae_design.features.descriptors import DESCRIPTOR_NAMES, OMEGA_CAP
from vae_design.models.distributions import PRESENCE_THRESHOLD, FractionMultinomial, SparseComposition

DECODERS = ("sparse", "staged", "multinomial")
# Element counts the decoder tells apart (one-hot 1 ... MAX_COUNT; larger counts share the last column).
MAX_COUNT = 10


def element_count(x: torch.Tensor) -> torch.Tensor:
    """Number of elements present in each composition (N, E) -> (N,) long."""
    return (x > PRESENCE_THRESHOLD).sum(-1)


def count_onehot(counts: torch.Tensor) -> torch.Tensor:
    """Element counts (N,) -> one-hot (N, MAX_COUNT) float."""
    return nn.functional.one_hot(counts.long().clamp(1, MAX_COUNT) - 1, MAX_COUNT).float()


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
    """q(z | x): a diagonal Normal over the whole latent (target and nuisance factor) from composition, element
    presence and (``n_descriptors`` > 0) the head's standardised descriptors. No y input: the class reaches the
    latent only through the target factor's prior, so one pass per alloy serves every class.

    Presence indicators are given explicitly: the element set is what the decoder most needs from z, and a
    0/1 input makes it linearly available (doubled the element sets recovered after 20 epochs in a test).
    """

    def __init__(self, n_elements: int, n_descriptors: int, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.sees_descriptors = n_descriptors > 0
        self.net = mlp([2 * n_elements + n_descriptors, hidden, hidden, 2 * z_dim])

    def forward(self, x: torch.Tensor, features: torch.Tensor):
        present = (x > PRESENCE_THRESHOLD).to(x.dtype)
        inputs = [x, present, features] if self.sees_descriptors else [x, present]
        loc, raw_scale = self.net(torch.cat(inputs, dim=-1)).chunk(2, dim=-1)
        return loc, nn.functional.softplus(raw_scale) + 1e-4


class ClassDecoder(nn.Module):
    """Decoder outputs (N, n_out) from latents z (N, latent), element counts (N,) and class weights (N, K): a shared
    trunk on (z, one-hot count), one output layer per class, mixed by the weights.

    The weights are q(y | z_y), the target factor's own reading of the class (models/target.py), so the class
    reaches the composition only through z_y. One output layer per class is what makes the decoder unable to ignore
    it: the single-phase layer is trained only on alloys the labels and the head call single phase, so whatever z_n
    it is given, it decodes an alloy of that kind. (A single layer reading a class input learnt to ignore it: on the
    default data the same z decoded with either class differed by 2.5 at.%.)"""

    def __init__(self, z_dim: int, hidden: int, n_out: int, n_classes: int) -> None:
        super().__init__()
        self.n_out, self.n_classes = n_out, n_classes
        self.trunk = nn.Sequential(mlp([z_dim + MAX_COUNT, hidden, hidden]), nn.SiLU())
        self.out = nn.Linear(hidden, n_out * n_classes)

    def forward(self, z: torch.Tensor, counts: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
        per_class = self.out(self.trunk(torch.cat([z, count_onehot(counts)], -1)))
        per_class = per_class.reshape(*per_class.shape[:-1], self.n_classes, self.n_out)
        return (class_weights[..., None] * per_class).sum(-2)


class SparseDecoder(nn.Module):
    """p(x | z, n) as a :class:`SparseComposition`: element presence logits and fraction logits; the decoded set
    has the n elements of highest presence."""

    def __init__(self, n_elements: int, z_dim: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.net = ClassDecoder(z_dim, hidden, 2 * n_elements, n_classes)

    def forward(self, z: torch.Tensor, counts: torch.Tensor, class_weights: torch.Tensor) -> SparseComposition:
        presence_logits, fraction_logits = self.net(z, counts, class_weights).chunk(2, dim=-1)
        return SparseComposition(presence_logits, fraction_logits, sizes=counts)


class StagedDecoder(nn.Module):
    """p(x | z_y, z_n, n) in two stages, as a :class:`SparseComposition`: the element presence logits read the
    target factor z_y and the count n alone, the fraction logits the whole latent.

    Why: in these labels the phase is mostly a property of the element set, and a decoder that may read the set
    from z_n lets z_y go unused (the sparse decoder moved an alloy by a median of 1 at.% when z_y changed class).
    Here z_y is the only way to the set, so the class, through p(z_y | y), chooses the elements, and z_n keeps what
    is left: the fractions on them."""

    def __init__(self, n_elements: int, z_dim: int, hidden: int, n_classes: int, target_dim: int) -> None:
        super().__init__()
        self.target_dim = target_dim
        self.presence = ClassDecoder(target_dim, hidden, n_elements, n_classes)
        self.fractions = ClassDecoder(z_dim, hidden, n_elements, n_classes)

    def forward(self, z: torch.Tensor, counts: torch.Tensor, class_weights: torch.Tensor) -> SparseComposition:
        presence_logits = self.presence(z[..., : self.target_dim], counts, class_weights)
        return SparseComposition(presence_logits, self.fractions(z, counts, class_weights), sizes=counts)


class MultinomialDecoder(nn.Module):
    """p(x | z, n) as the reference's multinomial over elements (100 atoms); n is an input, the decoding stays
    dense."""

    def __init__(self, n_elements: int, z_dim: int, hidden: int, n_classes: int, total_count: float = 100.0) -> None:
        super().__init__()
        self.total_count = total_count
        self.net = ClassDecoder(z_dim, hidden, n_elements, n_classes)

    def forward(self, z: torch.Tensor, counts: torch.Tensor, class_weights: torch.Tensor) -> FractionMultinomial:
        return FractionMultinomial(self.net(z, counts, class_weights), self.total_count)


def make_decoder(kind: str, n_elements: int, z_dim: int, hidden: int, n_classes: int, target_dim: int) -> nn.Module:
    """The decoder ``kind`` for latents of ``z_dim`` dimensions, the first ``target_dim`` the target factor."""
    if kind == "sparse":
        return SparseDecoder(n_elements, z_dim, hidden, n_classes)
    if kind == "staged":
        return StagedDecoder(n_elements, z_dim, hidden, n_classes, target_dim)
    if kind == "multinomial":
        return MultinomialDecoder(n_elements, z_dim, hidden, n_classes)
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

"""The classification head's deterministic parts (:class:`PhaseHead`: descriptors, their scaling, the flexible
term beside the linear model (the composition network h, or the Gaussian process g) and the expert prior as
buffers) and the architecture record every model is built from (:class:`VAEConfig`). The Pyro story that uses
them is in :mod:`vae_design.models.ssvae`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from vae_design.features.descriptors import Descriptors
from vae_design.models.gp import HeadProcess
from vae_design.models.networks import CompositionEmbedding, DescriptorScaler, FeatureMemo
from vae_design.models.priors import HeadPrior
from vae_design.models.semi import SemiSupervision
from vae_design.models.settings import ModelSettings


@dataclass(frozen=True, kw_only=True)
class VAEConfig(ModelSettings):
    """Architecture of one model: the user's :class:`ModelSettings` plus what the data and the prior decide. Saved
    in the bundle, so a loaded model rebuilds itself without a config file."""

    elements: tuple[str, ...]
    classes: tuple[str, ...] = ("multi-phase", "single phase")
    reference_class: int = 0  # the class whose log-odds are fixed at 0 (multi-phase)
    # How the unlabelled pool reaches the head: SemiSupervision.to_dict() (models/semi.py). Plain M2 lets the
    # decoder's clusters override the labels: on the default data val AUC fell from 0.92 to 0.80 within three epochs.
    semi: dict = field(default_factory=lambda: SemiSupervision().to_dict())
    prior: dict = field(default_factory=dict)  # HeadPrior.to_dict()

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def latent_dim(self) -> int:
        """Dimensions of the whole latent: the target factor's, then the nuisance factor's."""
        return self.target_dim + self.z_dim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> VAEConfig:
        tuples = {k: tuple(values[k]) for k in ("elements", "classes", "descriptors") if k in values}
        return cls(**{**values, **tuples})


class PhaseHead(nn.Module):
    """The deterministic parts of the classification head: descriptors, their scaling, h or g, and the prior."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        prior = HeadPrior.from_dict(config.prior, config.descriptors, config.classes)
        self.descriptors = Descriptors(config.elements)
        self.scaler = DescriptorScaler(config.descriptors)
        self._memo = FeatureMemo()
        self.reference_class = config.reference_class
        self.n_classes = config.n_classes
        n_out = config.n_classes - 1
        means, scales = prior.coefficient_tensors(config.descriptors, config.classes, config.reference_class)
        self.register_buffer("coefficient_mean", means)
        self.register_buffer("coefficient_scale", scales)
        self.register_buffer("intercept_mean", prior.intercept_means(config.n_classes, config.reference_class))
        self.register_buffer("intercept_scale", torch.full((n_out,), prior.intercept_scale))
        # log pi: the class prior as log-probabilities (K,), M2's label prior p(y) for unlabelled alloys
        self.register_buffer("class_log_prior", self._with_reference(self.intercept_mean).log_softmax(-1))
        self.embedding = (
            CompositionEmbedding(
                len(config.elements) if config.embedding_sees_composition else 0,
                len(config.descriptors),
                n_out,
                config.embedding_hidden,
                config.dropout,
            )
            if config.embedding_hidden > 0 and config.head_function == "network"
            else None
        )
        self.process = (
            HeadProcess(
                len(config.descriptors),
                n_out,
                config.gp_inducing,
                len(config.elements) if config.gp_composition else 0,
            )
            if config.head_function == "gp"
            else None
        )

    @torch.no_grad()
    def fit_inputs(self, x_train: torch.Tensor, x_pool: torch.Tensor, seed: int, inducing: bool = True) -> None:
        """Fit the descriptor scaling to every composition seen in training (labels not needed; val and test
        excluded) and, with a Gaussian process and ``inducing``, start its inducing inputs at those alloys (a warm
        start passes False: its inducing values belong to the inducing inputs it loaded)."""
        self.scaler.fit(self.descriptors(torch.cat([x_train, x_pool]).double()).float())
        if self.process is not None and inducing:
            self.process.initialise(self.process_inputs(x_train), self.process_inputs(x_pool), seed)

    def process_inputs(self, x: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """The Gaussian process's inputs (N, D [+ E]): the standardised descriptors, then, with its composition
        term, the mole fractions x (models/gp.py)."""
        features = self.features(x) if features is None else features
        return torch.cat([features, x.to(features.dtype)], -1) if self.process.n_elements else features

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised descriptors of compositions x (N, E) -> (N, D).

        A pure function of x and the scaler: one training step asks for the same batch's features about eight
        times (model, guide, pool term, logged terms), so they are computed once per batch (:class:`FeatureMemo`).
        An x that requires a gradient (latent guidance differentiates through the descriptors) is never memoised.
        """
        if x.requires_grad:
            return self._features(x)
        return self._memo.get(x, self.scaler, self._features)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.scaler(self.descriptors(x.double()).float())

    def logits(
        self,
        x: torch.Tensor,
        features: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor,
        v: torch.Tensor | None = None,
        normal: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Class logits (..., N, K); w (..., K-1, D), b (..., K-1) may carry leading sample dims, and so may the
        Gaussian process's inducing values v (..., K-1, M) (None: its posterior mean; models/gp.py). Given also
        ``normal``, (v, normal) are S posterior draws of :meth:`posterior_draws` and g is drawn from its posterior,
        the conditional variance included, so that the head's spread grows away from the data."""
        eta = b.unsqueeze(-2) + features @ w.transpose(-1, -2)
        if self.embedding is not None:
            eta = eta + self.embedding(x, features)
        if self.process is not None:
            inputs = self.process_inputs(x, features)
            eta = eta + (self.process(inputs, v) if normal is None else self.process.at(inputs, v, normal))
        return self._with_reference(eta)

    def posterior_draws(self, n_samples: int, generator: torch.Generator) -> tuple:
        """S draws (v, normal) of g's posterior for :meth:`logits` (:meth:`HeadProcess.sample`); (None, None)
        without a Gaussian process, so that callers pass them on either way."""
        return (None, None) if self.process is None else self.process.sample(n_samples, generator)

    def _with_reference(self, eta: torch.Tensor) -> torch.Tensor:
        """(..., K-1) log-odds -> (..., K) logits with the reference class's fixed at 0."""
        zero = torch.zeros(*eta.shape[:-1], 1, dtype=eta.dtype, device=eta.device)
        return torch.cat([eta[..., : self.reference_class], zero, eta[..., self.reference_class :]], dim=-1)

"""The semi-supervised, disentangled VAE (Pyro): generative story, variational family, and the classification head.

Generative story (``Model``), for alloys n with composition x_n (mole fractions over the element vocabulary):

    w ~ Normal(m, s)                        head coefficients per descriptor; m, s: the expert prior (configs/prior)
    b ~ Normal(logit class prior, s_b)      head intercepts
    y_n | x_n, w, b ~ Categorical(softmax(eta_n)),   eta_n = b + w f(x_n) + h(x_n, f(x_n))     (target factor)
    z_n ~ Normal(0, I)          (nuisance factor; its KL term weighted by kl_weight, a beta-VAE)
    x_n | y_n, z_n ~ SparseComposition(decoder(y_n, z_n))   (or the reference's multinomial)

f(x) are the standardised physics descriptors (differentiable, computed from x), h a small composition network
(its last layer starts at zero: an untrained head *is* the expert-prior logistic model) whose linear fit on the
descriptors is removed, so the descriptors' linear effects live in w alone and w's posterior is identified.
The head is a Bayesian observation model p(y | f(x), w) whose prior on w is the expert's; for unlabelled alloys the
label prior is the head held fixed, or under ``semi=m2`` the class prior pi (:mod:`vae_design.models.semi` names
every route by which the pool reaches the head). y_n is observed for labelled alloys (its log-likelihood weighted by
``label_weight``) and summed out exactly for unlabelled ones. Where empirical rules agree on an unlabelled alloy
(:mod:`vae_design.data.weak_labels`, ``weak=rules``), a factor exp(-scale * GCE(p(y | x), y_weak)) adds their verdict
as a noisy label under a bounded loss; ``weak = (scale, q)``. The model is conditional on x in the label prior
(x appears on both sides), as in Kingma's M2 with a discriminative prior; the objective is an ELBO of
p(y, x | x-features), plus the weak-label factor when there is one (an unnormalised term, so then not a bound).

Variational family (``Guide``):

    q(w) q(b) = Normal(w_loc, w_scale) Normal(b_loc, b_scale)      mean-field posterior of the head
    q(y_n | x_n) = Categorical(softmax(eta_n(w)))                   the head itself, enumerated (TraceEnum_ELBO)
    q(z_n | x_n, y_n) = Normal(encoder(x_n, f(x_n), y_n))

q(y | x) receives the unlabelled ELBO's gradient only under ``semi=m2`` (scaled by ``semi.weight``); the other
methods add their own term on the pool (``PhaseVAE.pool_penalty``). The head's posterior (q(w)) is what
``inspect`` reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.nn import PyroModule, PyroParam
from torch import nn
from torch.distributions import constraints

from vae_design.features.descriptors import Descriptors
from vae_design.models.independence import class_prior_mmd
from vae_design.models.networks import CompositionEmbedding, DescriptorScaler, Encoder, FeatureMemo, make_decoder
from vae_design.models.priors import HeadPrior
from vae_design.models.semi import SemiSupervision
from vae_design.models.settings import ModelSettings

# Parameters live in the modules, not Pyro's global param store, so that Lightning's optimizer and checkpoints see
# every parameter. Pyro reads the setting when a PyroModule is built: set once, where the PyroModules are defined.
pyro.settings.set(module_local_params=True)


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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> VAEConfig:
        tuples = {k: tuple(values[k]) for k in ("elements", "classes", "descriptors") if k in values}
        return cls(**{**values, **tuples})


class PhaseHead(nn.Module):
    """The deterministic parts of the classification head: descriptors, their scaling, h, and the prior."""

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
            if config.embedding_hidden > 0
            else None
        )

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

    def logits(self, x: torch.Tensor, features: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Class logits (..., N, K); w (..., K-1, D), b (..., K-1) may carry leading sample dims."""
        eta = b.unsqueeze(-2) + features @ w.transpose(-1, -2)
        if self.embedding is not None:
            eta = eta + self.embedding(x, features)
        return self._with_reference(eta)

    def _with_reference(self, eta: torch.Tensor) -> torch.Tensor:
        """(..., K-1) log-odds -> (..., K) logits with the reference class's fixed at 0."""
        zero = torch.zeros(*eta.shape[:-1], 1, dtype=eta.dtype, device=eta.device)
        return torch.cat([eta[..., : self.reference_class], zero, eta[..., self.reference_class :]], dim=-1)


def _scale_gradient(values: torch.Tensor, weight: float) -> torch.Tensor:
    """``values`` unchanged, with their gradient multiplied by ``weight``."""
    if weight == 1.0:
        return values
    return values * weight + values.detach() * (1.0 - weight)


def _weak_label_loss(logits: torch.Tensor, y_weak: torch.Tensor, q: float) -> torch.Tensor:
    """Generalised cross-entropy (1 - p_y^q) / q per alloy (0 where the rules abstained, y_weak = -1): bounded, so
    a wrong weak label costs at most 1/q, where the cross-entropy would grow without limit as the head disagrees."""
    p_y = logits.softmax(-1).gather(-1, y_weak.clamp_min(0).unsqueeze(-1)).squeeze(-1)
    return (1 - p_y.clamp_min(1e-6) ** q) / q * (y_weak >= 0)


def _onehot(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    return nn.functional.one_hot(y.long(), n_classes).float()


class Model(PyroModule):
    """p(w, b) prod_n p(y_n | x_n, w, b) p(z_n) p(x_n | y_n, z_n); see the module docstring."""

    def __init__(
        self, head: PhaseHead, decoder: nn.Module, z_dim: int, label_weight: float, kl_weight: float, semi: str
    ) -> None:
        super().__init__()
        self.head, self.decoder, self.z_dim = head, decoder, z_dim
        self.label_weight, self.kl_weight, self.semi = label_weight, kl_weight, semi

    def forward(
        self, x_l=None, y_l=None, x_u=None, n_labelled: int = 0, n_unlabelled: int = 0, y_weak=None, weak=(0.0, 1.0)
    ) -> None:
        head = self.head
        w = pyro.sample("coefficients", dist.Normal(head.coefficient_mean, head.coefficient_scale).to_event(2))
        b = pyro.sample("intercepts", dist.Normal(head.intercept_mean, head.intercept_scale).to_event(1))
        if x_l is not None and len(x_l):
            with pyro.plate("labelled", max(n_labelled, len(x_l)), subsample=torch.arange(len(x_l), device=x_l.device)):
                logits = head.logits(x_l, head.features(x_l), w, b)
                with poutine.scale(scale=self.label_weight):
                    pyro.sample("y_labelled", dist.Categorical(logits=logits), obs=y_l)
                with poutine.scale(scale=self.kl_weight):
                    z = pyro.sample("z_labelled", self._z_prior(x_l))
                pyro.sample("x_labelled", self.decoder(_onehot(y_l, head.n_classes), z), obs=x_l)
        if x_u is not None and len(x_u):
            with pyro.plate(
                "unlabelled", max(n_unlabelled, len(x_u)), subsample=torch.arange(len(x_u), device=x_u.device)
            ):
                weighs_weak = y_weak is not None and weak[0] > 0
                logits = head.logits(x_u, head.features(x_u), w, b) if weighs_weak or self.semi != "m2" else None
                if weighs_weak:
                    pyro.factor("y_weak", -weak[0] * _weak_label_loss(logits, y_weak, weak[1]))
                # m2: the class prior. Otherwise the head held fixed: with a gradient here, -KL(q(y | x) || p(y | x))
                # between two dropout masks of one head trained it toward dropout agreement, a route nobody designed
                label_prior = head.class_log_prior.expand(len(x_u), -1) if self.semi == "m2" else logits.detach()
                y = pyro.sample("y_unlabelled", dist.Categorical(logits=label_prior))
                with poutine.scale(scale=self.kl_weight):
                    z = pyro.sample("z_unlabelled", self._z_prior(x_u))
                pyro.sample("x_unlabelled", self.decoder(_onehot(y, head.n_classes), z), obs=x_u)

    def _z_prior(self, x: torch.Tensor) -> dist.Distribution:
        zeros = x.new_zeros(len(x), self.z_dim)
        return dist.Normal(zeros, 1.0).to_event(1)


class Guide(PyroModule):
    """q(w) q(b) prod_n q(y_n | x_n) q(z_n | x_n, y_n); y_n enumerated for unlabelled alloys."""

    def __init__(self, head: PhaseHead, encoder: Encoder, unlabelled_head_weight: float, kl_weight: float) -> None:
        super().__init__()
        self.head, self.encoder = head, encoder
        # gradient scale of the unlabelled ELBO into q(y | x): semi.weight under m2, else 0
        self.unlabelled_head_weight, self.kl_weight = unlabelled_head_weight, kl_weight
        self.coefficient_loc = PyroParam(head.coefficient_mean.clone())
        self.coefficient_scale = PyroParam(
            torch.full_like(head.coefficient_scale, 0.1), constraint=constraints.positive
        )
        self.intercept_loc = PyroParam(head.intercept_mean.clone())
        self.intercept_scale = PyroParam(torch.full_like(head.intercept_scale, 0.1), constraint=constraints.positive)

    def forward(
        self, x_l=None, y_l=None, x_u=None, n_labelled: int = 0, n_unlabelled: int = 0, y_weak=None, weak=(0.0, 1.0)
    ) -> None:
        head = self.head
        w = pyro.sample("coefficients", dist.Normal(self.coefficient_loc, self.coefficient_scale).to_event(2))
        b = pyro.sample("intercepts", dist.Normal(self.intercept_loc, self.intercept_scale).to_event(1))
        if x_l is not None and len(x_l):
            with pyro.plate("labelled", max(n_labelled, len(x_l)), subsample=torch.arange(len(x_l), device=x_l.device)):
                loc, scale = self.encoder(x_l, head.features(x_l), _onehot(y_l, head.n_classes))
                with poutine.scale(scale=self.kl_weight):
                    pyro.sample("z_labelled", dist.Normal(loc, scale).to_event(1))
        if x_u is not None and len(x_u):
            with pyro.plate(
                "unlabelled", max(n_unlabelled, len(x_u)), subsample=torch.arange(len(x_u), device=x_u.device)
            ):
                features = head.features(x_u)
                logits = _scale_gradient(head.logits(x_u, features, w, b), self.unlabelled_head_weight)
                y = pyro.sample("y_unlabelled", dist.Categorical(logits=logits), infer={"enumerate": "parallel"})
                loc, scale = self.encoder(x_u, features, _onehot(y, head.n_classes))
                with poutine.scale(scale=self.kl_weight):
                    pyro.sample("z_unlabelled", dist.Normal(loc, scale).to_event(1))


class PhaseVAE(nn.Module):
    """Model, guide and the shared networks, with the inference-time operations every layer above uses."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        head = PhaseHead(config)
        n_seen = len(config.descriptors) if config.encoder_sees_descriptors else 0
        encoder = Encoder(len(config.elements), n_seen, config.n_classes, config.z_dim, config.hidden)
        decoder = make_decoder(config.decoder, len(config.elements), config.n_classes, config.z_dim, config.hidden)
        self.semi = SemiSupervision(**config.semi)
        self.model = Model(head, decoder, config.z_dim, config.label_weight, config.kl_weight, self.semi.method)
        m2_weight = self.semi.weight if self.semi.method == "m2" else 0.0
        self.guide = Guide(head, encoder, m2_weight, config.kl_weight)

    @property
    def head(self) -> PhaseHead:
        return self.model.head

    def coefficient_posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of q(w), shape (K-1, D): log-odds per standard deviation of a descriptor."""
        return self.guide.coefficient_loc.detach(), self.guide.coefficient_scale.detach()

    def intercept_posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.guide.intercept_loc.detach(), self.guide.intercept_scale.detach()

    @torch.no_grad()
    def posterior_probabilities(self, x: torch.Tensor, n_samples: int = 64, seed: int = 0) -> torch.Tensor:
        """Class probabilities (S, N, K) of the head under S draws of its posterior q(w) q(b) (h at its weights):
        the samples behind :meth:`class_probabilities`, for acquisition rules that need more than mean and spread."""
        generator = torch.Generator(device=x.device).manual_seed(seed)
        w_loc, w_scale = self.coefficient_posterior()
        b_loc, b_scale = self.intercept_posterior()
        noise_w = torch.randn((n_samples, *w_loc.shape), generator=generator, device=x.device)
        noise_b = torch.randn((n_samples, *b_loc.shape), generator=generator, device=x.device)
        w = w_loc + w_scale * noise_w
        b = b_loc + b_scale * noise_b
        return self.head.logits(x, self.head.features(x), w, b).softmax(-1)

    def class_probabilities(
        self, x: torch.Tensor, n_samples: int = 64, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior-predictive class probabilities (N, K) and their standard deviation over q(w) (N, K)."""
        probabilities = self.posterior_probabilities(x, n_samples, seed)
        return probabilities.mean(0), probabilities.std(0)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Posterior mean of z given x and y (the most probable class when y is None), shape (N, z_dim)."""
        if y is None:
            y = self.class_probabilities(x)[0].argmax(-1)
        loc, _ = self.guide.encoder(x, self.head.features(x), _onehot(y, self.config.n_classes))
        return loc

    def pool_penalty(self, x_u: torch.Tensor | None) -> torch.Tensor | None:
        """The ``consistency`` or ``entropy`` term on a pool batch (mean per alloy, unweighted; see
        :mod:`vae_design.models.semi`), at q(w)'s mean; None for the other methods or an empty batch."""
        head, w, b = self.head, self.guide.coefficient_loc, self.guide.intercept_loc
        return self.semi.penalty(x_u, lambda x: head.logits(x, head.features(x), w, b).log_softmax(-1))

    def independence_penalty(self, x_l=None, y_l=None, x_u=None) -> torch.Tensor:
        """The independence term (:func:`class_prior_mmd`) on one batch: z drawn from q(z | x, y) (reparameterised),
        labelled alloys in their class, unlabelled ones in every class weighted by the head's q(y | x) (held
        fixed: this term trains the encoder, not the head)."""
        n_classes = self.config.n_classes
        memberships = None
        if x_u is not None and len(x_u):
            with torch.no_grad():
                w, b = self.guide.coefficient_loc, self.guide.intercept_loc  # the posterior means
                memberships = self.head.logits(x_u, self.head.features(x_u), w, b).softmax(-1)
        classes = []
        for k in range(n_classes):
            parts = []
            if x_l is not None and len(x_l):
                members = x_l[y_l == k]
                parts.append((members, torch.ones(len(members), device=x_l.device)))
            if memberships is not None:
                parts.append((x_u, memberships[:, k]))
            parts = [(x, a) for x, a in parts if len(x)]
            if not parts:
                continue
            x = torch.cat([x for x, _ in parts])
            y = torch.full((len(x),), k, dtype=torch.long, device=x.device)
            loc, scale = self.guide.encoder(x, self.head.features(x), _onehot(y, n_classes))
            classes.append((loc + scale * torch.randn_like(loc), torch.cat([a for _, a in parts])))
        return class_prior_mmd(classes)

    @torch.no_grad()
    def reconstruction_log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log p(x | y, z) at z = the posterior mean of q(z | x, y), per alloy (N,) in nats."""
        z = self.encode(x, y)
        return self.decoded(z, y).log_prob(x)

    @torch.no_grad()
    def generative_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """-log p(x | y, z) at the posterior mean + kl_weight * KL(q(z | x, y) || N(0, I)) per alloy (N,), nats."""
        onehot = _onehot(y, self.config.n_classes)
        loc, scale = self.guide.encoder(x, self.head.features(x), onehot)
        kl = (0.5 * (loc.square() + scale.square() - 1) - scale.log()).sum(-1)
        return -self.model.decoder(onehot, loc).log_prob(x) + self.config.kl_weight * kl

    def decoded(self, z: torch.Tensor, y: torch.Tensor):
        """The decoder's distribution over compositions for latents (z, y); ``.decode()`` gives fractions."""
        return self.model.decoder(_onehot(y, self.config.n_classes), z)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Decoded mole fractions (N, E) for latents z (N, z_dim) and classes y (N,)."""
        return self.decoded(z, y).decode()


def elbo_module(vae: PhaseVAE, max_plate_nesting: int = 1):
    """The ELBO as a torch module over ``vae``'s parameters (Pyro's module-local mode; Lightning owns the optimizer)."""
    return pyro.infer.TraceEnum_ELBO(max_plate_nesting=max_plate_nesting)(vae.model, vae.guide)


# Which ELBO term each site of the model belongs to (losses: positive is a cost).
TERMS = {
    "y_labelled": "label",
    "x_labelled": "reconstruction",
    "x_unlabelled": "reconstruction",
    "z_labelled": "kl_z",
    "z_unlabelled": "kl_z",
    "coefficients": "kl_head",
    "intercepts": "kl_head",
    "y_unlabelled": "label_unlabelled",
    "y_weak": "weak",
}


@torch.no_grad()
def elbo_terms(vae: PhaseVAE, *args) -> dict[str, float]:
    """The negative ELBO split into its terms, for the logs: one draw from the guide (y of unlabelled alloys sampled,
    not summed out), each model site's -log p, less the guide's log q at the same site, with the ELBO's scales
    (kl_weight, label_weight, the data set's size). The terms add up to a one-sample estimate of the loss that
    TraceEnum_ELBO computes exactly; kl_z is KL(q(z | x, y) || p(z)) times kl_weight, label_unlabelled is
    E[log q(y | x) - log p(y | x)] (zero when head and label prior agree, as in eval mode)."""
    guide_trace = poutine.trace(vae.guide).get_trace(*args)
    model_trace = poutine.trace(poutine.replay(vae.model, trace=guide_trace)).get_trace(*args)
    model_trace.compute_log_prob()
    guide_trace.compute_log_prob()
    terms: dict[str, float] = {}
    for name, site in model_trace.nodes.items():
        if site["type"] != "sample" or name not in TERMS:
            continue
        cost = -site["log_prob_sum"]
        if name in guide_trace.nodes and not guide_trace.nodes[name]["is_observed"]:
            cost = cost + guide_trace.nodes[name]["log_prob_sum"]
        terms[TERMS[name]] = terms.get(TERMS[name], 0.0) + float(cost)
    return terms

"""The semi-supervised, disentangled VAE (Pyro): generative story, variational family, and the classification head.

Generative story (``Model``), for alloys n with composition x_n (mole fractions over the element vocabulary) and
element count k_n (observed, like the descriptors: the model is of x given its number of elements):

    w ~ Normal(m, s)                        head coefficients per descriptor; m, s: the expert prior (configs/prior)
    b ~ Normal(logit class prior, s_b)      head intercepts
    v ~ Normal(0, I)                        with model.head_function=gp: g's inducing values (models/gp.py)
    y_n | x_n, w, b ~ Categorical(softmax(eta_n)),   eta_n = b + w f(x_n) + h(x_n, f(x_n))     (the label)
                                            (or + g(f(x_n)[, x_n]) in place of h, g ~ GP(0, k), under gp)
    z_y,n | y_n ~ Normal(mu_y, s_y)         target factor: class-conditional prior (models/target.py); KL weight
                                            ``target_weight``
    z_n,n ~ Normal(0, I)                    nuisance factor; KL weight ``kl_weight`` (a beta-VAE)
    x_n | z_y,n, z_n,n, k_n ~ SparseComposition(decoder(z_y, z_n, k))   (staged: the set from z_y, k; or multinomial)

The decoder has no y input: the class reaches the composition only through z_y (CCVAE, Joy et al. ICLR 2021),
which weighs one output layer per class by q(y | z_y) (models/networks.py, ``ClassDecoder``), and a design is
aimed at a class by drawing z_y ~ p(z_y | y) and z_n from the density of that class's encoded alloys with the
design's element count (models/nuisance.py: the default decoder reads the alloy mostly from z_n, so this draw does
most of the aiming; docs/benchmarks.md measures each part). The nuisance factor is kept free of the label by the
independence term (``independence_weight`` times HSIC(z_n, y), models/independence.py), added to the negative
ELBO per alloy.

How the head, p(z_y | y) and q(y | z_y) are tied. The head p(y | f(x), w) is the model's label likelihood for
labelled alloys and, held fixed, the label prior of unlabelled ones (or the class prior pi under ``semi=m2``;
:mod:`vae_design.models.semi` names every route by which the pool reaches the head). For unlabelled alloys y is
summed out exactly: the target factor's prior becomes the mixture sum_k q(y=k | x) p(z_y | k), so the head's
verdict on a pool alloy tells z_y where to sit. q(y | z_y) is not a second network: it is the Bayes classifier of
p(z_y | y) with the class prior pi (:meth:`TargetFactor.classifier_logits`), what the target factor alone says
about the class. For labelled alloys its log-likelihood log q(y | z_y) is added (weighted by ``label_weight``),
CCVAE's classifier term, which makes the encoder put each class's z_y near its (fixed) class mean; predictions for
users come from the head.
f(x) are the standardised physics descriptors
(differentiable, computed from x), h a small composition network (its last layer starts at zero: an untrained head
*is* the expert-prior logistic model) whose linear fit on the descriptors is removed, so the descriptors' linear
effects live in w alone and w's posterior is identified. y_n is observed for labelled alloys (its log-likelihood
weighted by ``label_weight``). Where empirical rules agree on an unlabelled alloy (``weak=rules``), a factor
exp(-scale * GCE(p(y | x), y_weak)) adds their verdict as a noisy label under a bounded loss. The objective is an
ELBO of p(y, x | x-features, k), plus the weak-label factor when there is one (an unnormalised term).

Variational family (``Guide``):

    q(w) q(b) = Normal(w_loc, w_scale) Normal(b_loc, b_scale)      mean-field posterior of the head
    q(v) = Normal(m, S S^T)                                         the gp head's inducing values (gp only)
    q(y_n | x_n) = Categorical(softmax(eta_n(w)))                   the head itself, enumerated (TraceEnum_ELBO)
    q(z_y,n, z_n,n | x_n) = Normal(encoder(x_n))                    one pass per alloy, whatever y

q(y | x) receives the unlabelled ELBO's gradient only under ``semi=m2`` (scaled by ``semi.weight``); the other
methods add their own term on the pool (``PhaseVAE.pool_penalty``). The head's posterior (q(w)) is what
``inspect`` reports.
"""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.nn import PyroModule, PyroParam
from torch import nn
from torch.distributions import constraints

from vae_design.models.head import PhaseHead, VAEConfig
from vae_design.models.independence import class_independence
from vae_design.models.networks import MAX_COUNT, Encoder, element_count, make_decoder
from vae_design.models.nuisance import NuisanceDensity
from vae_design.models.semi import SemiSupervision
from vae_design.models.target import TargetFactor

__all__ = ["Guide", "Model", "PhaseHead", "PhaseVAE", "VAEConfig", "elbo_module"]

# Parameters live in the modules, not Pyro's global param store, so that Lightning's optimizer and checkpoints see
# every parameter. Pyro reads the setting when a PyroModule is built: set once, where the PyroModules are defined.
pyro.settings.set(module_local_params=True)


def _onehot(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    return nn.functional.one_hot(y.long(), n_classes).float()


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


class Model(PyroModule):
    """p(w, b) prod_n p(y_n | x_n, w, b) p(z_y,n | y_n) p(z_n,n) p(x_n | z_y,n, z_n,n, k_n); see the module doc."""

    def __init__(
        self,
        head: PhaseHead,
        target: TargetFactor,
        decoder: nn.Module,
        z_dim: int,
        weights: dict[str, float],
        semi: str,
    ) -> None:
        super().__init__()
        self.head, self.target, self.decoder, self.z_dim = head, target, decoder, z_dim
        self.label_weight, self.kl_weight = weights["label"], weights["kl"]
        self.target_weight, self.semi = weights["target"], semi

    def forward(
        self, x_l=None, y_l=None, x_u=None, n_labelled: int = 0, n_unlabelled: int = 0, y_weak=None, weak=(0.0, 1.0)
    ) -> None:
        head = self.head
        w = pyro.sample("coefficients", dist.Normal(head.coefficient_mean, head.coefficient_scale).to_event(2))
        b = pyro.sample("intercepts", dist.Normal(head.intercept_mean, head.intercept_scale).to_event(1))
        v = pyro.sample("process", head.process.prior()) if head.process is not None else None  # models/gp.py
        if x_l is not None and len(x_l):
            with pyro.plate("labelled", max(n_labelled, len(x_l)), subsample=torch.arange(len(x_l), device=x_l.device)):
                logits = head.logits(x_l, head.features(x_l), w, b, v)
                with poutine.scale(scale=self.label_weight):
                    pyro.sample("y_labelled", dist.Categorical(logits=logits), obs=y_l)
                z_y = self._alloy("labelled", x_l, y_l)
                # CCVAE's classifier term: the label readable from z_y alone, through p(z_y | y). Learnable means
                # without it met, z_y carried nothing (probe AUC 0.49); the means are fixed (models/target.py).
                target_logits = self.target.classifier_logits(z_y, head.class_log_prior)
                with poutine.scale(scale=self.label_weight):
                    pyro.factor("target_classifier", dist.Categorical(logits=target_logits).log_prob(y_l))
        if x_u is not None and len(x_u):
            with pyro.plate(
                "unlabelled", max(n_unlabelled, len(x_u)), subsample=torch.arange(len(x_u), device=x_u.device)
            ):
                weighs_weak = y_weak is not None and weak[0] > 0
                logits = head.logits(x_u, head.features(x_u), w, b, v) if weighs_weak or self.semi != "m2" else None
                if weighs_weak:
                    pyro.factor("y_weak", -weak[0] * _weak_label_loss(logits, y_weak, weak[1]))
                # m2: the class prior. Otherwise the head held fixed: with a gradient here, -KL(q(y | x) || p(y | x))
                # between two dropout masks of one head trained it toward dropout agreement, a route nobody designed
                label_prior = head.class_log_prior.expand(len(x_u), -1) if self.semi == "m2" else logits.detach()
                y = pyro.sample("y_unlabelled", dist.Categorical(logits=label_prior))
                self._alloy("unlabelled", x_u, y)

    def _alloy(self, part: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z_y | y, z_n and x | z_y, z_n, k inside a plate; y may carry an enumeration dimension (only p(z_y | y)
        sees it: the decoder runs once per alloy). Returns z_y."""
        with poutine.scale(scale=self.target_weight):
            z_y = pyro.sample(f"target_{part}", self.target.prior(y))
        with poutine.scale(scale=self.kl_weight):
            z_n = pyro.sample(f"nuisance_{part}", dist.Normal(x.new_zeros(len(x), self.z_dim), 1.0).to_event(1))
        pyro.sample(f"x_{part}", self.decode_latent(torch.cat([z_y, z_n], -1), element_count(x)), obs=x)
        return z_y

    def decode_latent(self, z: torch.Tensor, counts: torch.Tensor):
        """p(x | z, k): the decoder with its class weights q(y | z_y) read from z's target factor."""
        return self.decoder(z, counts, self.target_probabilities(z))

    def target_probabilities(self, z: torch.Tensor) -> torch.Tensor:
        """q(y | z_y) (..., K) of latents z (..., target_dim + z_dim): what the target factor says of the class."""
        return self.target.classifier_logits(z[..., : self.target.dim], self.head.class_log_prior).softmax(-1)


class Guide(PyroModule):
    """q(w) q(b) prod_n q(y_n | x_n) q(z_y,n, z_n,n | x_n); y_n enumerated for unlabelled alloys."""

    def __init__(
        self, head: PhaseHead, encoder: Encoder, target_dim: int, unlabelled_head_weight: float, weights: dict
    ) -> None:
        super().__init__()
        self.head, self.encoder, self.target_dim = head, encoder, target_dim
        # gradient scale of the unlabelled ELBO into q(y | x): semi.weight under m2, else 0
        self.unlabelled_head_weight = unlabelled_head_weight
        self.kl_weight, self.target_weight = weights["kl"], weights["target"]
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
        v = pyro.sample("process", head.process.posterior()) if head.process is not None else None
        if x_l is not None and len(x_l):
            with pyro.plate("labelled", max(n_labelled, len(x_l)), subsample=torch.arange(len(x_l), device=x_l.device)):
                self._latents("labelled", x_l, head.features(x_l))
        if x_u is not None and len(x_u):
            with pyro.plate(
                "unlabelled", max(n_unlabelled, len(x_u)), subsample=torch.arange(len(x_u), device=x_u.device)
            ):
                features = head.features(x_u)
                self._latents("unlabelled", x_u, features)
                logits = _scale_gradient(head.logits(x_u, features, w, b, v), self.unlabelled_head_weight)
                pyro.sample("y_unlabelled", dist.Categorical(logits=logits), infer={"enumerate": "parallel"})

    def _latents(self, part: str, x: torch.Tensor, features: torch.Tensor) -> None:
        loc, scale = self.encoder(x, features)
        d = self.target_dim
        with poutine.scale(scale=self.target_weight):
            pyro.sample(f"target_{part}", dist.Normal(loc[:, :d], scale[:, :d]).to_event(1))
        with poutine.scale(scale=self.kl_weight):
            pyro.sample(f"nuisance_{part}", dist.Normal(loc[:, d:], scale[:, d:]).to_event(1))


class PhaseVAE(nn.Module):
    """Model, guide and the shared networks, with the inference-time operations every layer above uses. A latent z
    (N, target_dim + z_dim) is the target factor z_y followed by the nuisance factor z_n."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        head = PhaseHead(config)
        n_seen = len(config.descriptors) if config.encoder_sees_descriptors else 0
        encoder = Encoder(len(config.elements), n_seen, config.latent_dim, config.hidden)
        sizes = (len(config.elements), config.latent_dim, config.hidden, config.n_classes, config.target_dim)
        decoder = make_decoder(config.decoder, *sizes)
        target = TargetFactor(config.n_classes, config.target_dim)
        self.semi = SemiSupervision(**config.semi)
        weights = {"label": config.label_weight, "kl": config.kl_weight, "target": config.target_weight}
        self.model = Model(head, target, decoder, config.z_dim, weights, self.semi.method)
        m2_weight = self.semi.weight if self.semi.method == "m2" else 0.0
        self.guide = Guide(head, encoder, config.target_dim, m2_weight, weights)
        self.nuisance_density = NuisanceDensity(config.z_dim, config.n_classes, MAX_COUNT)

    @property
    def head(self) -> PhaseHead:
        return self.model.head

    @property
    def target(self) -> TargetFactor:
        return self.model.target

    def coefficient_posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of q(w), shape (K-1, D): log-odds per standard deviation of a descriptor."""
        return self.guide.coefficient_loc.detach(), self.guide.coefficient_scale.detach()

    def intercept_posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.guide.intercept_loc.detach(), self.guide.intercept_scale.detach()

    @torch.no_grad()
    def posterior_probabilities(self, x: torch.Tensor, n_samples: int = 64, seed: int = 0) -> torch.Tensor:
        """Class probabilities (S, N, K) of the head under S draws of its posterior q(w) q(b) (h at its weights, g
        drawn from q): the samples behind :meth:`class_probabilities`, for acquisition rules that need more than
        mean and spread."""
        generator = torch.Generator(device=x.device).manual_seed(seed)
        w_loc, w_scale = self.coefficient_posterior()
        b_loc, b_scale = self.intercept_posterior()
        noise_w = torch.randn((n_samples, *w_loc.shape), generator=generator, device=x.device)
        noise_b = torch.randn((n_samples, *b_loc.shape), generator=generator, device=x.device)
        w, b, features = w_loc + w_scale * noise_w, b_loc + b_scale * noise_b, self.head.features(x)
        return self.head.logits(x, features, w, b, *self.head.posterior_draws(n_samples, generator)).softmax(-1)

    def class_probabilities(
        self, x: torch.Tensor, n_samples: int = 64, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior-predictive class probabilities (N, K) and their standard deviation over q(w) (N, K)."""
        probabilities = self.posterior_probabilities(x, n_samples, seed)
        return probabilities.mean(0), probabilities.std(0)

    # ------------------------------------------------------------------------------------------------ latents
    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_y, z_n) of latents z (..., target_dim + z_dim)."""
        return z[..., : self.config.target_dim], z[..., self.config.target_dim :]

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of q(z | x) (N, target_dim + z_dim)."""
        return self.guide.encoder(x, self.head.features(x))

    @torch.no_grad()
    def encode(self, x: torch.Tensor, factor: str | None = None) -> torch.Tensor:
        """Posterior means of q(z | x): the whole latent (N, target_dim + z_dim), or one factor (``"target"``:
        z_y (N, target_dim); ``"nuisance"``: z_n (N, z_dim))."""
        z = self.posterior(x)[0]
        if factor not in (None, "target", "nuisance"):
            raise ValueError(f"factor must be 'target' or 'nuisance', got {factor!r}")
        return z if factor is None else self.split(z)[factor == "nuisance"]

    def with_target(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z with its target factor set to the mean of p(z_y | y) (y (N,) or an int), its nuisance factor kept: the
        intervention "this alloy, but of class y"."""
        y = torch.as_tensor(y, device=z.device).expand(len(z))
        return torch.cat([self.target.class_latent(y), self.split(z)[1]], -1)

    @torch.no_grad()
    def prior_latents(
        self, y: torch.Tensor, counts: torch.Tensor, seed: int = 0, temperature: float = 1.0, nuisance: str = "class"
    ) -> torch.Tensor:
        """Latents (N, target_dim + z_dim) drawn given classes y (N,) and element counts (N,): z_y ~ p(z_y | y), and
        z_n from the density fitted to the encoded training alloys of class y with that count (``"class"``), of any
        class with that count (``"fitted"``) (:class:`NuisanceDensity`, component spreads times ``temperature``),
        or from the prior N(0, temperature^2 I) (``"prior"``)."""
        generator = torch.Generator().manual_seed(int(seed))
        counts = torch.as_tensor(counts).expand(len(y))
        if nuisance == "prior":
            z_n = torch.randn((len(y), self.config.z_dim), generator=generator) * temperature
        elif nuisance in ("class", "fitted"):
            classes = y.long() if nuisance == "class" else None
            z_n = self.nuisance_density.sample(counts, classes, generator, temperature)
        else:
            raise ValueError(f"nuisance must be 'class', 'fitted' or 'prior', got {nuisance!r}")
        return torch.cat([self.target.sample(y, generator), z_n], -1)

    @torch.no_grad()
    def fit_nuisance_density(
        self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor, seed: int = 0, components: int | None = None
    ) -> None:
        """Fit :class:`NuisanceDensity` (``components`` a group) to z_n: x_l (N, E) in class y_l, x_u in the head's."""
        pool_classes = self.class_probabilities(x_u)[0].argmax(-1) if len(x_u) else y_l.new_zeros(0)
        x, classes = torch.cat([x_l, x_u]), torch.cat([y_l.long(), pool_classes.long()])
        self.nuisance_density.fit(self.encode(x, "nuisance"), classes, element_count(x), seed, components)

    # ------------------------------------------------------------------------------------------------ penalties
    def pool_penalty(self, x_u: torch.Tensor | None) -> torch.Tensor | None:
        """The ``consistency`` or ``entropy`` term on a pool batch (mean per alloy, unweighted; see
        :mod:`vae_design.models.semi`), at q(w)'s mean; None for the other methods or an empty batch."""
        head, w, b = self.head, self.guide.coefficient_loc, self.guide.intercept_loc
        return self.semi.penalty(x_u, lambda x: head.logits(x, head.features(x), w, b).log_softmax(-1))

    def independence_penalty(self, x_l=None, y_l=None, x_u=None) -> torch.Tensor:
        """The independence term (:func:`class_independence`) on one batch: z_n drawn from q(z_n | x)
        (reparameterised), labelled alloys in their class, unlabelled ones in every class weighted by the head's
        q(y | x) (held fixed: this term trains the encoder, not the head)."""
        parts = [(x, _onehot(y, self.config.n_classes)) for x, y in ((x_l, y_l),) if x is not None and len(x)]
        if x_u is not None and len(x_u):
            with torch.no_grad():
                w, b = self.guide.coefficient_loc, self.guide.intercept_loc  # the posterior means
                parts.append((x_u, self.head.logits(x_u, self.head.features(x_u), w, b).softmax(-1)))
        if not parts:
            return torch.zeros(())
        x = torch.cat([x for x, _ in parts])
        loc, scale = self.posterior(x)
        z_n = self.split(loc + scale * torch.randn_like(loc))[1]
        return class_independence(z_n, torch.cat([a for _, a in parts]))

    # ------------------------------------------------------------------------------------------------ decoding
    @torch.no_grad()
    def generative_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """-log p(x | z, k) at the posterior mean + kl_weight * KL(q(z_n | x) || N(0, I))
        + target_weight * KL(q(z_y | x) || p(z_y | y)) per alloy (N,), nats."""
        loc, scale = self.posterior(x)
        (loc_y, loc_n), (scale_y, scale_n) = self.split(loc), self.split(scale)
        kl_n = (0.5 * (loc_n.square() + scale_n.square() - 1) - scale_n.log()).sum(-1)
        kl_y = self.target.kl(loc_y, scale_y, y.long())
        reconstruction = -self.decoded(loc, element_count(x)).log_prob(x)
        return reconstruction + self.config.kl_weight * kl_n + self.config.target_weight * kl_y

    def decoded(self, z: torch.Tensor, counts: torch.Tensor):
        """The decoder's distribution over compositions for latents z (N, latent) with ``counts`` (N,) elements;
        ``.decode()`` gives fractions."""
        counts = torch.as_tensor(counts, device=z.device).expand(len(z))
        return self.model.decode_latent(z, counts)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Decoded mole fractions (N, E) for latents z (N, latent) and element counts (N,) (or one int)."""
        return self.decoded(z, counts).decode()


def elbo_module(vae: PhaseVAE, max_plate_nesting: int = 1):
    """The ELBO as a torch module over ``vae``'s parameters (Pyro's module-local mode; Lightning owns the optimizer)."""
    return pyro.infer.TraceEnum_ELBO(max_plate_nesting=max_plate_nesting)(vae.model, vae.guide)

"""The architecture a user chooses (the ``model`` config group): one definition for the CLI, the API and the bundle.

``vae-design train model.z_dim=8`` and ``AlloyVAE(z_dim=8)`` set the same field of :class:`ModelSettings`; the
bundle stores it inside :class:`~vae_design.models.ssvae.VAEConfig`, which adds what the data decides (elements,
classes) and the expert prior. The CLI registers this dataclass as the ``model/default`` option of Hydra's config
store (``vae_design/cli/settings.py``), so its defaults and types are the only ones.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from vae_design.errors import InputError
from vae_design.features.descriptors import DESCRIPTOR_NAMES
from vae_design.models.networks import DECODERS


@dataclass(frozen=True)
class ModelSettings:
    """Sizes and weights of the semi-supervised VAE; units: latent dimensions, hidden units, loss weights."""

    # dimensions of the nuisance factor z_n (everything about a composition except the target property)
    z_dim: int = 12
    # dimensions of the target factor z_y, whose prior p(z_y | y) depends on the class (models/target.py); chosen
    # with target_weight and independence_weight on validation and head figures (docs/benchmarks.md)
    target_dim: int = 16
    # width of the encoder's and decoder's hidden layers (units)
    hidden: int = 512
    # sparse: an element set plus fractions on it, so decoded alloys have a few elements at realistic fractions;
    # staged: the same, with the element set read from the target factor alone and the fractions from the whole
    # latent (docs/benchmarks.md measures it against sparse); multinomial: the reference's softmax over every
    # element (decodes a dense smear)
    decoder: str = "sparse"
    # the head's flexible term beside the linear expert-prior model: network (h, a small MLP, embedding_hidden wide)
    # or gp (g, a sparse variational Gaussian process over the descriptors, models/gp.py)
    head_function: str = "network"
    # inducing inputs of the gp head (more: a more flexible g, a slower step)
    gp_inducing: int = 64
    # true: the gp head's kernel adds a Laplace kernel on the composition (L1 over mole fractions) to the one on
    # the descriptors, so g can tell alloys apart whose descriptors agree (models/gp.py). Off by default: the ELBO
    # shrinks its variance to 3-4 % of g's and it did not pass its rule (docs/benchmarks.md)
    gp_composition: bool = False
    # width of the head's composition network h beside the linear expert-prior model (0: the linear head alone)
    embedding_hidden: int = 128
    # true: h sees the element fractions as well as the descriptors; false: descriptors only, like the reference
    embedding_sees_composition: bool = True
    # dropout probability in the networks (regularises the head on a few hundred labels)
    dropout: float = 0.1
    # weight of the labelled alloys' log-likelihood of y (the classification term of the M2 objective)
    label_weight: float = 1.0
    # beta of a beta-VAE: weight of KL(q(z_n | x) || p(z_n)) of the nuisance factor. At 1 the element set is
    # cheaper to model marginally than to encode (the latent collapsed to < 3 nats and decoded 10 % of held-out
    # element sets); 0.01 keeps the reconstructions faithful enough to decode real alloys.
    kl_weight: float = 0.01
    # weight of KL(q(z_y | x) || p(z_y | y)) of the target factor: below 1 it may hold the chemistry that goes with
    # the class, not the class alone (at 1, with one dimension, the decoder barely used it)
    target_weight: float = 0.1
    # weight of the independence term (models/independence.py): each class's aggregate q(z_n | x) compared with
    # the whole batch's by a kernel MMD (HSIC), so the nuisance factor holds no label information
    independence_weight: float = 100.0
    # false: q(z | x) reads composition and presence only. The head's descriptors (delta, omega, ...) are
    # almost the label, and an encoder that reads them hands z_n the label linearly.
    encoder_sees_descriptors: bool = False
    # physics descriptors the head reads (k GPa, vm cm^3/mol, tm K, vec e/atom, delta %, dchi -, dS_mix J/(mol K),
    # dH_mix kJ/mol, omega -); omega (Yang & Zhang 2012) is the extra beyond the reference's eight
    descriptors: tuple[str, ...] = DESCRIPTOR_NAMES

    def __post_init__(self) -> None:
        object.__setattr__(self, "descriptors", tuple(self.descriptors))
        for key, low in (("z_dim", 1), ("target_dim", 1), ("hidden", 1), ("embedding_hidden", 0), ("gp_inducing", 1)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise InputError(f"model.{key} must be a whole number >= {low}, got {value!r}")
            object.__setattr__(self, key, int(value))  # numpy integers as int
        if not 0 <= self.dropout < 1:
            raise InputError(f"model.dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.gp_composition, bool):
            raise InputError(f"model.gp_composition must be true or false, got {self.gp_composition!r}")
        if self.head_function not in ("network", "gp"):
            raise InputError(f"model.head_function must be network or gp, got {self.head_function!r}")
        if self.decoder not in DECODERS:
            kinds = f"{', '.join(DECODERS[:-1])} or {DECODERS[-1]}"
            raise InputError(f"model.decoder must be {kinds}, got {self.decoder!r}")
        for key in ("label_weight", "kl_weight", "target_weight"):
            if not getattr(self, key) > 0:
                raise InputError(f"model.{key} must be positive, got {getattr(self, key)}")
        if not self.independence_weight >= 0:
            raise InputError(f"model.independence_weight must be >= 0, got {self.independence_weight}")
        unknown = [name for name in self.descriptors if name not in DESCRIPTOR_NAMES]
        if unknown or not self.descriptors:
            raise InputError(
                f"model.descriptors must name descriptors from {', '.join(DESCRIPTOR_NAMES)}, got "
                f"{list(self.descriptors)}"
            )

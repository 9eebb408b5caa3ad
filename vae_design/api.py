"""The user-facing facade: ``AlloyVAE().fit(...)``, ``predict_proba``, ``encode``, ``decode``, ``save``, ``load``.

    >>> from vae_design import AlloyVAE
    >>> model = AlloyVAE(z_dim=8).fit(["AlCoCrFeNi", ...], [1, ...], unlabelled=["Al0.3CoCrFeNi", ...])
    >>> model.predict_proba(["CoCrFeMnNi"])[:, 1]          # P(single phase)

Compositions are formulas (``"Al0.5CoCrFeNi"``, ``"(CoCrFeNi)90Al10"``) or element -> amount mappings; they are
normalised to mole fractions. Labels are integers in the target's class order (single_phase: 0 multi-phase,
1 single phase).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vae_design.data.composition import Composition, normalise, parse_formula
from vae_design.data.table import check_target
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.data.weak_labels import WeakLabelling, weak_labels
from vae_design.errors import InputError
from vae_design.models.bundle import load_bundle, save_bundle, warm_start
from vae_design.models.neighbours import NeighbourEvidence
from vae_design.models.priors import HeadPrior
from vae_design.models.semi import SemiSupervision
from vae_design.models.settings import ModelSettings
from vae_design.models.ssvae import PhaseVAE, VAEConfig
from vae_design.resources import prior_config
from vae_design.training.pretrain import NEEDS_NETWORK, Pretraining

CompositionLike = str | Mapping[str, float]


def as_compositions(compositions: Sequence[CompositionLike]) -> list[Composition]:
    """Formulas or mappings -> normalised compositions; a bad one is a one-line error naming its position."""
    parsed = []
    for position, item in enumerate(compositions):
        try:
            parsed.append(parse_formula(item) if isinstance(item, str) else normalise(dict(item)))
        except InputError as error:
            raise InputError(f"composition {position}: {error}") from None
    return parsed


class AlloyVAE:
    """Semi-supervised disentangled VAE for alloy phase: fit on labelled + unlabelled compositions, then predict,
    encode to latents and decode latents into compositions. The architecture is a :class:`ModelSettings` (``model``),
    or its fields as keywords (``AlloyVAE(z_dim=8)``); ``prior`` is a prior name in ``configs/prior/``
    (``literature``, ``flat``, ``wrong_sign``), a mapping in that format, or a :class:`HeadPrior`; ``training`` a
    :class:`~vae_design.training.fit.TrainingSettings`, ``semi``, ``weak`` and ``pretrain`` their settings (or
    mappings of them)."""

    def __init__(
        self,
        target: str = "single_phase",
        prior: str | Mapping | HeadPrior = "literature",
        model: ModelSettings | None = None,
        training=None,
        weak: WeakLabelling | Mapping | None = None,
        pretrain: Pretraining | Mapping | None = None,
        semi: SemiSupervision | Mapping | None = None,
        **architecture,
    ) -> None:
        classes = check_target(target)
        unknown = sorted(set(architecture) - {f.name for f in fields(ModelSettings)})
        if unknown:
            known = ", ".join(f.name for f in fields(ModelSettings))
            raise TypeError(f"AlloyVAE() got an unexpected keyword argument {unknown[0]!r} (model settings: {known})")
        settings = replace(model or ModelSettings(), **architecture)
        prior_values = prior_config(prior) if isinstance(prior, str) else prior
        if isinstance(prior_values, HeadPrior):
            prior_values = prior_values.to_dict()
        head_prior = HeadPrior.from_dict(dict(prior_values), settings.descriptors, tuple(classes))
        head_prior.intercept_means(len(classes), classes.index("multi-phase"))  # class-prior length check
        self.target = target
        self.architecture = {
            **asdict(settings),
            "classes": tuple(classes),
            "reference_class": classes.index("multi-phase"),
            "semi": (SemiSupervision(**semi) if isinstance(semi, Mapping) else semi or SemiSupervision()).to_dict(),
            "prior": head_prior.to_dict(),
        }
        self.training = training
        # training-time knowledge, not architecture: weak labels from empirical rules for the unlabelled pool, and
        # pretraining of the head on cheap descriptor targets (None: off)
        self.weak = WeakLabelling(**weak) if isinstance(weak, Mapping) else weak
        self.pretrain = Pretraining(**pretrain) if isinstance(pretrain, Mapping) else pretrain
        if self.pretrain is not None and (settings.embedding_hidden == 0 or settings.head_function != "network"):
            raise InputError(NEEDS_NETWORK)
        if self.weak is not None and len(classes) != 2:
            raise InputError("weak labels from the rules say single phase or not: they need target single_phase")
        self.vae: PhaseVAE | None = None
        self.vocabulary: ElementVocabulary | None = None
        self.known_alloys: pd.DataFrame | None = None
        self.neighbours: NeighbourEvidence | None = None
        self.history: dict[str, float] = {}

    # ----------------------------------------------------------------------------------------------- training
    def fit(
        self,
        compositions: Sequence[CompositionLike],
        labels: Sequence[int],
        unlabelled: Sequence[CompositionLike] = (),
        val: tuple[Sequence[CompositionLike], Sequence[int]] | None = None,
        seed: int = 0,
        run_dir: str | Path | None = None,
        resume: bool = False,
        elements: Sequence[str] | None = None,
        init: PhaseVAE | Mapping[str, torch.Tensor] | None = None,
    ) -> AlloyVAE:
        """Train on labelled (and unlabelled) alloys; early-stop on ``val`` (by default 10 % of the labelled
        alloys, stratified and seeded). Logs and checkpoints go to ``run_dir`` (a temporary folder if None).

        ``init`` (a trained PhaseVAE or its state dict) warm-starts the new model from those weights where that is
        valid (:func:`~vae_design.models.bundle.warm_start`: the same element vocabulary and architecture), else
        it trains from scratch; the history records ``update/warm_start`` 1 or 0. The descriptor scaler is refit on
        this data either way."""
        import tempfile

        from vae_design.training.data import TrainingTensors
        from vae_design.training.fit import TrainingSettings, last_checkpoint, train_vae
        from vae_design.training.pretrain import freeze_pretrained, pretrain_on

        train = as_compositions(compositions)
        labels = np.asarray(labels, dtype=int)
        if len(train) != len(labels):
            raise InputError(f"{len(train)} compositions but {len(labels)} labels")
        n_classes = len(self.architecture["classes"])
        if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
            raise InputError(f"labels must be integers 0..{n_classes - 1} for target {self.target}")
        pool = as_compositions(unlabelled)
        if val is None:
            train, labels, val_compositions, val_labels = _carve_validation(train, labels, seed)
        else:
            val_compositions, val_labels = as_compositions(val[0]), np.asarray(val[1], dtype=int)
        if len(val_compositions) == 0 or len(train) == 0:
            raise InputError("training needs at least one labelled alloy for training and one for validation")
        everything = [*train, *pool, *val_compositions]
        self.vocabulary = ElementVocabulary.from_config(elements, everything)
        config = VAEConfig(elements=self.vocabulary.elements, **self.architecture)
        import pyro

        pyro.set_rng_seed(seed)  # network initialisation is part of the seeded run
        vae = PhaseVAE(config)
        warm = None if init is None else warm_start(vae, init)  # before the scaler fit, which overrides its buffers
        tensor = self.vocabulary.to_tensor
        x_train = tensor(train)
        vae.head.fit_inputs(x_train, tensor(pool), seed, inducing=not warm)
        weak, before = None, {}
        if warm is not None:
            before["update/warm_start"] = float(warm)
        if self.weak is not None:
            weak = torch.as_tensor(weak_labels(pool, self.weak.rules))
            before["weak/coverage"] = float((weak >= 0).float().mean()) if len(weak) else 0.0
        if self.pretrain is not None:
            resuming = resume and run_dir is not None and last_checkpoint(run_dir).is_file()
            if not resuming:  # a resumed run's checkpoint already holds the pretrained weights
                before |= pretrain_on(vae, self.vocabulary, [*train, *pool], self.pretrain, seed)
            freeze_pretrained(vae, self.pretrain)
        tensors = TrainingTensors(
            x_train, torch.as_tensor(labels), tensor(pool), tensor(val_compositions), torch.as_tensor(val_labels), weak
        )
        settings = self.training or TrainingSettings()
        with tempfile.TemporaryDirectory() as scratch:
            run = Path(run_dir or scratch)
            self.vae, self.history = train_vae(vae, tensors, settings, run, seed, resume, self.weak)
        self.history = before | self.history
        # where real alloys' nuisance factor lies, per class and element count, for generation (models/nuisance.py)
        self.vae.fit_nuisance_density(tensors.x_train, tensors.y_train, tensors.x_unlabelled, seed)
        self.neighbours = NeighbourEvidence(x_train, torch.as_tensor(labels), n_classes)
        val_probabilities, _ = self.vae.class_probabilities(tensors.x_val)
        self.neighbours.select(tensors.x_val, val_labels, val_probabilities)
        self.known_alloys = _known_alloys(train, labels, pool, val_compositions, val_labels)
        return self

    # ------------------------------------------------------------------------------------------------ inference
    def _x(self, compositions: Sequence[CompositionLike]) -> torch.Tensor:
        if self.vae is None:
            raise RuntimeError("the model is not trained: call fit() or AlloyVAE.load() first")
        parsed = as_compositions(compositions)
        reasons = self.unusable(parsed)
        if reasons:
            first = min(reasons)
            raise InputError(f"composition {first}: {reasons[first]}")
        return self.vocabulary.to_tensor(parsed)

    def unusable(self, compositions: Sequence[Composition]) -> dict[int, str]:
        """Position -> one-line reason, for each composition this model cannot score: an element outside its
        vocabulary, or an element (pair) without descriptor data. The one check behind every prediction."""
        reasons = {}
        inside = []
        for position, composition in enumerate(compositions):
            outside = self.vocabulary.outside(composition)
            if outside:
                trained = f"trained on {len(self.vocabulary)} elements"
                reasons[position] = f"element {outside[0]} is not in the model's vocabulary ({trained})"
            else:
                inside.append(position)
        if inside:
            x = self.vocabulary.to_tensor([compositions[i] for i in inside], dtype=torch.float64)
            for row, reason in self.vae.head.descriptors.unsupported_reasons(x).items():
                reasons[inside[row]] = reason
        return reasons

    def check_usable(self, compositions: Sequence[Composition], place: str, rows: Sequence, column: str | None) -> None:
        """The first composition this model cannot score (:meth:`unusable`) as a one-line error naming ``place`` (a
        file, or ``formula=...``), its row (``rows[i]`` for composition i) and ``column``."""
        from vae_design.errors import located

        reasons = self.unusable(compositions)
        if reasons:
            first = min(reasons)
            raise InputError(located(reasons[first], place, rows[first], column))

    @property
    def classes(self) -> tuple[str, ...]:
        return self.architecture["classes"]

    def predict_proba(
        self,
        compositions: Sequence[CompositionLike],
        return_std: bool = False,
        n_samples: int = 64,
        neighbours: bool = True,
    ):
        """Class probabilities (N, K): the head's, averaged over its posterior, updated with measured training alloys
        within 5 at.% (:mod:`vae_design.models.neighbours`); with ``return_std`` also the standard deviation over
        the head's posterior (its epistemic uncertainty), carried through the same update so that it describes the
        probability returned. ``neighbours=False``: the head alone."""
        x = self._x(compositions)
        mean, std = self.vae.class_probabilities(x, n_samples=n_samples)
        if neighbours:
            mean, std = self.neighbours.update(x, mean, std)
        return (mean.numpy(), std.numpy()) if return_std else mean.numpy()

    def posterior_probabilities(
        self, compositions: Sequence[CompositionLike], n_samples: int = 64, seed: int = 0
    ) -> np.ndarray:
        """The head's class probabilities (S, N, K) under S draws of its posterior q(w) (and g's, with the gp head),
        without the neighbour update: what acquisition rules such as BALD need beyond the mean and spread of
        :meth:`predict_proba`."""
        return self.vae.posterior_probabilities(self._x(compositions), n_samples, seed).numpy()

    def encode(self, compositions: Sequence[CompositionLike], factor: str | None = None) -> np.ndarray:
        """Posterior means of the latent: ``factor="target"`` the target factor z_y (N, target_dim),
        ``"nuisance"`` the nuisance factor z_n (N, z_dim), None both (N, target_dim + z_dim), z_y first."""
        if factor not in (None, "target", "nuisance"):
            raise InputError(f"factor must be 'target', 'nuisance' or None, got {factor!r}")
        return self.vae.encode(self._x(compositions), factor).numpy()

    def decode(self, target, nuisance, n_elements) -> list[Composition]:
        """Compositions decoded from a target factor and a nuisance factor: ``target`` an (N, target_dim) array of
        z_y or a class index (int, or N ints: the mean of p(z_y | class)); ``nuisance`` an (N, z_dim) array of
        z_n; ``n_elements`` the number of elements of each alloy (an int or N ints)."""
        if self.vae is None:
            raise RuntimeError("the model is not trained: call fit() or AlloyVAE.load() first")
        z_n = torch.as_tensor(np.asarray(nuisance, dtype=np.float32)).reshape(-1, self.vae.config.z_dim)
        target = np.asarray(target)
        if np.issubdtype(target.dtype, np.integer):
            classes = torch.as_tensor(np.broadcast_to(target, (len(z_n),)).copy())
            z_y = self.vae.target.class_latent(classes)
        else:
            z_y = torch.as_tensor(target.astype(np.float32)).reshape(len(z_n), self.vae.config.target_dim)
        counts = torch.as_tensor(np.broadcast_to(np.asarray(n_elements, dtype=int), (len(z_n),)).copy())
        return self.vocabulary.to_compositions(self.vae.decode(torch.cat([z_y, z_n], -1), counts))

    def generate(
        self,
        workflow: str = "latent",
        n: int = 1000,
        target: int = 1,
        seed: int = 0,
        seed_alloy: str | None = None,
        constraints: Mapping | None = None,
        given: np.ndarray | None = None,
        **settings,
    ):
        """Candidate alloys of class ``target`` (:mod:`vae_design.design`): ``workflow="latent"`` keeps up to ``n``
        decoded alloys (rounds of ``n`` latents, ``latent.rounds``), ``"screen"`` keeps the ``n`` best palette
        alloys, ``"invert"`` walks from ``seed_alloy``. ``constraints`` and the groups ``latent``, ``screen``,
        ``invert``, ``scoring`` (keyword arguments) take the keys of vae_design/design/settings.py; ``given``:
        latents (N, target_dim + z_dim) for ``latent={"source": "given"}``. Returns
        :class:`~vae_design.design.Designs`: ``.table`` (one row per candidate), ``.figures`` (validity,
        uniqueness, novelty, ...) and ``.latents``."""
        from vae_design.design.generate import plan_generation, run_generation

        unknown = sorted(set(settings) - {"latent", "screen", "invert", "scoring"})
        if unknown:
            raise InputError(f"unknown generate setting '{unknown[0]}' (groups: latent, screen, invert, scoring)")
        if self.vae is None:
            raise RuntimeError("the model is not trained: call fit() or AlloyVAE.load() first")
        plan = plan_generation(self, workflow, n, target, seed, seed_alloy, constraints, given=given, **settings)
        return run_generation(plan)

    def evaluate(self, val=None, test=None, seed: int = 0) -> dict[str, float]:
        """Flat metrics (``val/*``, ``test/*``, ``recon/*``, ``latent/probe_auc``) on (compositions, labels) pairs."""
        from vae_design.training.evaluate import evaluate_vae

        def part(pair):
            if pair is None or len(pair[0]) == 0:
                return self.vocabulary.to_tensor([]).reshape(0, len(self.vocabulary)), np.zeros(0, dtype=int)
            return self._x(pair[0]), np.asarray(pair[1], dtype=int)

        return evaluate_vae(self.vae, *part(val), *part(test), seed=seed, neighbours=self.neighbours)

    def head_posterior(self, level: float = 0.9) -> pd.DataFrame:
        """Per descriptor (and per non-reference class): posterior mean and central ``level`` interval of the head's
        coefficient beside its expert prior (log-odds per standard deviation of the descriptor)."""
        from scipy.stats import norm

        loc, scale = (t.numpy() for t in self.vae.coefficient_posterior())
        head = self.vae.head
        z = norm.ppf(0.5 + level / 2)
        others = [c for k, c in enumerate(self.classes) if k != self.architecture["reference_class"]]
        rows = []
        for k, cls in enumerate(others):
            for d, name in enumerate(self.architecture["descriptors"]):
                rows.append(
                    {
                        "class": cls,
                        "descriptor": name,
                        "mean": loc[k, d],
                        "lo": loc[k, d] - z * scale[k, d],
                        "hi": loc[k, d] + z * scale[k, d],
                        "prior_mean": float(head.coefficient_mean[k, d]),
                        "prior_scale": float(head.coefficient_scale[k, d]),
                    }
                )
        return pd.DataFrame(rows)

    def record_test_alloys(self, compositions: Sequence[CompositionLike], labels: Sequence[int]) -> None:
        """Add a run's test alloys to the known alloys the bundle stores (part 'test'): ``inspect`` reports on
        them without the training data, and generated candidates are not called novel next to them."""
        from vae_design.data.composition import canonical_formula

        if self.known_alloys is None:
            raise RuntimeError("record_test_alloys: the model is not trained")
        rows = pd.DataFrame(
            {
                "formula": [canonical_formula(c) for c in as_compositions(compositions)],
                "label": pd.array([int(y) for y in labels], dtype="Int64"),
                "part": "test",
            }
        )
        known = self.known_alloys[self.known_alloys["part"] != "test"]
        self.known_alloys = pd.concat([known, rows], ignore_index=True)

    # ------------------------------------------------------------------------------------------------ bundle
    def save(self, path: str | Path) -> Path:
        """Write the model bundle (weights, architecture, vocabulary, scalers, known alloys, version) to ``path``."""
        if self.vae is None:
            raise RuntimeError("nothing to save: the model is not trained")
        return save_bundle(Path(path), self.vae, self.target, self.known_alloys, self.history, self.neighbours)

    @classmethod
    def load(cls, path: str | Path) -> AlloyVAE:
        """A trained model from its bundle, built through ``__init__`` like any other (so it can also be refit)."""
        vae, target, known_alloys, history, neighbours = load_bundle(Path(path))
        config = vae.config.to_dict()
        settings = {f.name for f in fields(ModelSettings)}
        model = cls(
            target=target,
            prior=config["prior"],
            semi=config["semi"],
            model=ModelSettings(**{key: value for key, value in config.items() if key in settings}),
        )
        model.vae, model.vocabulary = vae, ElementVocabulary(vae.config.elements)
        model.known_alloys, model.history, model.neighbours = known_alloys, history, neighbours
        return model


def _carve_validation(train, labels, seed):
    from sklearn.model_selection import train_test_split

    counts = np.bincount(labels) if len(labels) else np.array([])
    stratify = labels if len(counts) > 1 and counts[counts > 0].min() >= 2 else None
    n_val = max(1, round(0.1 * len(train)))
    if len(train) < 2:
        raise InputError("training needs at least two labelled alloys when no validation alloys are given")
    positions = np.arange(len(train))
    fit_part, val_part = train_test_split(positions, test_size=n_val, stratify=stratify, random_state=seed)
    return [train[i] for i in fit_part], labels[fit_part], [train[i] for i in val_part], labels[val_part]


def _known_alloys(train, labels, pool, val, val_labels) -> pd.DataFrame:
    from vae_design.data.composition import canonical_formula

    rows = [(canonical_formula(c), int(y), "train") for c, y in zip(train, labels, strict=True)]
    rows += [(canonical_formula(c), int(y), "val") for c, y in zip(val, val_labels, strict=True)]
    rows += [(canonical_formula(c), pd.NA, "unlabelled") for c in pool]
    frame = pd.DataFrame(rows, columns=["formula", "label", "part"])
    frame["label"] = frame["label"].astype("Int64")
    return frame

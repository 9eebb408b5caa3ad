"""Expert priors on the classification head: one Normal(mean, scale) per descriptor coefficient, plus the class prior.

Coefficients act on *standardised* descriptors (omega is log-transformed first, see
:class:`vae_design.models.networks.DescriptorScaler`), so a mean of -1 reads "one standard deviation more of this
descriptor lowers the log-odds of a single phase by about 1"; a scale of 0.5 says how sure the expert is. Priors are
set in ``configs/prior/*.yaml``; the literature defaults and their citations live in ``configs/prior/literature.yaml``.

For the 4-class target every single-phase class (BCC, FCC, HCP) is scored against the multi-phase class. Each of
those log-odds gets ``coefficients`` ("larger delta disfavours a single solid solution" holds for all three), and
``class_coefficients`` adds what tells the classes apart: per class, a coefficient that replaces the shared one for
that class alone (VEC separates FCC from BCC, Guo et al. 2011). ``class_prior`` is either one list, or one list per
target (``{single_phase: [...], phase: [...]}``), so one prior file serves both targets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from vae_design.errors import InputError


@dataclass(frozen=True)
class CoefficientPrior:
    """Normal prior on one head coefficient, in log-odds per standard deviation of the descriptor."""

    mean: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.scale) and self.scale > 0):
            raise InputError(f"a coefficient prior needs a finite mean and a scale > 0, got {self.mean}, {self.scale}")


@dataclass(frozen=True)
class HeadPrior:
    """Priors of the head: per-descriptor coefficients, the rest of the descriptors, the class prior.

    ``class_prior`` lists P(class) in label order (for single_phase: [P(multi-phase), P(single phase)]); it sets the
    mean of the intercepts (log-odds of each class against the reference class), with ``intercept_scale``.
    """

    coefficients: Mapping[str, CoefficientPrior] = field(default_factory=dict)
    default: CoefficientPrior = CoefficientPrior(0.0, 1.0)
    class_prior: Sequence[float] | None = None
    intercept_scale: float = 1.0
    # class name -> descriptor -> prior, replacing ``coefficients`` for that class's log-odds (4-class target)
    class_coefficients: Mapping[str, Mapping[str, CoefficientPrior]] = field(default_factory=dict)

    @classmethod
    def from_dict(
        cls, values: Mapping, descriptor_names: Sequence[str], classes: Sequence[str] | None = None
    ) -> HeadPrior:
        """Build from a config mapping; unknown descriptors and bad numbers are one-line errors. ``classes`` (the
        target's, in label order) picks the target's list from a per-target ``class_prior`` and keeps only those
        ``class_coefficients`` (an unknown class name is an error; a two-class target ignores them)."""
        known = {"coefficients", "default", "class_prior", "intercept_scale", "citations", "name", "class_coefficients"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown setting prior.{unknown[0]} (known: {', '.join(sorted(known))})")
        coefficients = {}
        for name, spec in (values.get("coefficients") or {}).items():
            if name not in descriptor_names:
                raise InputError(
                    f"prior.coefficients.{name}: not a descriptor (choose from {', '.join(descriptor_names)})"
                )
            coefficients[name] = _coefficient(spec, f"prior.coefficients.{name}")
        default = _coefficient(values.get("default") or {}, "prior.default")
        class_prior = values.get("class_prior")
        if isinstance(class_prior, Mapping):
            target = _target_of(classes)
            if target is None:
                raise InputError("prior.class_prior lists one prior per target; the target is not known here")
            class_prior = class_prior.get(target)
        if class_prior is not None:
            class_prior = tuple(float(p) for p in class_prior)
            if any(p <= 0 for p in class_prior) or abs(sum(class_prior) - 1) > 1e-6:
                raise InputError(f"prior.class_prior must be positive and sum to 1, got {list(class_prior)}")
        intercept_scale = float(values.get("intercept_scale", 1.0))
        if not intercept_scale > 0:
            raise InputError(f"prior.intercept_scale must be > 0, got {intercept_scale}")
        class_coefficients = {}
        named = values.get("class_coefficients") or {}
        if not isinstance(named, Mapping):
            raise InputError(f"prior.class_coefficients must map class names to descriptor priors, got {named!r}")
        for name, specs in named.items():
            if classes is not None and name not in classes:
                if _target_of(classes) == "single_phase":
                    continue  # per-class knowledge for the 4-class target; a two-class head has one log-odds
                raise InputError(f"prior.class_coefficients.{name}: not a class (choose from {', '.join(classes)})")
            for descriptor, spec in (specs or {}).items():
                key = f"prior.class_coefficients.{name}.{descriptor}"
                if descriptor not in descriptor_names:
                    raise InputError(f"{key}: not a descriptor (choose from {', '.join(descriptor_names)})")
                class_coefficients.setdefault(name, {})[descriptor] = _coefficient(spec, key)
        return cls(coefficients, default, class_prior, intercept_scale, class_coefficients)

    def to_dict(self) -> dict:
        return {
            "coefficients": {k: {"mean": v.mean, "scale": v.scale} for k, v in self.coefficients.items()},
            "default": {"mean": self.default.mean, "scale": self.default.scale},
            "class_prior": None if self.class_prior is None else list(self.class_prior),
            "intercept_scale": self.intercept_scale,
            "class_coefficients": {
                name: {k: {"mean": v.mean, "scale": v.scale} for k, v in specs.items()}
                for name, specs in self.class_coefficients.items()
            },
        }

    def coefficient_tensors(
        self, descriptor_names: Sequence[str], classes: Sequence[str] = ("multi-phase", "single phase"), reference=0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, scales), shape (K-1, D): one row per non-reference class (label order), one column per
        descriptor in ``descriptor_names`` order; a class's own prior replaces the shared one."""
        rows = []
        for k, name in enumerate(classes):
            if k == reference:
                continue
            own = self.class_coefficients.get(name, {})
            rows.append([own.get(d, self.coefficients.get(d, self.default)) for d in descriptor_names])
        means = torch.tensor([[s.mean for s in row] for row in rows])
        return means, torch.tensor([[s.scale for s in row] for row in rows])

    def intercept_means(self, n_classes: int, reference_class: int) -> torch.Tensor:
        """Log-odds of each non-reference class against the reference class under the class prior."""
        if self.class_prior is None:
            return torch.zeros(n_classes - 1)
        if len(self.class_prior) != n_classes:
            raise InputError(
                f"prior.class_prior has {len(self.class_prior)} entries; the target has {n_classes} classes "
                "(give one per class, or prior.class_prior=null)"
            )
        p = torch.tensor(self.class_prior, dtype=torch.float64)
        others = [k for k in range(n_classes) if k != reference_class]
        return (p[others].log() - p[reference_class].log()).float()


def _target_of(classes: Sequence[str] | None) -> str | None:
    from vae_design.data.table import TARGETS

    if classes is None:
        return None
    return next((name for name, names in TARGETS.items() if tuple(names) == tuple(classes)), None)


def _coefficient(spec, key: str) -> CoefficientPrior:
    if not isinstance(spec, Mapping):
        raise InputError(f"{key} must have 'mean' and 'scale', got {spec!r}")
    extra = sorted(set(spec) - {"mean", "scale", "why"})
    if extra:
        raise InputError(f"unknown setting {key}.{extra[0]} (known: mean, scale, why)")
    try:
        return CoefficientPrior(float(spec.get("mean", 0.0)), float(spec.get("scale", 1.0)))
    except (TypeError, ValueError) as error:
        raise InputError(f"{key}: {error}") from None
    except InputError as error:
        raise InputError(f"{key}: {error}") from None

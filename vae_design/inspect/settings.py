"""What ``vae-design inspect`` and :func:`~vae_design.inspect.inspection.inspect_model` are told: one definition
for the CLI and the Python API.

The CLI registers :class:`InspectRun` as the root schema of ``configs/inspect.yaml`` (``vae_design/cli/settings.py``),
so these defaults and types are the only ones: Hydra refuses an unknown key or a value of the wrong type, and
``__post_init__`` checks the ranges and, first, the types of what the Python API passes
(``InspectSettings(level="x")``), with the CLI's one-line messages.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from vae_design.design.settings import _flag, _number, _whole
from vae_design.errors import InputError


@dataclass(frozen=True)
class InspectSettings:
    """How the model is inspected (the ``inspect`` group); every count is an upper limit."""

    # central credible interval of the head's coefficients
    level: float = 0.9
    # SHAP: training alloys as background, validation alloys explained (exact Shapley values; cost grows with both)
    shap_background: int = 32
    shap_alloys: int = 100
    # Fisher information: propose pruning a descriptor with less than this share of the input information, or the
    # weaker of a pair spanning a sloppy direction (eigenvalue below sloppy_ratio times the largest)
    prune_share: float = 0.02
    sloppy_ratio: float = 1e-3
    # explicit formula: at most this many terms, chosen on validation AUC (sparsest within tolerance of the best)
    formula_max_terms: int = 6
    formula_tolerance: float = 0.01
    formula_bootstrap: int = 20
    # training + unlabelled alloys the formula is fitted to (the head's probabilities)
    formula_fit_alloys: int = 3000
    formula_ratios: bool = True
    # latent space: alloys in the maps; axes traversed (null: every axis, most used first)
    latent_alloys: int = 3000
    traversal_axes: int | None = None
    # seeds the SHAP background, the formula's alloys and bootstrap, and the latent probes (the CLI: seed=)
    seed: int = 0

    def __post_init__(self) -> None:
        _whole(
            "inspect.",
            self,
            "shap_background",
            "shap_alloys",
            "formula_max_terms",
            "formula_bootstrap",
            "formula_fit_alloys",
            "latent_alloys",
            "seed",
        )
        _number("inspect.", self, "level", "prune_share", "sloppy_ratio", "formula_tolerance", finite=False)
        _flag("inspect.", self, "formula_ratios")
        if not 0 < self.level < 1:
            raise InputError(f"inspect.level must be between 0 and 1, got {self.level}")
        axes = self.traversal_axes
        if axes is not None and (isinstance(axes, bool) or not isinstance(axes, numbers.Integral) or axes < 1):
            raise InputError(f"inspect.traversal_axes must be a whole number of at least 1 or null, got {axes!r}")
        if axes is not None:
            object.__setattr__(self, "traversal_axes", int(axes))
        for key in ("shap_background", "shap_alloys", "formula_max_terms", "latent_alloys"):
            if getattr(self, key) < 1:
                raise InputError(f"inspect.{key} must be at least 1, got {getattr(self, key)}")


@dataclass(frozen=True)
class InspectRun:
    """Every setting of ``vae-design inspect`` but the bundle (``configs/inspect.yaml``, which adds ``bundle``)."""

    # one formula to explain (instead of the full report)
    alloy: str | None = None
    # test alloys for the formula and rule comparison: null = the training run's test part, stored in the bundle
    # (known_alloys.csv), exactly as training held them out; or a CSV file with formula and label columns
    test: str | None = None
    formula_col: str = "formula"
    label_col: str = "label"
    inspect: InspectSettings = field(default_factory=InspectSettings)
    # seeds the inspection (inspect.seed follows it)
    seed: int = 0

    def __post_init__(self) -> None:
        _whole("", self, "seed")

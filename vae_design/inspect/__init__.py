"""Post-hoc inspection of a trained model's classification head and latent space.

    >>> from vae_design import AlloyVAE
    >>> from vae_design.inspect import InspectionData, InspectSettings, inspect_model, write_report
    >>> model = AlloyVAE.load("runs/default/model")
    >>> inspection = inspect_model(model, InspectionData.from_bundle(model), InspectSettings(shap_alloys=50))
    >>> inspection.summary["formula"]["expression"]

Parts: :mod:`~vae_design.inspect.attributions` (SHAP), :mod:`~vae_design.inspect.fisher` (Fisher information),
:mod:`~vae_design.inspect.formula` (explicit formula), :mod:`~vae_design.inspect.latent` (latent space),
:mod:`~vae_design.inspect.report` (report.md, inspect.json, figures). No Lightning: everything works from a loaded
model bundle.
"""

from __future__ import annotations

import importlib

# Public name -> the module defining it, imported on first use: the CLI imports vae_design.inspect.settings for
# every command's config, which must not pull in sympy, shap and matplotlib.
_EXPORTS = {
    "Attributions": "attributions",
    "explain_head": "attributions",
    "Formula": "formula",
    "distil_formula": "formula",
    "HeadView": "head",
    "Inspection": "inspection",
    "InspectionData": "inspection",
    "inspect_model": "inspection",
    "write_report": "report",
    "InspectSettings": "settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

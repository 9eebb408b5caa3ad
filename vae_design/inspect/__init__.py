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

from vae_design.inspect.attributions import Attributions, explain_head
from vae_design.inspect.formula import Formula, distil_formula
from vae_design.inspect.head import HeadView
from vae_design.inspect.inspection import Inspection, InspectionData, InspectSettings, inspect_model
from vae_design.inspect.report import write_report

__all__ = [
    "Attributions",
    "Formula",
    "HeadView",
    "Inspection",
    "InspectSettings",
    "InspectionData",
    "distil_formula",
    "explain_head",
    "inspect_model",
    "write_report",
]

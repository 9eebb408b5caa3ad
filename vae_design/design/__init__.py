"""Inverse design from a trained model bundle: settings, constraints, latent sources, the three workflows, scoring.

No Lightning here: everything works from a loaded :class:`~vae_design.api.AlloyVAE`.
"""

from vae_design.design.constraints import AlloyConstraints
from vae_design.design.scoring import KnownAlloys, batch_figures, score
from vae_design.design.screen import plan_screen, run_screen
from vae_design.design.settings import ConstraintSettings, GenerateSettings, ScoringSettings
from vae_design.design.workflows import Designs, invert_path, latent_designs, latents

__all__ = [
    "AlloyConstraints",
    "ConstraintSettings",
    "Designs",
    "GenerateSettings",
    "KnownAlloys",
    "ScoringSettings",
    "batch_figures",
    "invert_path",
    "latent_designs",
    "latents",
    "plan_screen",
    "run_screen",
    "score",
]

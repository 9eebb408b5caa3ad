"""Cheap continuous targets: descriptors hea-bench computes from a composition alone (no experiment), one alloy
at a time in Python (about 1 ms per alloy for all eight). Pretraining targets (:mod:`vae_design.training.pretrain`)
and extra peer inputs (:class:`vae_design.benchmarks.PeerClassifier`); not on any training hot path."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from vae_design.features.descriptors import OMEGA_CAP


def _log1p_capped(value: float) -> float:
    # Omega and Phi diverge where an enthalpy cancels; a regression target must not (capped as the head's omega)
    return math.log1p(min(max(value, 0.0), OMEGA_CAP))


def _target_functions() -> dict:
    """Target name -> function of a composition (hea-bench's descriptors; units in the comments)."""
    import hea_bench.descriptors as d

    return {
        "dH_mix": d.mixing_enthalpy,  # mixing enthalpy (Takeuchi-Inoue pair table), kJ/mol
        "dH_ss": d.delta_h_ss,  # solid-solution enthalpy (chemical + elastic), kJ/mol
        "dH_elastic": d.h_elastic,  # elastic (size-mismatch) part, kJ/mol
        "dG_ss": d.delta_g_ss,  # solid-solution Gibbs energy at the mean melting point, kJ/mol
        "phi": lambda c: _log1p_capped(d.phi_king(c)),  # King's Phi, log1p
        "delta": d.delta,  # atomic-size mismatch, %
        "vec": d.vec,  # valence electron concentration, e/atom
        "omega": lambda c: _log1p_capped(d.omega(c)),  # Yang's Omega, log1p
    }


TARGETS = ("dH_mix", "dH_ss", "dH_elastic", "dG_ss", "phi", "delta", "vec", "omega")


def descriptor_targets(compositions: Sequence[Mapping[str, float]], names: Sequence[str] = TARGETS) -> np.ndarray:
    """(N, T) float64 target values; NaN where hea-bench lacks the data for an alloy (masked in the loss)."""
    functions = _target_functions()
    values = np.full((len(compositions), len(names)), np.nan)
    for n, composition in enumerate(compositions):
        composition = dict(composition)
        for t, name in enumerate(names):
            try:
                value = functions[name](composition)
            except (KeyError, ValueError, ZeroDivisionError, TypeError):
                continue
            if value is not None and np.isfinite(value):
                values[n, t] = value
    return values

"""What report.md tells a metallurgist (issue 18, item 11): no pruning of a descriptor with a non-zero effect,
dH_mix named for the Takeuchi-Inoue pair table, and the doubt a negative mixing-entropy effect calls for."""

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from vae_design.inspect import report
from vae_design.inspect.fisher import Spectrum, parameter_fisher, propose_pruning

ROOT = Path(__file__).resolve().parents[2]


def _posterior(**means: tuple[float, float, float]) -> dict:
    return {name: {"mean": m, "lo": lo, "hi": hi, "prior_mean": 0.0, "prior_scale": 1.0}
            for name, (m, lo, hi) in means.items()}  # fmt: skip


def test_a_descriptor_whose_interval_excludes_zero_is_never_proposed_for_pruning():
    names = ["intercept", "k", "delta", "omega"]
    parameters = Spectrum.of(np.diag([10.0, 5.0, 4.0, 3.0]), names)  # nothing sloppy
    inputs = Spectrum.of(np.diag([0.6, 0.39, 0.01]), names[1:])  # omega: 1 % of the input information
    assert "omega" in propose_pruning(parameters, inputs, share_below=0.02, sloppy_ratio=1e-3)
    assert propose_pruning(parameters, inputs, share_below=0.02, sloppy_ratio=1e-3, nonzero={"omega"}) == {}


def test_of_a_redundant_pair_the_one_with_a_non_zero_effect_is_kept():
    generator = torch.Generator().manual_seed(1)
    base = torch.randn(300, 3, generator=generator, dtype=torch.float64)
    features = torch.cat([base, base[:, 1:2]], dim=1)  # "omega" repeats "delta"

    def logits(theta):
        eta = theta[0] + features @ theta[1:]
        return torch.stack([torch.zeros_like(eta), eta], dim=-1)

    theta = torch.tensor([0.2, 1.0, -0.5, 0.7, -0.5], dtype=torch.float64)
    names = ["intercept", "k", "delta", "vec", "omega"]
    parameters = Spectrum.of(parameter_fisher(logits, theta), names)
    inputs = Spectrum.of(np.diag([1.0, 1.0, 1.0, 0.9]), names[1:])  # omega the less used of the pair
    assert list(propose_pruning(parameters, inputs, 0.01, 1e-6)) == ["omega"]
    assert list(propose_pruning(parameters, inputs, 0.01, 1e-6, nonzero={"omega"})) == ["delta"]
    assert propose_pruning(parameters, inputs, 0.01, 1e-6, nonzero={"omega", "delta"}) == {}


def _fisher_summary(proposed: dict, kept: dict) -> SimpleNamespace:
    fim = {
        "pruning": {"proposed": proposed, "kept_nonzero": kept},
        "input": {"shares": {"k": 0.6, "delta": 0.39, "omega": 0.01}, "stiff": [("k", 1.0)]},
        "condition_number": 12.0,
        "effective_dimension": 3.1,
        "parameters": ["intercept", "k", "delta", "omega"],
        "stiff": [("k", 1.0)],
        "sloppy": [("omega", 1.0)],
        "latent": {"trace_ratio_to_input": 0.01},
    }
    posterior = _posterior(k=(0.9, 0.7, 1.1), delta=(0.05, -0.1, 0.2), omega=(0.53, 0.38, 0.68))
    return SimpleNamespace(summary={"fim": fim, "posterior": posterior})


def test_report_keeps_omega_and_says_why():
    unused = "unused (1.0% of the input Fisher information)"
    text = "\n".join(report._fisher_section(_fisher_summary({"delta": unused}, {"omega": unused})))
    proposed = text.split("Descriptors proposed for pruning")[1].split("Flagged by the Fisher information alone")[0]
    assert "`delta`" in proposed and "`omega`" not in proposed
    assert "`omega`: unused (1.0% of the input Fisher information) (coefficient +0.53 [+0.38, +0.68])" in text
    assert "excludes 0" in text


def test_dH_mix_is_named_for_the_takeuchi_inoue_table_not_miedema():
    assert "Takeuchi-Inoue" in report.MEANINGS["dH_mix"] and "Miedema" not in report.MEANINGS["dH_mix"]
    # Miedema's name may appear for matminer's featurizer and its data files, never as the name of dH_mix
    mislabel = re.compile(r"Miedema (mixing enthalpy|dH_mix)|mixing enthalpy \(Miedema\)|Miedema liquid pair")
    files = [*(ROOT / "vae_design").rglob("*.py"), *(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]
    hits = [f"{f.relative_to(ROOT)}: {m.group(0)}" for f in files for m in mislabel.finditer(f.read_text())]
    assert not hits, hits


def _posterior_text(ds_mix: tuple[float, float, float]) -> str:
    summary = {
        "posterior_level": 0.9,
        "posterior": _posterior(dS_mix=ds_mix, omega=(0.53, 0.38, 0.68)),
        "posterior_sign_flips": [],
        "posterior_contradicts": [],
    }
    return "\n".join(report._posterior_section(SimpleNamespace(summary=summary)))


def test_a_negative_mixing_entropy_effect_gets_its_physics_sentence():
    text = _posterior_text((-0.31, -0.52, -0.10))
    assert "The mixing-entropy coefficient is negative (`dS_mix` -0.31 [-0.52, -0.10], 90 % interval)" in text
    assert "Yeh et al." in text and "collinearity" in text and "conditional on the other descriptors" in text
    assert "leans negative (its interval includes 0" in _posterior_text((-0.01, -0.18, 0.16))


def test_a_positive_mixing_entropy_effect_needs_no_such_sentence():
    text = _posterior_text((0.31, 0.10, 0.52))
    assert "mixing-entropy coefficient is negative" not in text and "Yeh" not in text

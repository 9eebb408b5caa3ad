"""Fisher information: the head's equals X^T W X for a plain logistic head, and a duplicated descriptor shows up as
a near-zero eigenvalue on that pair."""

import numpy as np
import pytest
import torch

from vae_design.inspect.fisher import Spectrum, head_parameter_fisher, parameter_fisher, propose_pruning
from vae_design.inspect.head import HeadView
from vae_design.models.ssvae import PhaseVAE, VAEConfig

ELEMENTS = ("Al", "Co", "Cr", "Fe", "Mn", "Ni", "Ti")


def _logistic(features: torch.Tensor):
    """logits [0, b + w f] of a plain logistic model, as a function of theta = [b, w]."""

    def logits(theta: torch.Tensor) -> torch.Tensor:
        eta = theta[0] + features @ theta[1:]
        return torch.stack([torch.zeros_like(eta), eta], dim=-1)

    return logits


def _xtwx(features: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    design = torch.cat([torch.ones(len(features), 1, dtype=features.dtype), features], dim=1)
    p = torch.sigmoid(design @ theta)
    return design.T @ (design * (p * (1 - p))[:, None])


def test_fisher_of_a_logistic_model_is_xtwx():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(200, 4, generator=generator, dtype=torch.float64)
    theta = torch.randn(5, generator=generator, dtype=torch.float64)
    fisher = parameter_fisher(_logistic(features), theta)
    assert torch.allclose(fisher, _xtwx(features, theta), rtol=0, atol=1e-8)


def test_fisher_of_the_models_linear_head_is_xtwx():
    # the real head with no composition network: eta = b + w f(x), f the standardised descriptors of x
    vae = PhaseVAE(VAEConfig(elements=ELEMENTS, embedding_hidden=0, z_dim=2, hidden=8)).double()
    x = torch.distributions.Dirichlet(torch.ones(len(ELEMENTS))).sample((300,)).double()
    vae.head.scaler.fit(vae.head.descriptors(x))
    with torch.no_grad():
        vae.guide.coefficient_loc.copy_(torch.linspace(-1, 1, len(vae.config.descriptors))[None].double())
        vae.guide.intercept_loc.fill_(0.3)
    view = HeadView(vae)
    fisher = head_parameter_fisher(view, x)
    theta = torch.cat([view.b.reshape(-1), view.w.reshape(-1)])
    expected = _xtwx(vae.head.features(x).double(), theta)
    assert fisher.dtype == torch.float64
    assert torch.allclose(fisher, expected, rtol=0, atol=1e-8)


def test_a_duplicated_descriptor_gives_a_near_zero_eigenvalue_on_that_pair():
    generator = torch.Generator().manual_seed(1)
    base = torch.randn(300, 3, generator=generator, dtype=torch.float64)
    features = torch.cat([base, base[:, 1:2]], dim=1)  # descriptor 3 repeats descriptor 1
    theta = torch.tensor([0.2, 1.0, -0.5, 0.7, -0.5], dtype=torch.float64)
    names = ["intercept", "a", "b", "c", "b_copy"]
    spectrum = Spectrum.of(parameter_fisher(_logistic(features), theta), names)
    assert spectrum.eigenvalues[-1] < 1e-10 * spectrum.eigenvalues[0]
    assert spectrum.eigenvalues[-2] > 1e-3 * spectrum.eigenvalues[0]  # only one direction is lost
    loadings = dict(spectrum.direction(len(names) - 1, top=2))
    assert set(loadings) == {"b", "b_copy"}
    assert loadings["b"] == pytest.approx(-loadings["b_copy"], abs=1e-6)
    assert abs(loadings["b"]) == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    assert np.isinf(spectrum.condition_number) or spectrum.condition_number > 1e10
    inputs = Spectrum.of(np.eye(4), names[1:])
    proposal = propose_pruning(spectrum, inputs, share_below=0.01, sloppy_ratio=1e-6)
    assert list(proposal) in (["b"], ["b_copy"]) and "redundant" in next(iter(proposal.values()))

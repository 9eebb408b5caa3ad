"""SHAP values of the head add up: base value + sum of an alloy's SHAP values = its log-odds."""

import numpy as np
import torch

from vae_design.inspect.attributions import COMPOSITION, explain_head
from vae_design.inspect.head import HeadView
from vae_design.models.ssvae import PhaseVAE, VAEConfig

ELEMENTS = ("Al", "Co", "Cr", "Fe", "Mn", "Ni", "Ti")


def test_shap_values_sum_to_prediction_minus_base_value():
    torch.manual_seed(0)
    vae = PhaseVAE(VAEConfig(elements=ELEMENTS, embedding_hidden=16, z_dim=2, hidden=8))
    x = torch.distributions.Dirichlet(torch.ones(len(ELEMENTS))).sample((40,))
    vae.head.scaler.fit(vae.head.descriptors(x.double()).float())
    torch.nn.init.normal_(vae.head.embedding.net[-1].weight)  # a composition network that does something
    view = HeadView(vae)
    result = explain_head(view, x[:6], x[30:])
    assert result.players[-1] == COMPOSITION and result.values.shape == (6, len(view.descriptors) + 1)
    predicted = view.log_odds(x[:6]).detach().numpy()
    assert np.allclose(result.outputs, predicted, atol=1e-5)
    assert np.allclose(result.values.sum(1), predicted - result.base_values, atol=1e-5)
    # the base value is the mean log-odds over the background alloys
    assert np.allclose(result.base_values, view.log_odds(x[30:]).detach().numpy().mean(), atol=1e-5)
    assert np.abs(result.values[:, -1]).max() > 1e-4  # the composition player carries the network's part

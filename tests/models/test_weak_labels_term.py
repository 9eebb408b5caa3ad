"""The weak-label term of the model: a bounded (GCE) loss, absent where the rules abstain, pulling the head toward
the rules' verdicts, and weighed as a whole against the labelled alloys."""

from __future__ import annotations

import pyro
import pytest
import torch
from pyro import poutine

from tests.models.test_ssvae import _fractions, _vae
from vae_design.data.weak_labels import WeakLabelling
from vae_design.models.ssvae import _weak_label_loss, elbo_module
from vae_design.training.data import TrainingTensors
from vae_design.training.fit import _weak_scale


def test_generalised_cross_entropy_values_and_abstention():
    logits = torch.log(torch.tensor([[0.2, 0.8], [0.2, 0.8], [0.5, 0.5]]))
    loss = _weak_label_loss(logits, torch.tensor([1, 0, -1]), q=0.5)
    assert loss[0].item() == pytest.approx((1 - 0.8**0.5) / 0.5)
    assert loss[1].item() == pytest.approx((1 - 0.2**0.5) / 0.5)
    assert loss[2].item() == 0.0  # the rules abstained
    # bounded: a confidently contradicted weak label costs at most 1/q, unlike the cross-entropy
    hopeless = _weak_label_loss(torch.tensor([[30.0, -30.0]]), torch.tensor([1]), q=0.5)
    assert 1.99 < hopeless.item() <= 2.0


def _model_log_weight(vae, x_u, y_weak, scale):
    pyro.set_rng_seed(0)
    guide = poutine.trace(vae.guide).get_trace(None, None, x_u, 0, len(x_u), y_weak, (scale, 0.7))
    replayed = poutine.replay(vae.model, trace=guide)
    model = poutine.trace(poutine.enum(replayed, first_available_dim=-2)).get_trace(
        None, None, x_u, 0, len(x_u), y_weak, (scale, 0.7)
    )
    return model.nodes


def test_weak_term_is_a_factor_on_the_head_only_where_rules_labelled():
    vae = _vae()
    x_u = _fractions(6)
    y_weak = torch.tensor([1, 1, -1, 0, -1, 1])
    nodes = _model_log_weight(vae, x_u, y_weak, 2.0)
    assert "y_weak" in nodes
    factor = nodes["y_weak"]["fn"].log_prob(nodes["y_weak"]["value"])
    assert (factor[y_weak < 0] == 0).all() and (factor[y_weak >= 0] < 0).all()
    assert "y_weak" not in _model_log_weight(vae, x_u, y_weak, 0.0)  # weak=none adds nothing


def test_weak_labels_pull_the_head_toward_the_rules_verdict():
    vae = _vae()
    elbo = elbo_module(vae)
    x_u = _fractions(32)
    for label, sign in ((1, 1.0), (0, -1.0)):
        vae.zero_grad()
        pyro.set_rng_seed(0)
        loss = elbo(None, None, x_u, 0, 32, torch.full((32,), label), (5.0, 0.7))
        loss.backward()
        # minimising the loss moves the single-phase intercept up for weak label 1, down for 0
        assert sign * -vae.guide.intercept_loc.grad.sum() > 0


def test_weak_labels_weigh_alpha_times_the_labelled_alloys_whatever_the_pool_size():
    x = torch.zeros(10, 3)
    for n_pool, n_weak in ((100, 40), (10000, 4000)):
        y_weak = torch.full((n_pool,), -1)
        y_weak[:n_weak] = 1
        tensors = TrainingTensors(x, torch.zeros(10), torch.zeros(n_pool, 3), x, torch.zeros(10), y_weak)
        scale, q = _weak_scale(WeakLabelling(alpha=0.5, q=0.6), tensors)
        assert scale * n_weak == pytest.approx(0.5 * 10) and q == 0.6
    assert _weak_scale(None, tensors) == (0.0, 1.0)

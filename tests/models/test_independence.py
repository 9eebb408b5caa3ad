"""The independence term and the loss split: what each one measures, and that they reach the right parameters."""

from __future__ import annotations

import warnings

import pyro
import torch

from tests.models.test_ssvae import _fractions, _vae
from vae_design.models.independence import class_prior_mmd, weighted_mmd
from vae_design.models.ssvae import TERMS, elbo_terms


def test_mmd_is_near_zero_for_prior_draws_and_large_for_a_shifted_class():
    torch.manual_seed(0)
    prior = torch.randn(400, 4)
    same = weighted_mmd(torch.randn(400, 4), torch.ones(400), prior)
    shifted = weighted_mmd(torch.randn(400, 4) + 1.5, torch.ones(400), prior)
    assert abs(float(same)) < 0.02 and float(shifted) > 20 * abs(float(same))
    # weights pick the members: a weight-0 outlier changes nothing
    z = torch.cat([torch.randn(400, 4), torch.full((1, 4), 50.0)])
    weights = torch.cat([torch.ones(400), torch.zeros(1)])
    assert abs(float(weighted_mmd(z, weights, prior))) < 0.02


def test_class_term_sees_a_label_that_only_the_class_means_carry():
    torch.manual_seed(1)
    independent = [(torch.randn(300, 3), torch.ones(300)) for _ in range(2)]
    leaking = [(torch.randn(300, 3) + 1.0, torch.ones(300)), (torch.randn(300, 3) - 1.0, torch.ones(300))]
    assert float(class_prior_mmd(leaking)) > 10 * abs(float(class_prior_mmd(independent)))


def test_independence_penalty_trains_the_encoder_and_nothing_else():
    vae = _vae()
    x = _fractions(40)
    y = torch.arange(40) % 2
    vae.independence_penalty(x[:20], y[:20], x[20:]).backward()
    moved = {name for name, p in vae.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert moved and all(".encoder." in name for name in moved), moved


def test_elbo_terms_add_up_to_the_one_sample_loss():
    """Every site of the model belongs to a term: the terms' sum is Trace_ELBO's loss on the same draws."""
    vae = _vae(kl_weight=0.1).eval()
    x = _fractions(12)
    args = (x[:6], torch.arange(6) % 2, x[6:], 60, 600)
    pyro.set_rng_seed(4)
    terms = elbo_terms(vae, *args)
    pyro.set_rng_seed(4)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="y_unlabelled")  # Trace_ELBO samples y, as elbo_terms does
        loss = float(pyro.infer.Trace_ELBO().differentiable_loss(vae.model, vae.guide, *args).detach())
    assert set(terms) == set(TERMS.values()) - {"weak"}
    assert abs(sum(terms.values()) - loss) < 1e-3 * abs(loss)
    assert abs(terms["label_unlabelled"]) < 1e-4  # eval mode: the head and the label prior are one function

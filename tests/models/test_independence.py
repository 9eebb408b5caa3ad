"""The independence term and the loss split: what each one measures, and that they reach the right parameters."""

from __future__ import annotations

import warnings

import pyro
import torch

from tests.models.test_ssvae import _fractions, _vae
from vae_design.models.independence import class_independence
from vae_design.models.ssvae import TERMS, elbo_terms


def test_class_independence_sees_a_label_in_the_class_means_or_spreads_and_follows_soft_memberships():
    torch.manual_seed(2)
    z = torch.randn(400, 3)
    onehot = torch.nn.functional.one_hot(torch.arange(400) % 2, 2).float()
    independent = float(class_independence(z, onehot))
    shifted = z.clone()
    shifted[::2] += 1.0  # class 0 moved: its mean carries the label
    wider = z.clone()
    wider[::2] *= 3.0  # class 0 spread: a label only a nonlinear probe reads
    assert float(class_independence(shifted, onehot)) > 10 * independent
    assert float(class_independence(wider, onehot)) > 5 * independent
    # soft memberships of 0.5 say nothing about the class: no dependence to see, whatever z does
    assert float(class_independence(shifted, torch.full((400, 2), 0.5))) < 1e-6


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


def test_the_nuisance_density_follows_the_encoded_alloys_and_conditional_draws_follow_the_class():
    from vae_design.models.target import NuisanceDensity

    torch.manual_seed(3)
    clusters = torch.cat([torch.randn(300, 2) * 0.1 + 2.0, torch.randn(300, 2) * 0.1 - 2.0])
    density = NuisanceDensity(2)
    assert torch.allclose(density.sample(2000, torch.Generator().manual_seed(0)).std(0), torch.ones(2), atol=0.1)
    drawn = density.fit(clusters).sample(2000, torch.Generator().manual_seed(0))
    assert (drawn.abs() > 1.5).float().mean() > 0.97  # near the two clusters, not the prior's middle
    vae = _vae()
    y = torch.tensor([0, 1] * 500)
    z = vae.prior_latents(y, seed=1, temperature=1.0, nuisance="prior")
    z_y = vae.split(z)[0]
    assert z.shape == (1000, vae.config.latent_dim)
    assert (z_y[y == 1].mean(0) > 0.5).all() and (z_y[y == 0].mean(0) < -0.5).all()
    assert torch.equal(vae.split(vae.with_target(z, 1))[1], vae.split(z)[1])  # the intervention keeps z_n

"""The independence term and the loss split: what each one measures, and that they reach the right parameters."""

from __future__ import annotations

import warnings

import pyro
import pytest
import torch

from tests.models.test_ssvae import _fractions, _vae
from vae_design.models.independence import class_independence
from vae_design.models.terms import TERMS, elbo_terms


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


def test_the_nuisance_density_follows_the_encoded_alloys_of_each_class_and_count():
    from vae_design.models.nuisance import NuisanceDensity

    torch.manual_seed(3)
    # class 1 with 4 elements near +2, class 0 with 4 elements near -2, 5-element alloys (any class) near (2, -2)
    z = torch.cat([torch.randn(300, 2) * 0.1 + 2.0, torch.randn(300, 2) * 0.1 - 2.0, torch.randn(100, 2) * 0.1])
    z[600:] += torch.tensor([2.0, -2.0])
    classes = torch.tensor([1] * 300 + [0] * 300 + [0] * 50 + [1] * 50)
    counts = torch.tensor([4] * 600 + [5] * 100)
    density = NuisanceDensity(2, n_classes=2, max_count=10)
    unfitted = density.sample(torch.full((2000,), 4), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(unfitted.std(0), torch.ones(2), atol=0.1)  # N(0, I) before fitting
    density.fit(z, classes, counts)

    def draws(count, cls=None):
        counts = torch.full((1000,), count)
        chosen = None if cls is None else torch.full((1000,), cls)
        return density.sample(counts, chosen, torch.Generator().manual_seed(0))

    assert (draws(4, 1) > 1.5).all(-1).float().mean() > 0.97  # class 1, four elements: its own cluster
    assert (draws(4, 0) < -1.5).all(-1).float().mean() > 0.97
    assert (draws(4).abs() > 1.5).all(-1).float().mean() > 0.97  # any class: both clusters, not the middle
    five = draws(5, 1)  # 50 alloys: a group of their own (MIN_ALLOYS 30)
    assert ((five - torch.tensor([2.0, -2.0])).norm(dim=-1) < 0.5).float().mean() > 0.97
    six = draws(6, 0)  # no 6-element alloys at all: class 0 over every count (its 4- and 5-element alloys)
    assert ((six[:, 0] < -1.5) | ((six - torch.tensor([2.0, -2.0])).norm(dim=-1) < 0.5)).float().mean() > 0.97
    # 5-element alloys of class 1 alone are too few: the 5-element alloys of every class come before class 1's others
    few = NuisanceDensity(2, n_classes=2, max_count=10).fit(
        z, torch.tensor([1] * 300 + [0] * 300 + [0] * 90 + [1] * 10), counts
    )
    five_of_one = few.sample(
        torch.full((1000,), 5), torch.ones(1000, dtype=torch.long), torch.Generator().manual_seed(0)
    )
    assert ((five_of_one - torch.tensor([2.0, -2.0])).norm(dim=-1) < 0.5).float().mean() > 0.97
    vae = _vae()
    y = torch.tensor([0, 1] * 500)
    z = vae.prior_latents(y, 4, seed=1, temperature=1.0, nuisance="prior")
    z_y = vae.split(z)[0]
    assert z.shape == (1000, vae.config.latent_dim)
    assert (z_y[y == 1].mean(0) > 0.5).all() and (z_y[y == 0].mean(0) < -0.5).all()
    assert torch.equal(vae.split(vae.with_target(z, 1))[1], vae.split(z)[1])  # the intervention keeps z_n


def test_the_nuisance_density_fits_as_many_components_as_asked_within_its_slots():
    from vae_design.models.nuisance import NuisanceDensity

    torch.manual_seed(0)
    z, classes, counts = torch.randn(300, 2), torch.tensor([0, 1] * 150), torch.full((300,), 4)
    for asked, fitted in ((3, 3), (5, 5), (None, NuisanceDensity.COMPONENTS)):
        density = NuisanceDensity(2, n_classes=2, max_count=10).fit(z, classes, counts, components=asked)
        group = density.groups(torch.ones(1, dtype=torch.long), torch.full((1,), 4))[0]
        assert int((density.weight[group] > 0).sum()) == fitted
        assert torch.isclose(density.weight[group].sum(), torch.tensor(1.0))
    for impossible in (0, NuisanceDensity.SLOTS + 1):
        with pytest.raises(ValueError, match="components must be"):
            NuisanceDensity(2, n_classes=2, max_count=10).fit(z, classes, counts, components=impossible)

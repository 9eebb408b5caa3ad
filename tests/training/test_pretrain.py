"""Pretraining the head's composition network on hea-bench's cheap descriptors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.models.test_ssvae import ELEMENTS, _vae
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError
from vae_design.features.cheap_targets import TARGETS, descriptor_targets
from vae_design.models.ssvae import PhaseVAE, VAEConfig
from vae_design.training.pretrain import (
    Pretraining,
    enumerate_compositions,
    freeze_pretrained,
    pretrain_head,
    pretrain_on,
)

SEEDS = [
    {"Al": 0.2, "Co": 0.2, "Cr": 0.2, "Fe": 0.2, "Ni": 0.2},
    {"Co": 0.3, "Cr": 0.3, "Ni": 0.4},
    {"Ti": 0.5, "Mo": 0.5},
]


def test_enumerated_alloys_look_like_the_given_ones():
    alloys = enumerate_compositions(SEEDS, 200, seed=3)
    assert len(alloys) == 200
    assert alloys == enumerate_compositions(SEEDS, 200, seed=3)  # seeded
    assert alloys != enumerate_compositions(SEEDS, 200, seed=4)
    for alloy in alloys:
        assert 3 <= len(alloy) <= 6 and set(alloy) <= set(ELEMENTS)
        assert math.isclose(sum(alloy.values()), 1.0) and min(alloy.values()) > 0
    assert enumerate_compositions(SEEDS[2:], 5) == []  # fewer than three elements to draw from


def test_targets_are_hea_benchs_descriptors():
    import hea_bench.descriptors as d

    values = descriptor_targets(SEEDS[:1], TARGETS)
    assert values.shape == (1, len(TARGETS))
    assert values[0, TARGETS.index("dH_mix")] == pytest.approx(d.mixing_enthalpy(SEEDS[0]))
    assert values[0, TARGETS.index("delta")] == pytest.approx(d.delta(SEEDS[0]))
    assert values[0, TARGETS.index("omega")] == pytest.approx(math.log1p(d.omega(SEEDS[0])))
    assert np.isnan(descriptor_targets([{"Co": 0.5, "Og": 0.5}], ("dH_mix",))).all()  # no data: masked


def test_pretraining_learns_the_targets_and_leaves_the_head_where_the_prior_put_it():
    torch.manual_seed(0)
    vae = _vae()
    compositions = enumerate_compositions(SEEDS, 600, seed=0)
    x = ElementVocabulary(ELEMENTS).to_tensor(compositions)
    before = [p.detach().clone() for p in vae.head.embedding.net[:-1].parameters()]
    figures = pretrain_head(vae, x, descriptor_targets(compositions), Pretraining(epochs=30, batch_size=64))
    assert figures["pretrain/r2"] > 0.5  # held-out R^2 over the eight targets
    assert figures["pretrain/compositions"] == 600
    after = list(vae.head.embedding.net[:-1].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    # h's last layer is untouched (zero): the pretrained head still starts as the expert-prior linear model
    assert (vae.head.embedding.net[-1].weight == 0).all()
    assert vae.head.embedding.net.training  # dropout back on for fine-tuning


def test_freeze_keeps_the_pretrained_layers_out_of_fine_tuning():
    vae = _vae()
    freeze_pretrained(vae, Pretraining(freeze=True))
    assert not any(p.requires_grad for p in vae.head.embedding.net[:-1].parameters())
    assert all(p.requires_grad for p in vae.head.embedding.net[-1].parameters())
    freeze_pretrained(vae, Pretraining(freeze=False))
    assert all(p.requires_grad for p in vae.head.embedding.net.parameters())


def test_pretraining_pool_skips_alloys_the_model_cannot_describe():
    vae = _vae()
    figures = pretrain_on(vae, ElementVocabulary(ELEMENTS), SEEDS, Pretraining(enumerated=50, epochs=1))
    assert figures["pretrain/compositions"] == 53


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"targets": ("nope",)}, "pretrain.targets must name targets"),
        ({"epochs": 0}, "pretrain.epochs must be a whole number >= 1"),
        ({"enumerated": -1}, "pretrain.enumerated must be a whole number >= 0"),
        ({"learning_rate": 0.0}, "pretrain.learning_rate must be positive"),
    ],
)
def test_bad_settings_are_one_line_errors(settings, message):
    with pytest.raises(InputError, match=message):
        Pretraining(**settings)


def test_a_linear_head_cannot_be_pretrained():
    with pytest.raises(InputError, match="embedding_hidden > 0"):
        linear = PhaseVAE(VAEConfig(elements=ELEMENTS, z_dim=2, hidden=16, embedding_hidden=0))
        pretrain_head(linear, torch.zeros(2, len(ELEMENTS)), np.zeros((2, 1)), Pretraining())

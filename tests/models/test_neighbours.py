"""The measured-neighbour update: near measured alloys their labels count, far from them the head stands."""

from __future__ import annotations

import math

import numpy as np
import torch

from vae_design.models.neighbours import SCALES, STRENGTHS, NeighbourEvidence

TRAIN = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], dtype=torch.float64)


def test_a_measured_twin_pulls_the_prediction_and_a_stranger_does_not():
    evidence = NeighbourEvidence(TRAIN, torch.tensor([1, 0]), 2, scale=0.02, strength=0.3)
    head = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    queries = torch.tensor([[0.49, 0.51, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    updated = evidence.update(queries, head)
    assert updated[0, 1] > 0.7  # 2 at.% (L1 0.02) from a single-phase alloy
    assert torch.allclose(updated[1], head[1], atol=1e-6)  # L1 distance 1 from everything measured
    assert torch.allclose(updated.sum(1), torch.ones(2, dtype=torch.float64))


def test_infinite_strength_is_off():
    evidence = NeighbourEvidence(TRAIN, torch.tensor([1, 0]), 2, strength=math.inf)
    head = torch.tensor([[0.2, 0.8]], dtype=torch.float64)
    assert torch.equal(evidence.update(TRAIN[:1], head), head)


def test_selection_switches_off_when_neighbours_mislead():
    rng = np.random.default_rng(0)
    fractions = torch.as_tensor(rng.dirichlet(np.ones(4), size=200))
    truth = (fractions[:, 0] > 0.25).long()
    evidence = NeighbourEvidence(fractions, 1 - truth, 2)  # every measured label flipped
    val = fractions + 0.001
    val = val / val.sum(1, keepdim=True)
    head = torch.nn.functional.one_hot(truth, 2).double() * 0.8 + 0.1
    assert math.isinf(evidence.select(val, truth.numpy(), head)["strength"])
    honest = NeighbourEvidence(fractions, truth, 2)
    assert math.isfinite(honest.select(val, truth.numpy(), torch.full((200, 2), 0.5, dtype=torch.float64))["strength"])


def test_a_neighbour_beyond_five_at_percent_is_no_evidence_whatever_the_kernel():
    # 6 at.% moved (L1 0.12): outside WITHIN, so even the widest kernel with the weakest prior leaves the head alone
    evidence = NeighbourEvidence(TRAIN, torch.tensor([1, 0]), 2, scale=max(SCALES), strength=min(STRENGTHS))
    head = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    query = torch.tensor([[0.44, 0.56, 0.0]], dtype=torch.float64)
    assert torch.allclose(evidence.update(query, head), head)
    assert not evidence.outweighs_head(query).any()
    near = torch.tensor([[0.48, 0.52, 0.0]], dtype=torch.float64)  # 2 at.%
    assert evidence.outweighs_head(near).all()


def test_the_uncertainty_shrinks_with_the_probability_it_describes():
    evidence = NeighbourEvidence(TRAIN, torch.tensor([1, 0]), 2, scale=0.02, strength=1.0)
    head = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    std = torch.full((2, 2), 0.2, dtype=torch.float64)
    queries = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    updated, spread = evidence.update(queries, head, std)
    # p' = (s p + c) / (s + C) is linear in p: a twin with weight 1 against strength 1 halves the head's spread
    assert torch.allclose(spread[0], torch.full((2,), 0.1, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(spread[1], std[1])  # a stranger: unchanged
    assert torch.allclose(updated, evidence.update(queries, head))

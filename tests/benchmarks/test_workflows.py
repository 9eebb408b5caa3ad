"""The workflow comparison's judge (vae_design/benchmarks/workflows.py): what counts as a hit."""

import numpy as np
import torch

from vae_design.benchmarks.workflows import HIT_DISTANCE, judge
from vae_design.data.vocabulary import ElementVocabulary


class FixedOracle:
    """Single phase exactly for the alloys that contain Ti."""

    def predict_proba(self, compositions):
        return np.array([1.0 if "Ti" in c else 0.0 for c in compositions])


class OneKnownAlloy:
    """Known alloys: Co25Cr25Fe25Ni25 alone; distances in at.% (half the L1 distance)."""

    def __init__(self, vocabulary):
        self.known = vocabulary.to_tensor([{"Co": 0.25, "Cr": 0.25, "Fe": 0.25, "Ni": 0.25}], dtype=torch.float64)

    def nearest(self, x):
        distance = 50.0 * (x.double() - self.known).abs().sum(-1)
        return np.zeros(len(x), dtype=int), distance.numpy()


def test_a_hit_is_distinct_single_phase_and_far_from_every_known_alloy():
    vocabulary = ElementVocabulary(("Ti", "Cr", "Fe", "Co", "Ni"))
    formulas = [
        "Co25Cr25Fe25Ni25",  # the known alloy itself: not far, not single phase
        "Co20Cr20Fe20Ni20Ti20",  # 20 at.% away, single phase: a hit
        "Co20Cr20Fe20Ni20Ti20",  # the same again: counted once
        "Co24Cr25Fe25Ni25Ti1",  # single phase but 1 at.% away: no hit
        "Co10Cr30Fe30Ni30",  # far but multi-phase: no hit
    ]
    figures = judge(formulas, 30.0, FixedOracle(), OneKnownAlloy(vocabulary), vocabulary, n=10)
    assert figures["candidates"] == 4
    assert figures["hits"] == 1 and figures["hit_sets"] == 1
    assert figures["hits_per_minute"] == 2.0 and figures["hits_per_1000"] == 250.0
    assert figures["oracle_single_phase"] == 0.5 and HIT_DISTANCE == 10.0
    assert judge(formulas, 30.0, FixedOracle(), OneKnownAlloy(vocabulary), vocabulary, n=1)["hits"] == 0

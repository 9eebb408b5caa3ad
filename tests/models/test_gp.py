"""The Gaussian-process head (models/gp.py): its spread grows away from the data, it trains inside the model, the
report lists it, and a bad setting is refused."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_design.errors import InputError
from vae_design.models.gp import HeadProcess
from vae_design.models.ssvae import PhaseVAE, VAEConfig

sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
from test_fit import FAST, _alloys  # noqa: E402


def test_the_spread_of_g_grows_away_from_the_inducing_inputs():
    process = HeadProcess(n_inputs=3, n_outputs=1, n_inducing=16).eval()
    near = torch.randn(50, 3) * 0.5
    process.initialise(near, torch.zeros(0, 3), seed=0)
    _, conditional_near = process.projection(near)
    _, conditional_far = process.projection(near + 20.0)
    # at the inducing inputs g is pinned by q(v); 20 length-scales away only its prior variance s^2 = 1 is left
    assert conditional_far.min() > 0.99
    assert conditional_near.mean() < 0.5 * conditional_far.mean()
    generator = torch.Generator().manual_seed(0)
    spread_near = process.at(near, *process.sample(256, generator)).std(0).mean()
    spread_far = process.at(near + 20.0, *process.sample(256, generator)).std(0).mean()
    assert spread_far > 1.5 * spread_near


def test_the_composition_term_tells_apart_alloys_whose_descriptors_agree():
    process = HeadProcess(n_inputs=2, n_outputs=1, n_inducing=8, n_elements=4).eval()
    descriptors = torch.randn(8, 2) * 0.3
    known = torch.cat([descriptors, torch.tensor([[0.5, 0.5, 0.0, 0.0]]).expand(8, 4)], 1)
    process.initialise(known, torch.zeros(0, 6), seed=0)
    new = torch.cat([descriptors, torch.tensor([[0.0, 0.0, 0.5, 0.5]]).expand(8, 4)], 1)  # same descriptors
    _, conditional_known = process.projection(known)
    _, conditional_new = process.projection(new)
    # the composition's share s_c^2 = 1 of the prior variance 2 comes back 100 at.% away from every inducing input
    assert (conditional_new - conditional_known).min() > 0.9
    # a palette's columns with the inducing inputs' other fractions summed give the whole vocabulary's kernel
    z = process.inducing.detach()
    palette = new[:, [0, 1, 4, 5]]
    assert torch.allclose(process.kernel(palette, z, columns=[2, 3]), process.kernel(new, z), atol=1e-6)
    assert process.relevance().shape == (3,) and torch.isclose(process.relevance().sum(), torch.tensor(1.0))


def test_initialise_starts_the_inducing_inputs_at_labelled_alloys_first():
    process = HeadProcess(n_inputs=2, n_outputs=1, n_inducing=4)
    labelled = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])  # two distinct
    pool = torch.tensor([[1.0, 1.0], [5.0, 5.0], [6.0, 6.0], [7.0, 7.0]])
    process.initialise(labelled, pool, seed=0)
    rows = {tuple(row) for row in process.inducing.detach().tolist()}
    assert {(0.0, 0.0), (1.0, 1.0)} <= rows and len(rows) == 4  # no duplicate of a labelled alloy from the pool
    many = HeadProcess(n_inputs=2, n_outputs=1, n_inducing=40)
    labelled = torch.randn(30, 2)
    many.initialise(labelled, torch.cat([labelled, torch.randn(30, 2) + 10]), seed=0)
    assert len(torch.unique(many.inducing.detach(), dim=0)) == 40


def test_a_gp_head_trains_and_reports_a_spread_that_grows_off_the_data(tmp_path, monkeypatch):
    from vae_design.api import AlloyVAE
    from vae_design.training.metrics import classification_metrics

    train, y = _alloys(160, 0)
    pool, _ = _alloys(200, 1)
    val, y_val = _alloys(60, 2)
    # the descriptor kernel alone: 16 inducing inputs leave most compositions unpinned, so the composition term's
    # growth is checked where it can be seen (test_the_composition_term_tells_apart_alloys_whose_descriptors_agree)
    model = AlloyVAE(z_dim=2, hidden=32, head_function="gp", gp_inducing=16, gp_composition=False, training=FAST)
    model.fit(train, y, unlabelled=pool, val=(val, y_val), seed=0)
    assert model.vae.head.embedding is None and model.vae.head.process is not None
    test, y_test = _alloys(200, 3)
    assert classification_metrics(y_test, model.predict_proba(test), "test")["test/auc"] > 0.85
    # six standard deviations off in every descriptor the trained g knows less than at the test alloys
    head = model.vae.head
    inputs = head.process_inputs(model.vocabulary.to_tensor(test))
    far = inputs + 6.0
    generator = torch.Generator().manual_seed(0)
    spread_test = head.process.at(inputs, *head.process.sample(128, generator)).std(0).mean()
    spread_far = head.process.at(far, *head.process.sample(128, generator)).std(0).mean()
    assert spread_far > 1.5 * spread_test
    # predict_proba's uncertainty includes g's spread (not only q(w)'s), and a saved model reads back the same
    p, sd = model.predict_proba(test[:20], return_std=True, neighbours=False)
    process, trained_scale = model.vae.head.process, model.vae.head.process.scale_raw.data.clone()
    process.scale_raw.data = torch.diag_embed(torch.full_like(process.loc, -20.0))  # q(v) nearly a point mass
    _, sd_point = model.predict_proba(test[:20], return_std=True, neighbours=False)
    process.scale_raw.data = trained_scale
    assert (sd > sd_point).mean() > 0.9
    loaded = AlloyVAE.load(model.save(tmp_path / "bundle"))
    assert np.allclose(
        loaded.predict_proba(test[:20], neighbours=False), model.predict_proba(test[:20], neighbours=False)
    )
    # a format-8 bundle (before model.gp_composition) is a gp head without the composition term
    meta_path = tmp_path / "bundle" / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["gp_composition"]
    meta_path.write_text(json.dumps(meta | {"format": 8}))
    assert AlloyVAE.load(tmp_path / "bundle").vae.head.process.n_elements == 0
    # a warm start keeps the inducing inputs its inducing values belong to (no fresh initialise)
    calls = []
    monkeypatch.setattr(HeadProcess, "initialise", lambda *args, **kwargs: calls.append(args))
    warm = AlloyVAE(z_dim=2, hidden=32, head_function="gp", gp_inducing=16, training=replace(FAST, max_epochs=1))
    warm.fit(train, y, unlabelled=pool, val=(val, y_val), seed=1, init=model.vae)
    assert warm.history["update/warm_start"] == 1.0 and calls == []


def test_the_inducing_values_are_a_latent_site_of_model_and_guide_in_the_head_term():
    from pyro import poutine

    from vae_design.models.terms import TERMS

    vae = PhaseVAE(VAEConfig(elements=("Co", "Cr", "Fe", "Ni"), z_dim=2, hidden=8, head_function="gp", gp_inducing=4))
    x = torch.tensor([[0.25, 0.25, 0.25, 0.25], [0.5, 0.0, 0.5, 0.0], [0.3, 0.3, 0.4, 0.0]])
    vae.head.scaler.fit(vae.head.descriptors(x.double()).float())
    args = (x, torch.tensor([1, 0, 1]), None, 3, 0)
    guide = poutine.trace(vae.guide).get_trace(*args)
    model = poutine.trace(poutine.replay(vae.model, trace=guide)).get_trace(*args)
    assert guide.nodes["process"]["value"].shape == (1, 4) and not guide.nodes["process"]["is_observed"]
    assert torch.equal(model.nodes["process"]["value"], guide.nodes["process"]["value"])
    assert TERMS["process"] == "kl_head"


def test_an_alloys_probability_does_not_depend_on_its_batch():
    vae = PhaseVAE(VAEConfig(elements=("Co", "Cr", "Fe", "Ni"), z_dim=2, hidden=8, head_function="gp", gp_inducing=4))
    x = torch.distributions.Dirichlet(torch.ones(4)).sample((10,))
    vae.head.scaler.fit(vae.head.descriptors(x.double()).float())
    with torch.no_grad():
        vae.head.process.loc.normal_(0, 1.0)
    vae.eval()
    alone, alone_sd = vae.class_probabilities(x[:1])
    batch, batch_sd = vae.class_probabilities(x)
    assert torch.allclose(alone, batch[:1], atol=1e-6) and torch.allclose(alone_sd, batch_sd[:1], atol=1e-6)


@pytest.mark.parametrize("values", [{"head_function": "forest"}, {"gp_inducing": 0}, {"gp_composition": "false"}])
def test_bad_gp_settings_are_refused(values):
    with pytest.raises(InputError, match="model\\."):
        VAEConfig(elements=("Co", "Cr"), **values)


def test_the_report_lists_each_descriptors_share_of_g():
    from types import SimpleNamespace

    from vae_design.inspect.report import _flexible, _posterior_section

    posterior = {"delta": {"mean": -0.5, "lo": -0.7, "hi": -0.3, "prior_mean": -1.0, "prior_scale": 0.5}}
    summary = {"posterior_level": 0.9, "posterior": posterior, "posterior_sign_flips": [], "posterior_contradicts": []}
    relevance = {"delta": {"share": 0.7, "lengthscale": 0.4}, "composition": {"share": 0.3, "lengthscale": 0.2}}
    summary["model"] = {"gp_relevance": relevance}
    text = "\n".join(_posterior_section(SimpleNamespace(summary=summary)))
    assert "| `delta` | 0.70 | 0.40 |" in text and "| `composition` | 0.30 | 0.20 |" in text
    assert _flexible(relevance).endswith("descriptors and the composition") and _flexible({}).endswith("composition")
    assert "process over the same descriptors" in _flexible({"delta": relevance["delta"]})
    summary["model"] = {"gp_relevance": {}}  # a network head: no table
    assert "share of g" not in "\n".join(_posterior_section(SimpleNamespace(summary=summary)))


def test_a_gp_head_with_the_composition_term_reads_back_from_its_config_and_weights():
    config = VAEConfig(elements=("Co", "Cr", "Fe", "Ni"), z_dim=2, hidden=8, head_function="gp", gp_composition=True)
    vae = PhaseVAE(config)
    with torch.no_grad():
        vae.head.process.log_composition_scale.fill_(-1.0)  # not the value a fresh model starts with
    back = PhaseVAE(VAEConfig.from_dict(json.loads(json.dumps(config.to_dict()))))  # as the bundle stores it
    back.load_state_dict(vae.state_dict())  # strict: the composition term's parameters are in both
    assert back.head.process.n_elements == 4 and back.head.process.log_composition_scale.item() == -1.0


def test_inspect_reads_the_composition_terms_share_and_length_scale():
    from types import SimpleNamespace

    from vae_design.inspect.inspection import _model_summary

    config = VAEConfig(elements=("Co", "Cr", "Fe", "Ni"), z_dim=2, hidden=8, head_function="gp", gp_composition=True)
    vae = PhaseVAE(config)
    data = SimpleNamespace(train=([0] * 3,), pool=[0] * 5, val=([0] * 2,))
    model = SimpleNamespace(vae=vae, target="single_phase", classes=config.classes)
    view = SimpleNamespace(descriptors=config.descriptors)
    summary = _model_summary(SimpleNamespace(model=model, data=data, parts={}, view=view))
    relevance = summary["gp_relevance"]
    assert list(relevance) == [*config.descriptors, "composition"]
    assert relevance["composition"] == pytest.approx({"share": 0.5, "lengthscale": 0.2})  # s_c^2 = s^2 = 1 at the start
    assert sum(row["share"] for row in relevance.values()) == pytest.approx(1.0)

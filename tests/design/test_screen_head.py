"""The screen's fast head equals the model's head: palette-only descriptors and first layer, one matmul per draw."""

import types

import pytest
import torch

from vae_design.data.vocabulary import ElementVocabulary
from vae_design.design.constraints import AlloyConstraints
from vae_design.design.screen import _PaletteHead, enumerate_chunks, expand, plan_screen
from vae_design.models.ssvae import PhaseVAE, VAEConfig

ELEMENTS = ("Al", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zr", "Nb", "Mo")


def _screened(**architecture):
    """An untrained model over ELEMENTS, a small screen plan, its grid steps and fractions (scaler fitted)."""
    torch.manual_seed(0)
    vae = PhaseVAE(VAEConfig(elements=ELEMENTS, hidden=16, **architecture)).eval()
    model = types.SimpleNamespace(vae=vae, vocabulary=ElementVocabulary(ELEMENTS), classes=vae.config.classes)
    rules = AlloyConstraints.from_settings(model.vocabulary, min_elements=3, max_elements=4, grid=5)
    plan = plan_screen(rules, ("Cr", "Fe", "Ni", "Co", "Mn"), spread=5.0, limit=10**5)
    counts = torch.cat(list(enumerate_chunks(plan, chunk=10**5)))
    x = expand(plan, counts, len(ELEMENTS)).float() / rules.steps
    vae.head.scaler.fit(vae.head.descriptors(x.double()).float())
    return vae, model, plan, counts, x, rules.steps


def test_palette_head_matches_the_model_head():
    vae, model, plan, counts, x, steps = _screened(embedding_hidden=8)
    embedding = vae.head.embedding
    with torch.no_grad():  # an untrained head has a zero last layer and projection; make them count
        embedding.net[-1].weight.normal_(0, 0.5)
        embedding.projection.normal_(0, 0.1)
    fast = _PaletteHead(model, plan, samples=8)
    mean, std, raw = fast(counts, steps)
    with torch.no_grad():
        expected = vae.head.logits(x, vae.head.features(x), fast.w, fast.b).softmax(-1)
        expected_raw = vae.head.descriptors(x)
    assert torch.allclose(raw, expected_raw, rtol=1e-4, atol=1e-4)
    assert torch.allclose(mean, expected.mean(0), atol=1e-5)
    assert torch.allclose(std, expected.std(0), atol=1e-5)
    assert mean[:, 1].std() > 0.01  # the check is not comparing constants


@pytest.mark.parametrize("composition", [False, True])
def test_palette_head_reads_a_gp_head_as_the_model_does(composition):
    vae, model, plan, counts, x, steps = _screened(head_function="gp", gp_inducing=8, gp_composition=composition)
    process = vae.head.process
    with torch.no_grad():
        inputs = vae.head.process_inputs(x)
        process.initialise(inputs, inputs[:0], seed=0)
        # inducing compositions with fractions outside the palette too: the palette path's L1 sum must count them
        process.inducing[:, process.n_descriptors :] += 0.05 * torch.rand_like(process.inducing[:, 9:])
        process.loc.normal_(0, 1.0)  # an untrained g is 0: make it count
    mean, std, _ = _PaletteHead(model, plan, samples=512)(counts, steps)
    expected = vae.posterior_probabilities(x, n_samples=512)  # other draws of g: Monte Carlo agreement
    assert torch.allclose(mean, expected.mean(0), atol=0.03)
    assert torch.allclose(std, expected.std(0), atol=0.03)
    assert mean[:, 1].std() > 0.05  # the check is not comparing constants


@pytest.mark.parametrize("head_function", ["network", "gp"])
def test_palette_head_scores_a_four_class_head_as_the_model_does(head_function):
    classes = ("multi-phase", "BCC", "FCC", "HCP")
    vae, model, plan, counts, x, steps = _screened(classes=classes, head_function=head_function, gp_inducing=8)
    mean, std, _ = _PaletteHead(model, plan, samples=512)(counts, steps)
    expected = vae.posterior_probabilities(x, n_samples=512)
    assert mean.shape == (len(x), 4)
    assert torch.allclose(mean, expected.mean(0), atol=0.03) and torch.allclose(std, expected.std(0), atol=0.03)

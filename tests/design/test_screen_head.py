"""The screen's fast head equals the model's head: palette-only descriptors and first layer, one matmul per draw."""

import types

import torch

from vae_design.data.vocabulary import ElementVocabulary
from vae_design.design.constraints import AlloyConstraints
from vae_design.design.screen import _PaletteHead, enumerate_chunks, expand, plan_screen
from vae_design.models.ssvae import PhaseVAE, VAEConfig


def test_palette_head_matches_the_model_head():
    elements = ("Al", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zr", "Nb", "Mo")
    torch.manual_seed(0)
    vae = PhaseVAE(VAEConfig(elements=elements, hidden=16, embedding_hidden=8)).eval()
    embedding = vae.head.embedding
    with torch.no_grad():  # an untrained head has a zero last layer and projection; make them count
        embedding.net[-1].weight.normal_(0, 0.5)
        embedding.projection.normal_(0, 0.1)
    model = types.SimpleNamespace(vae=vae, vocabulary=ElementVocabulary(elements), classes=vae.config.classes)
    rules = AlloyConstraints.from_settings(model.vocabulary, min_elements=3, max_elements=4, grid=5)
    plan = plan_screen(rules, ("Cr", "Fe", "Ni", "Co", "Mn"), spread=5.0, limit=10**5)
    counts = torch.cat(list(enumerate_chunks(plan, chunk=10**5)))
    x = expand(plan, counts, len(elements)).float() / rules.steps
    vae.head.scaler.fit(vae.head.descriptors(x.double()).float())
    fast = _PaletteHead(model, plan, samples=8)
    mean, std, raw = fast(counts, rules.steps)
    with torch.no_grad():
        expected = vae.head.logits(x, vae.head.features(x), fast.w, fast.b).softmax(-1)
        expected_raw = vae.head.descriptors(x)
    assert torch.allclose(raw, expected_raw, rtol=1e-4, atol=1e-4)
    assert torch.allclose(mean, expected.mean(0), atol=1e-5)
    assert torch.allclose(std, expected.std(0), atol=1e-5)
    assert mean[:, 1].std() > 0.01  # the check is not comparing constants

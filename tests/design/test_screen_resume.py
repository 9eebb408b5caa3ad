"""A screen killed part-way continues from its work folder and ends exactly as an uninterrupted one."""

import types

import pandas as pd
import pytest
import torch

from vae_design.data.vocabulary import ElementVocabulary
from vae_design.design.constraints import AlloyConstraints
from vae_design.design.screen import enumerate_chunks, expand, plan_screen, run_screen
from vae_design.errors import InputError
from vae_design.models.ssvae import PhaseVAE, VAEConfig

ELEMENTS = ("Al", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu")


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def screen():
    torch.manual_seed(0)
    vae = PhaseVAE(VAEConfig(elements=ELEMENTS, hidden=16, embedding_hidden=8)).eval()
    with torch.no_grad():
        vae.head.embedding.net[-1].weight.normal_(0, 0.5)
    model = types.SimpleNamespace(vae=vae, vocabulary=ElementVocabulary(ELEMENTS), classes=vae.config.classes)
    rules = AlloyConstraints.from_settings(model.vocabulary, min_elements=3, max_elements=5, grid=5)
    plan = plan_screen(rules, ("Al", "Cr", "Fe", "Ni", "Co", "Mn", "Ti"), spread=5.0, limit=10**6)
    counts = torch.cat(list(enumerate_chunks(plan, chunk=10**6)))
    vae.head.scaler.fit(vae.head.descriptors(expand(plan, counts, len(ELEMENTS)).double() / rules.steps).float())
    return model, rules, plan


def _run(screen, folder, progress=None, keep=20):
    model, rules, plan = screen
    torch.manual_seed(1)  # the head's posterior draws, as the CLI's seed fixes them
    return run_screen(
        model,
        plan,
        1,
        keep,
        rules,
        folder / "screen.parquet",
        chunk=500,
        samples=4,
        progress=progress,
        work=folder / "work",
    )


def test_an_interrupted_screen_resumes_to_the_uninterrupted_result(screen, tmp_path):
    every = []
    whole, whole_scored = _run(screen, tmp_path / "whole", lambda done, total: every.append(done))
    chunks = []

    def kill_after_three(done, total):
        chunks.append(done)
        if len(chunks) == 3:
            raise Killed

    with pytest.raises(Killed):
        _run(screen, tmp_path / "resumed", kill_after_three)
    assert not (tmp_path / "resumed" / "screen.parquet").exists()
    assert len(list((tmp_path / "resumed" / "work").glob("part-*.parquet"))) == 3
    seen = []
    resumed, resumed_scored = _run(screen, tmp_path / "resumed", lambda done, total: seen.append(done))
    assert chunks == every[:3] and seen == every[3:]  # continued after the third chunk, not from zero
    assert resumed_scored == whole_scored == screen[2].total
    assert torch.equal(resumed, whole)
    before = pd.read_parquet(tmp_path / "whole" / "screen.parquet")
    after = pd.read_parquet(tmp_path / "resumed" / "screen.parquet")
    pd.testing.assert_frame_equal(before, after)
    assert len(after) == screen[2].total and after["formula"].is_unique


def test_a_work_folder_of_another_screen_is_refused(screen, tmp_path):
    _run(screen, tmp_path, keep=20)
    with pytest.raises(InputError, match="other settings"):
        _run(screen, tmp_path, keep=21)

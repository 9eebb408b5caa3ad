"""trainer.threads: how many torch threads a training run takes, and that the caller's setting comes back."""

from __future__ import annotations

import pytest
import torch

from vae_design.errors import InputError
from vae_design.training.settings import TrainingSettings, resolve_threads


@pytest.mark.parametrize(
    ("choice", "cores", "load", "jobs", "threads"),
    [
        (3, 2, 0.0, 1, 3),  # a whole number is taken as it is
        ("auto", 2, 0.05, 1, 2),  # a quiet machine: every core
        ("auto", 2, 1.0, 1, 1),  # another training run on one core: the idle one
        ("auto", 2, 5.0, 1, 1),  # overloaded: still one
        ("auto", 16, 3.4, 1, 13),
        ("auto", 2, 0.0, 2, 1),  # a multirun job beside one other: its share, whatever the load says
        ("auto", 16, 0.0, 4, 4),
    ],
)
def test_auto_takes_the_idle_cores_or_a_jobs_share(choice, cores, load, jobs, threads):
    assert resolve_threads(choice, cores=cores, load=load, jobs=jobs) == threads


@pytest.mark.parametrize("value", [0, -1, True, "many", 1.5])
def test_a_bad_thread_count_is_refused(value):
    with pytest.raises(InputError, match="trainer.threads must be auto or a whole number >= 1"):
        TrainingSettings(threads=value)


def test_training_uses_its_threads_and_gives_the_callers_back():
    from tests.training.test_fit import _alloys
    from vae_design.api import AlloyVAE

    seen = []
    original = torch.set_num_threads

    def recording(n: int) -> None:
        seen.append(n)
        original(n)

    before = torch.get_num_threads()
    train, y = _alloys(60, 1)
    settings = TrainingSettings(max_epochs=1, progress_bar=False, loggers=(), threads=1)
    torch.set_num_threads = recording
    try:
        AlloyVAE(z_dim=2, hidden=16, embedding_hidden=8, training=settings).fit(train, y, val=_alloys(20, 2))
    finally:
        torch.set_num_threads = original
    assert seen[0] == 1 and seen[-1] == before and torch.get_num_threads() == before

"""Tiny synthetic alloy files and one small trained run, shared by the train and predict tests.

The alloys are Al + Co-Cr-Fe-Mn-Ni compositions labelled by a rule a model can learn in two epochs (little Al:
single phase), so a test run takes about a second yet exercises the real data, training and evaluation path.
"""

from __future__ import annotations

import numpy as np
import pytest

from vae_design.cli.main import main

BASE = ("Co", "Cr", "Fe", "Mn", "Ni")


def _alloy(rng: np.random.Generator) -> tuple[str, float]:
    elements = rng.choice(BASE, size=int(rng.integers(3, 6)), replace=False)
    aluminium = float(rng.uniform(0.02, 0.3))
    fractions = rng.dirichlet(np.full(len(elements), 3.0)) * (1 - aluminium)
    formula = "".join(f"{e}{100 * f:.1f}" for e, f in zip(elements, fractions, strict=True))
    return f"{formula}Al{100 * aluminium:.1f}", aluminium


def _label(aluminium: float, target: str) -> str:
    if target == "single_phase":
        return str(int(aluminium < 0.12))
    return "FCC" if aluminium < 0.1 else "BCC" if aluminium > 0.2 else "multi-phase"


def write_alloy_files(folder, target: str = "single_phase", seed: int = 0) -> dict[str, str]:
    """labelled.csv (80 rows), unlabelled.csv (120), val.csv (24), test.csv (24) in ``folder``."""
    rng = np.random.default_rng(seed)
    paths = {}
    for part, n in (("labelled", 80), ("unlabelled", 120), ("val", 24), ("test", 24)):
        rows = [_alloy(rng) for _ in range(n)]
        lines = [f"{formula},{'' if part == 'unlabelled' else _label(al, target)}" for formula, al in rows]
        paths[part] = folder / f"{part}.csv"
        paths[part].write_text("formula,label\n" + "\n".join(lines) + "\n")
    return {part: str(path) for part, path in paths.items()}


def tiny_overrides(files: dict[str, str]) -> list[str]:
    """The real train config, shrunk: the tiny files, two epochs, small networks, no progress bar."""
    return [
        "data=csv",
        *(f"data.{part}={path}" for part, path in files.items()),
        "trainer.max_epochs=2",
        "trainer.progress_bar=false",
        "model.hidden=16",
        "model.embedding_hidden=16",
        # the cosine schedule spans max_epochs: with it, a 2-epoch run resumed to 3 would not match a 3-epoch run
        "trainer.lr_schedule=constant",
    ]


@pytest.fixture(scope="session")
def alloy_files(tmp_path_factory) -> dict[str, str]:
    return write_alloy_files(tmp_path_factory.mktemp("alloys"))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, alloy_files):
    """The run folder of one tiny training run; tests that change it work on a copy."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    code = main(["train", *tiny_overrides(alloy_files), f"hydra.run.dir={out}"])
    assert code == 0
    return out

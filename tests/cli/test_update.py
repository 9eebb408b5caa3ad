"""``vae-design update``: measured alloys folded into a trained bundle's data, a warm-started retraining, and bad
results refused with one line before anything is written. The bundle of the session's ``trained_run`` is only read."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from vae_design.api import AlloyVAE
from vae_design.cli.main import main
from vae_design.data.composition import canonical_formula, parse_formula
from vae_design.models.bundle import warm_start
from vae_design.models.ssvae import PhaseVAE

NEW = "CoCrFeNi"  # the synthetic alloys all hold Al: a new alloy


def known(run) -> pd.DataFrame:
    return pd.read_csv(run / "model" / "known_alloys.csv", dtype={"label": "Int64"})


def stored(formula: str) -> str:
    """A known alloy's formula as the retrained bundle stores it (a stored formula whose at.% do not add up to
    exactly 100 is normalised once more)."""
    return canonical_formula(parse_formula(formula))


def first(alloys: pd.DataFrame, part: str) -> pd.Series:
    return alloys[alloys["part"] == part].iloc[0]


def test_update_folds_in_measurements_and_retrains(trained_run, tmp_path, capsys):
    before = known(trained_run)
    train, pool = first(before, "train"), first(before, "unlabelled")
    results = tmp_path / "measured.csv"
    results.write_text(f"formula,label\n{NEW},1\n{train['formula']},{1 - train['label']}\n{pool['formula']},0\n")
    out = tmp_path / "round1"
    bundle = trained_run / "model"
    args = ["update", f"bundle={bundle}", f"results={results}", "max_epochs=2", f"hydra.run.dir={out}"]
    assert main(args) == 0
    assert "folded in the measurements: 2 alloys added" in capsys.readouterr().out
    for name in ("metrics.json", "update.csv", "roc.png", ".hydra/config.yaml", "model/model.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["update/warm_start"] == 1
    assert (metrics["update/n_added"], metrics["update/n_from_pool"], metrics["update/n_relabelled"]) == (2, 1, 1)
    assert metrics["n/train"] == (before["part"] == "train").sum() + 2
    update = pd.read_csv(out / "update.csv")
    assert list(update["action"]) == ["added", "relabelled", "moved from pool"]

    after = known(out).set_index("formula")
    for formula, label in ((NEW, 1), (train["formula"], 1 - train["label"]), (pool["formula"], 0)):
        assert (after.loc[stored(formula), "part"], after.loc[stored(formula), "label"]) == ("train", label)
    for part in ("val", "test"):  # evaluation alloys untouched
        assert set(after.index[after["part"] == part]) == {stored(f) for f in before["formula"][before["part"] == part]}
    # the next update trains the same way: the bundle's trainer settings and this update's, for people
    config = (out / "model" / "config.yaml").read_text()
    assert "lr_schedule: constant" in config and "updates:" in config and "measured.csv" in config

    probe = list(before["formula"][before["part"] == "val"])
    old, new = AlloyVAE.load(bundle), AlloyVAE.load(out / "model")
    assert not np.allclose(old.predict_proba(probe), new.predict_proba(probe))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("test", "is a test alloy of the bundle"),
        ("val", "is a val alloy of the bundle"),
        ("bad label", "row 2, column 'label': label must be 0, 1"),
        ("missing", "no such file"),
        ("unknown element", "row 3, column 'formula': element W is not in the model's vocabulary"),
        ("used run folder", "already holds a training run"),
    ],
)
def test_update_refuses_bad_results(trained_run, tmp_path, capsys, case, expected):
    alloys = known(trained_run)
    rows = {
        "test": f"{first(alloys, 'test')['formula']},1",
        "val": f"{first(alloys, 'val')['formula']},0",
        "bad label": f"{NEW},yes",
        "unknown element": f"{NEW},1\nCoCrFeNiW,1",
    }
    results = tmp_path / "measured.csv"
    if case != "missing":
        results.write_text(f"formula,label\n{rows.get(case, f'{NEW},1')}\n")
    out = tmp_path / "out"
    if case == "used run folder":
        (out / "checkpoints").mkdir(parents=True)
        (out / "checkpoints" / "last.ckpt").write_text("")
    args = ["update", f"bundle={trained_run / 'model'}", f"results={results}", "max_epochs=1", f"hydra.run.dir={out}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    if case == "used run folder":
        assert sorted(p.name for p in out.rglob("*")) == ["checkpoints", "last.ckpt"]
    else:
        assert not out.exists()


def test_warm_start_only_with_the_same_vocabulary_and_architecture(trained_run):
    trained = AlloyVAE.load(trained_run / "model").vae
    fresh = PhaseVAE(trained.config)
    assert warm_start(fresh, trained)
    assert all(torch.equal(value, trained.state_dict()[key]) for key, value in fresh.state_dict().items())
    reordered = replace(trained.config, elements=tuple(reversed(trained.config.elements)))
    assert not warm_start(PhaseVAE(reordered), trained)
    # a bare state dict: same shapes, but the element tables give the other order away
    assert not warm_start(PhaseVAE(reordered), trained.state_dict())
    assert not warm_start(PhaseVAE(replace(trained.config, hidden=trained.config.hidden + 1)), trained.state_dict())
    assert warm_start(PhaseVAE(trained.config), trained.state_dict())

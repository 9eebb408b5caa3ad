"""scripts/bench_data_efficiency.py's summary: the bootstrap's metrics match the training metrics, and the gap to
the best supervised peer is paired (a model identical to that peer has gap 0 in every draw)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "bench_data_efficiency.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_data_efficiency", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fast_metrics_are_the_training_metrics(bench):
    rng = np.random.default_rng(1)
    for _ in range(5):
        y = rng.integers(0, 2, 150)
        p = np.clip(rng.random(150) * 0.6 + 0.4 * y, 0, 1)
        p[:8] = 0.5  # ties at the threshold go to class 0, as argmax does
        assert np.allclose(list(bench.metrics(y, p).values()), bench.fast_metrics(y, p))


def test_budgets_read_as_fractions_counts_or_everything(bench):
    assert bench.budget_value("0.25") == 0.25
    assert bench.budget_value("50") == 50
    assert bench.budget_value("1.0") is None


def _predictions(models: dict[str, np.ndarray], y: np.ndarray, seeds: int = 2) -> pd.DataFrame:
    rows = []
    for seed in range(seeds):
        for model, p in models.items():
            for index, (label, prob) in enumerate(zip(y, p, strict=True)):
                rows.append(
                    {"scheme": "grouped", "budget": "0.05", "seed": seed, "model": model, "n_labels": 50}
                    | {"test_index": index, "y": label, "p_single": prob}
                )
    return pd.DataFrame(rows)


def test_gap_to_the_best_supervised_peer_is_paired(bench):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    good = np.clip(0.7 * y + 0.3 * rng.random(120), 0, 1)
    weak = rng.random(120)
    table, summary = bench.summarise(_predictions({"vae": good, "rf": good, "gb": weak}, y), draws=200)
    vae = table[table["model"] == "vae"].iloc[0]
    assert vae["gap_auc"] == 0 and vae["gap_auc_lo"] == 0 and vae["gap_auc_hi"] == 0
    assert summary["vae_gap_auc_grouped_b0.05"] == 0
    table, summary = bench.summarise(_predictions({"vae": weak, "rf": good, "gb": weak}, y), draws=200)
    vae = table[table["model"] == "vae"].iloc[0]
    assert vae["gap_auc_hi"] < 0 < vae["auc_hi"] - vae["auc_lo"]  # clearly behind, and a real interval
    assert summary["rf_auc_grouped_b0.05"] == pytest.approx(vae["auc_mean"] - vae["gap_auc"])


def test_a_model_with_fewer_seeds_is_compared_on_the_seeds_it_shares(bench):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 100)
    good = np.clip(0.7 * y + 0.3 * rng.random(100), 0, 1)
    table = _predictions({"vae": good, "rf": good}, y, seeds=3)
    table = pd.concat([table, _predictions({"vae+pretrain": good}, y, seeds=1)])
    rows, summary = bench.summarise(table, draws=50)
    pretrain = rows[rows["model"] == "vae+pretrain"].iloc[0]
    assert pretrain["gap_seeds"] == 1 and pretrain["gap_peer"] == "rf" and pretrain["gap_auc"] == 0
    assert "vae_pretrain_gap_auc_grouped_b0.05" in summary


def test_the_gp_heads_ablations_are_compared_with_the_gp_head_and_it_with_the_forest(bench):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 100)
    good = np.clip(0.7 * y + 0.3 * rng.random(100), 0, 1)
    weak = rng.random(100)
    models = {"vae": weak, "rf": good, "vae:gp-head": good, "vae:gp-semi-none": good, "vae:gp-composition": weak}
    rows, summary = bench.summarise(_predictions(models, y), draws=100)
    gp, semi, composition = (
        rows[rows["model"] == m].iloc[0] for m in ("vae:gp-head", "vae:gp-semi-none", "vae:gp-composition")
    )
    assert gp["gap_peer"] == "rf" and gp["gap_auc"] == 0 == gp["gap_auc_lo"]  # identical to the forest: 0 in every draw
    assert semi["vs_gp_auc"] == 0 == semi["vs_gp_auc_hi"] and composition["vs_gp_auc_hi"] < 0 < semi["vs_vae_auc"]
    assert summary["vae_gp_composition_vs_gp_auc_grouped_b0.05"] == composition["vs_gp_auc"]


def test_partial_and_duplicated_fits_are_dropped_when_read_back(bench, tmp_path):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 40)
    table = _predictions({"vae": rng.random(40), "rf": rng.random(40)}, y, seeds=1).assign(data="default")
    partial = table[(table["model"] == "rf")].head(25)  # killed mid-write
    written = pd.concat([table[table["model"] == "vae"], table[table["model"] == "vae"], partial])
    path = tmp_path / "predictions.csv"
    written.reindex(columns=bench.COLUMNS).to_csv(path, index=False)
    read = bench.read_predictions(path)
    assert read.groupby("model").size().to_dict() == {"vae": 40}  # duplicates gone, the partial fit refitted later


def test_the_reference_settings_build_a_model():
    # the reference setup the benchmarks fit: configs/experiment/reference.yaml over the m2 preset (models/semi.py)
    from vae_design.api import AlloyVAE
    from vae_design.benchmarks.evaluation import reference_kwargs

    settings = reference_kwargs()
    assert settings["semi"] == {"method": "m2", "weight": 1.0, "noise": 0.0}
    model = AlloyVAE(**settings)
    assert model.architecture["decoder"] == "multinomial" and model.architecture["z_dim"] == 2

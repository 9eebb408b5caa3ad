"""generate: cost and density of every candidate and ceilings on them (issue 18, item 9); large latent runs stream
to Parquet in bounded memory (item 3)."""

import pandas as pd
import pytest

from vae_design import AlloyVAE
from vae_design.cli.main import main
from vae_design.design import generate as generation
from vae_design.design.scoring import KnownAlloys

SMALL = ["constraints.min_elements=3", "constraints.max_elements=5", "scoring.shipped_datasets=false", "plots=false"]
LATENT = ["n=120", "latent.guide_steps=2", "latent.min_probability=0"]


def candidates(trained_run, out, capsys, *args):
    code = main(["generate", f"model={trained_run / 'model'}", *SMALL, *args, f"hydra.run.dir={out}"])
    assert code == 0, capsys.readouterr().err
    return pd.read_csv(out / "candidates.csv")


def test_every_candidate_has_cost_and_density_and_both_workflows_keep_the_ceilings(trained_run, tmp_path, capsys):
    free = candidates(trained_run, tmp_path / "free", capsys, *LATENT)
    assert free["cost_usd_per_kg"].notna().all() and free["density_g_cm3"].between(2.7, 8.91).all()
    cost, density = free["cost_usd_per_kg"].median(), free["density_g_cm3"].median()
    assert free["cost_usd_per_kg"].max() > cost  # the ceiling below cuts something
    ceilings = [f"constraints.max_cost={cost}", f"constraints.max_density={density}"]
    latent = candidates(trained_run, tmp_path / "latent", capsys, *LATENT, *ceilings)
    screen = candidates(
        trained_run,
        tmp_path / "screen",
        capsys,
        "workflow=screen",
        "n=20",
        "screen.spread=4",
        "screen.parquet=true",
        "screen.chunk=5000",
        *ceilings,
    )
    for table in (latent, screen):
        assert len(table) and (table["cost_usd_per_kg"] <= cost).all() and (table["density_g_cm3"] <= density).all()
    full = pd.read_parquet(tmp_path / "screen" / "screen.parquet")  # every scored candidate, each within them
    assert len(full) and (full["cost_usd_per_kg"] <= cost).all() and (full["density_g_cm3"] <= density).all()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("constraints.max_cost=-5", "constraints.max_cost must be a positive number of US$/kg or null, got -5"),
        ("constraints.max_cost=abc", "constraints.max_cost must be a positive number of US$/kg or null, got 'abc'"),
        ("constraints.max_density=-1.5", "constraints.max_density must be a positive number of g/cm^3 or null"),
    ],
)
def test_a_bad_ceiling_is_one_line_exit_2(trained_run, tmp_path, capsys, setting, message):
    out = tmp_path / "out"
    assert main(["generate", f"model={trained_run / 'model'}", *SMALL, setting, f"hydra.run.dir={out}"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def plan(model, n):
    return generation.plan_generation(
        model,
        "latent",
        n,
        constraints={"min_elements": 3, "max_elements": 5},
        # prior draws of z_n: on the two-epoch test model the fitted density decodes few distinct alloys
        # order by P(target): a streamed run keeps the best STREAM_ABOVE by it, then orders those as latent.order says
        latent={
            "guide_steps": 0,
            "min_probability": 0.3,
            "limit": 200_000,
            "nuisance": "prior",
            "order": "probability",
            "rounds": 1,  # one round of n latents: the two runs below decode the same 9000
        },
        scoring={"shipped_datasets": False},
    )


def test_a_streamed_latent_run_writes_every_candidate_and_keeps_the_best(trained_run, tmp_path, monkeypatch):
    model = AlloyVAE.load(trained_run / "model")
    known = KnownAlloys.build(model, shipped=False)
    assert generation.parquet_name(plan(model, generation.STREAM_ABOVE + 1)) == "candidates.parquet"
    assert generation.parquet_name(plan(model, 1000)) is None
    in_memory = generation.run_generation(plan(model, 9000), known)  # 3 batches of 4096 latents
    assert len(in_memory.table) > 10
    monkeypatch.setattr(generation, "STREAM_ABOVE", 10)  # keep the 10 best in memory
    path = tmp_path / "candidates.parquet"
    streamed = generation.run_generation(plan(model, 9000), known, parquet=path)
    full = pd.read_parquet(path)
    # the file: every accepted candidate in latent order, the returned table's columns (an at.% column per usable
    # element, alphabetical)
    assert list(full.columns) == list(streamed.table.columns)
    assert full["latent_index"].is_monotonic_increasing and len(full) == round(in_memory.figures["accepted"] * 9000)
    assert in_memory.figures["n_latents"] == 9000
    elements = [c for c in full.columns if c in model.vocabulary.elements]
    assert elements == sorted(elements) and not full[elements].isna().any().any()
    # the table: the best 10 of the in-memory ranking; the run-wide figures are the same
    assert len(streamed.table) == 10
    best = in_memory.table.head(10)
    assert list(streamed.table["formula"]) == list(best["formula"])
    assert list(streamed.table["latent_index"]) == list(best["latent_index"])
    for key in ("n_valid", "validity", "accepted", "uniqueness"):
        assert streamed.figures[key] == pytest.approx(in_memory.figures[key]), key


def test_a_failed_streamed_run_leaves_no_parquet(trained_run, tmp_path):
    model = AlloyVAE.load(trained_run / "model")

    def fail(done, total):
        if done < total:
            raise RuntimeError("killed after the first batch")

    path = tmp_path / "candidates.parquet"
    with pytest.raises(RuntimeError, match="killed"):
        generation.run_generation(plan(model, 9000), parquet=path, progress=fail)
    assert list(tmp_path.iterdir()) == []

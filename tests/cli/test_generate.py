"""`vae-design generate`: the three workflows write candidates.csv, summary.json and plots; bad input is refused."""

import json

import numpy as np
import pandas as pd
import pytest

from vae_design import AlloyVAE
from vae_design.cli.main import main
from vae_design.errors import InputError

# The tiny model knows six elements (Al Co Cr Fe Mn Ni): alloys of 3 to 5 of them.
SMALL = ["constraints.min_elements=3", "constraints.max_elements=5", "scoring.shipped_datasets=false", "plots=false"]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def generate(trained_run, out, capsys, *args):
    code, stdout, err = run(
        ["generate", f"model={trained_run / 'model'}", *SMALL, *args, f"hydra.run.dir={out}"], capsys
    )
    assert code == 0, err
    return pd.read_csv(out / "candidates.csv"), json.loads((out / "summary.json").read_text()), stdout


def check_alloys(table, elements=("Al", "Co", "Cr", "Fe", "Mn", "Ni")):
    columns = [e for e in elements if e in table.columns]
    percent = table[columns].to_numpy()
    assert np.allclose(percent.sum(1), 100.0)
    assert (np.isclose(percent, np.round(percent))).all()
    present = percent > 0
    assert ((percent >= 5) | ~present).all() and (percent <= 35).all()
    assert present.sum(1).min() >= 3 and present.sum(1).max() <= 5


def test_latent_workflow_writes_scored_valid_distinct_candidates(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    table, summary, stdout = generate(
        trained_run, out, capsys, "workflow=latent", "n=200", "target=1", "plots=true", "latent.min_probability=0"
    )
    for column in (
        "formula",
        "probability",
        "uncertainty",
        "target_probability",
        "nearest_known",
        "distance",
        "novel",
        "in_domain",
        "delta",
        "dH_mix",
        "z1",
        "latent_index",
    ):
        assert column in table.columns, column
    assert len(table) >= 1 and table["formula"].is_unique
    check_alloys(table)
    assert summary["validity"] == 1.0 and summary["accepted"] == 1.0 and 0 < summary["uniqueness"] <= 1
    model = AlloyVAE.load(trained_run / "model")
    expected = model.predict_proba(list(table["formula"]))[:, 1]
    assert np.allclose(table["probability"], expected, atol=1e-4)
    assert (table["distance"] >= 0).all() and (table["novel"] == (table["distance"] > 2.0)).all()
    assert (out / "latent.png").is_file() and (out / "delta_vs_dH.png").is_file()
    assert "latent: " in stdout and "validity 1.000" in stdout


def test_latent_z_given_in_a_file_is_decoded_as_given(trained_run, tmp_path, capsys):
    z_dim = AlloyVAE.load(trained_run / "model").vae.config.latent_dim  # target factor, then nuisance factor
    z = np.random.default_rng(1).normal(size=(5, z_dim))
    source = tmp_path / "z.csv"
    pd.DataFrame(z, columns=[f"z{d + 1}" for d in range(z_dim)]).to_csv(source, index=False)
    table, _, _ = generate(
        trained_run,
        tmp_path / "out",
        capsys,
        "latent.source=given",
        f"latent.file={source}",
        "latent.deduplicate=false",
        "latent.guide_steps=0",
        "latent.min_probability=0",
    )
    assert np.allclose(table[[f"z{d + 1}" for d in range(z_dim)]].to_numpy(), z[table["latent_index"]], atol=1e-5)
    # the same file from Python (the API reads latent.file too)
    latent = {"source": "given", "file": str(source), "deduplicate": False, "guide_steps": 0, "min_probability": 0}
    designs = AlloyVAE.load(trained_run / "model").generate("latent", n=5, latent=latent)
    assert np.allclose(designs.latents, z[designs.table["latent_index"]], atol=1e-5)
    # or the array itself (given=)
    del latent["file"]
    designs = AlloyVAE.load(trained_run / "model").generate("latent", n=5, latent=latent, given=z)
    assert np.allclose(designs.latents, z[designs.table["latent_index"]], atol=1e-5)


def test_screen_ranks_by_the_target_probability_and_streams_parquet(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    table, summary, _ = generate(
        trained_run,
        out,
        capsys,
        "workflow=screen",
        "n=25",
        "target=0",
        "screen.spread=10",
        "screen.parquet=true",
        "screen.chunk=1000",
        "screen.per_element_set=false",
    )
    assert len(table) == 25
    check_alloys(table)
    assert table["target_probability"].is_monotonic_decreasing
    full = pd.read_parquet(out / "screen.parquet")
    assert len(full) == summary["n_scored"] > 25 and full["formula"].is_unique
    # the kept candidates are the best of the whole screen (up to the posterior-sample noise of the head)
    assert table["target_probability"].min() >= full["target_probability"].quantile(0.9) - 0.05


def test_screen_keeps_the_best_composition_of_each_element_set(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["workflow=screen", "n=12", "screen.spread=10", "screen.parquet=true", "screen.chunk=777"]
    table, _, _ = generate(trained_run, out, capsys, *args)
    full = pd.read_parquet(out / "screen.parquet")
    elements = [e for e in ("Al", "Co", "Cr", "Fe", "Mn", "Ni") if e in full.columns]
    sets = full[elements].gt(0).apply(lambda row: "-".join(e for e in elements if row[e]), axis=1)
    best = full.assign(element_set=sets).groupby("element_set")["target_probability"].max()
    kept_sets = (
        table.reindex(columns=elements, fill_value=0)
        .gt(0)
        .apply(lambda row: "-".join(e for e in elements if row[e]), axis=1)
    )
    assert kept_sets.is_unique and len(table) == 12
    # the 12 best element sets, each with its best composition (the screen's and the parquet's scores are the same
    # draws of the head, while candidates.csv re-scores with more draws: compare the sets, not the values)
    assert set(kept_sets) == set(best.nlargest(12).index)


def test_invert_walks_from_a_seed_to_the_target_class(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    table, summary, stdout = generate(
        trained_run,
        out,
        capsys,
        "workflow=invert",
        "seed_alloy=Al30Co20Fe25Ni25",
        "target=1",
        "invert.steps=60",
        "invert.step_size=0.2",
    )
    assert list(table["stage"][:2]) == ["seed", "flip y"] and table["formula"].iloc[0] == "Al30Co20Fe25Ni25"
    assert table["from_seed"].iloc[0] == 0 and (table["step"].diff().iloc[1:] >= 0).all()
    assert summary["path_length"] == len(table) - 1
    if summary["reached"]:
        assert table["reached"].iloc[-1] and table["target_probability"].iloc[-1] >= 0.5
    assert "invert: " in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["workflow=dream"], "unknown workflow 'dream'"),
        (["n=0"], "n must be at least 1"),
        (["n=abc"], "n must be a whole number"),
        (["target=7"], "target must be a class index"),
        (["constraints.allowed=[Fe]", "constraints.forbidden=[Fe]"], "allow no element"),
        (["constraints.min_elements=5", "constraints.max_elements=4"], "more than max_elements"),
        (["constraints.grid=3"], "cannot reach exactly 100"),
        (["constraints.grid=abc"], "constraints.grid must be a number, got 'abc'"),
        (["constraints.max_elements=4.5"], "constraints.max_elements must be a whole number"),
        (["scoring.novel_above=abc"], "scoring.novel_above must be a number"),
        (["target=-1"], "target must be at least 0"),
        (["+constraints.colour=red"], "unknown setting constraints.colour"),
        (["workflow=invert"], "needs seed_alloy=FORMULA"),
        (["workflow=invert", "seed_alloy=FeXx"], "seed alloy FeXx"),
        (["latent.source=moon"], "unknown latent.source 'moon'"),
        (["workflow=screen", "screen.palette=[Fe,W]"], "element W is not in the model's vocabulary"),
        (["workflow=screen", "screen.limit=10"], "more than screen.limit"),
        (["model=nowhere"], "model=nowhere: no such folder"),
    ],
)
def test_bad_generate_input_is_one_line_exit_2_nothing_written(trained_run, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    base = [f"model={trained_run / 'model'}", *SMALL]
    code, _, err = run(["generate", *base, *args, f"hydra.run.dir={out}"], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_generate_help_lists_workflows_and_constraints(capsys):
    code, stdout, _ = run(["generate", "--help"], capsys)
    assert code == 0
    for text in ("workflow=latent", "workflow=screen", "workflow=invert", "min_elements", "example:"):
        assert text in stdout


def test_the_api_runs_the_same_workflows(trained_run):
    model = AlloyVAE.load(trained_run / "model")
    rules = {"min_elements": 3, "max_elements": 5}
    scoring = {"shipped_datasets": False}
    designs = model.generate("latent", n=50, target=0, constraints=rules, scoring=scoring)
    assert designs.figures["validity"] == 1.0 and len(designs.table) == len(designs.latents)
    check_alloys(designs.table)
    screen = model.generate("screen", n=10, constraints=rules, scoring=scoring, screen={"spread": 0.0})
    assert len(screen.table) == 10 and ranked_in_domain_first(screen.table)
    path = model.generate(
        "invert", seed_alloy="Al30Co20Fe25Ni25", constraints=rules, scoring=scoring, invert={"steps": 5}
    )
    assert path.table["stage"].iloc[0] == "seed"
    kept = model.generate(
        "invert",
        seed_alloy="Al30Co20Fe25Ni25",
        constraints=rules,
        scoring=scoring,
        invert={"steps": 5, "keep_elements": True},
    )
    elements = kept.table["formula"].str.findall(r"[A-Z][a-z]?").map(sorted)
    assert len(kept.table) >= 2 and all(found == ["Al", "Co", "Fe", "Ni"] for found in elements)
    with pytest.raises(InputError, match="the seed's Co is not allowed"):
        model.generate(
            "invert",
            seed_alloy="Al30Co20Fe25Ni25",
            constraints=rules | {"forbidden": ["Co"]},
            scoring=scoring,
            invert={"keep_elements": True},
        )
    with pytest.raises(InputError, match="unknown setting latent.colour"):
        model.generate("latent", n=5, latent={"colour": 1})


def test_head_guidance_raises_the_target_probability_and_filters_apply(trained_run):
    import torch

    from vae_design.design.constraints import AlloyConstraints
    from vae_design.design.workflows import gradient_elements, guide_latents, target_log_probability

    model = AlloyVAE.load(trained_run / "model")
    rules = AlloyConstraints.from_settings(model.vocabulary, min_elements=3, max_elements=5)
    usable = gradient_elements(model.vae, rules)
    z = torch.randn(64, model.vae.config.latent_dim, generator=torch.Generator().manual_seed(0))
    sizes = torch.full((64,), 4)
    # guided toward the class the decodes are furthest from (on the tiny data most decodes are already class 1)
    with torch.no_grad():
        scores = [target_log_probability(model.vae, z, sizes, torch.full((64,), k), rules, usable) for k in (0, 1)]
    target = int(torch.stack(scores).mean(1).argmin())
    y = torch.full((64,), target)
    moved = guide_latents(model.vae, z, sizes, target, rules, steps=20, step_size=0.1, pull=0.01)
    with torch.no_grad():
        before = target_log_probability(model.vae, z, sizes, y, rules, usable).mean()
        after = target_log_probability(model.vae, moved, sizes, y, rules, usable).mean()
    assert after > before + 0.05
    common = {"n": 40, "constraints": {"min_elements": 3, "max_elements": 5}, "scoring": {"shipped_datasets": False}}
    hot_settings = {"temperature": 3.0, "deduplicate": False, "min_probability": 0, "novel_only": False}
    hot_settings["nuisance"] = "prior"
    hot = model.generate("latent", **common, latent=hot_settings)
    z_n = hot.latents[:, model.vae.config.target_dim :]
    assert np.abs(z_n).mean() > 1.5  # z_n ~ N(0, 9 I): mean |z_n| = 3 sqrt(2 / pi) = 2.4
    kept = model.generate("latent", **common, latent={"min_probability": 0.5, "novel_only": True, "guide_steps": 5})
    assert (kept.table["target_probability"] >= 0.5).all() and kept.table["novel"].all()
    with pytest.raises(InputError, match="latent.temperature must be positive"):
        model.generate("latent", **common, latent={"temperature": 0})


def test_no_valid_latent_gives_an_empty_table_with_every_column(trained_run):
    import torch

    from vae_design.design import AlloyConstraints, KnownAlloys, latent_designs

    model = AlloyVAE.load(trained_run / "model")
    rules = AlloyConstraints.from_settings(model.vocabulary, min_elements=3, max_elements=5)
    none = torch.zeros(0, model.vae.config.latent_dim)
    designs = latent_designs(
        model, none, torch.zeros(0, dtype=torch.long), 1, rules, KnownAlloys.build(model, shipped=False)
    )
    assert len(designs.table) == 0 and {"formula", "probability", "novel", "z1"} <= set(designs.table.columns)


def test_an_interrupted_screen_is_continued_only_with_resume(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    (out / ".screen-work").mkdir(parents=True)  # what a killed screen leaves behind
    args = ["generate", f"model={trained_run / 'model'}", *SMALL, "workflow=screen", "n=5", "screen.spread=10"]
    code, _, err = run([*args, f"hydra.run.dir={out}"], capsys)
    assert code == 2 and "resume=true" in err and err.count("\n") == 1
    assert sorted(p.name for p in out.iterdir()) == [".screen-work"]
    code, _, err = run([*args, "resume=true", "screen.parquet=true", f"hydra.run.dir={out}"], capsys)
    assert code == 0, err
    assert not (out / ".screen-work").exists() and (out / "screen.parquet").is_file()
    assert len(pd.read_csv(out / "candidates.csv")) == 5


def test_guidance_scores_the_alloy_that_is_decoded_and_still_has_a_gradient(trained_run):
    """Straight-through guidance: the head sees the constrained hard decoding (what decode_constrained keeps), and
    the gradient of the relaxed composition still reaches z."""
    import torch

    from vae_design.design.constraints import AlloyConstraints
    from vae_design.design.sampler import decode_constrained
    from vae_design.design.workflows import gradient_elements, guided_composition

    model = AlloyVAE.load(trained_run / "model")
    rules = AlloyConstraints.from_settings(model.vocabulary, min_elements=3, max_elements=5)
    z = torch.randn(32, model.vae.config.latent_dim, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    sizes = torch.full((32,), 4)
    x = guided_composition(model.vae, z, sizes, rules, gradient_elements(model.vae, rules))
    counts, valid = decode_constrained(model.vae, z.detach(), sizes, rules)
    assert valid.any()
    torch.testing.assert_close(x[valid].detach(), rules.to_fractions(counts[valid]).to(x.dtype))
    (x[:, : x.shape[1] // 2].sum()).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_batches_join_into_fixed_element_columns_whatever_n(trained_run):
    """Scored in batches, a latent run has the same columns as in one batch (0 at.% where a batch lacked an
    element), and its diversity is a number."""
    import torch

    from vae_design.design import KnownAlloys
    from vae_design.design.constraints import AlloyConstraints
    from vae_design.design.workflows import latent_designs

    model = AlloyVAE.load(trained_run / "model")
    rules = AlloyConstraints.from_settings(model.vocabulary, min_elements=3, max_elements=5)
    known = KnownAlloys.build(model, shipped=False)
    z = torch.randn(64, model.vae.config.latent_dim, generator=torch.Generator().manual_seed(3)) * 2
    sizes = torch.arange(64) % 3 + 3
    whole = latent_designs(model, z, sizes, 1, rules, known)
    batched = latent_designs(model, z, sizes, 1, rules, known, batch=4)
    # float32 sums differ in the last bits with the batch size (BLAS blocking): equal to 1e-6, not bit for bit
    pd.testing.assert_frame_equal(whole.table, batched.table, check_exact=False, atol=1e-6)
    elements = [c for c in batched.table.columns if c in model.vocabulary.elements]
    assert elements == sorted(elements) and not batched.table[elements].isna().any().any()
    assert np.isfinite(batched.figures["diversity"])


def test_a_latent_run_too_large_is_refused_and_progress_reaches_the_logs(trained_run, tmp_path, capsys):
    args = ["generate", f"model={trained_run / 'model'}", "scoring.shipped_datasets=false", "plots=false"]
    out = tmp_path / "huge"
    assert main([*args, "n=100000000", f"hydra.run.dir={out}"]) == 2
    err = capsys.readouterr().err
    assert "n=100000000 is more than latent.limit=100000, the most latents" in err and err.count("\n") == 1
    assert not out.exists()
    small = tmp_path / "small"
    keep_all = ["latent.min_probability=0", "latent.novel_only=false", "latent.known=true", "latent.nuisance=prior"]
    assert main([*args, "n=20", "latent.guide_steps=2", "latent.limit=100", *keep_all, f"hydra.run.dir={small}"]) == 0
    # the bar counts candidates kept out of n wanted; captured output is not a terminal, so it is logged
    assert "generate (latent): 20/20 (100 %)" in capsys.readouterr().out


def ranked_in_domain_first(table: pd.DataFrame) -> bool:
    """Every in-domain candidate before every other (scoring.domain_first), each part best P(target) first."""
    inside = table["in_domain"].to_numpy(dtype=bool)
    parts = (table[inside]["target_probability"], table[~inside]["target_probability"])
    return bool((np.diff(inside.astype(int)) <= 0).all()) and all(part.is_monotonic_decreasing for part in parts)


def test_latent_candidates_are_ranked_best_first(trained_run):
    model = AlloyVAE.load(trained_run / "model")
    common = {"min_probability": 0, "guide_steps": 3, "known": True}
    designs = model.generate(
        "latent", n=60, latent=common | {"order": "probability"}, scoring={"shipped_datasets": False}
    )
    table = designs.table
    assert ranked_in_domain_first(table) and not table["latent_index"].is_monotonic_increasing
    z = table[[f"z{d + 1}" for d in range(model.vae.config.latent_dim)]].to_numpy()
    np.testing.assert_array_equal(designs.latents, z)  # the latents stay aligned with their rows


def test_the_default_order_puts_each_element_set_best_first_and_leaves_known_alloys_out():
    from vae_design.design import generate as generation
    from vae_design.design.settings import LatentSettings

    table = pd.DataFrame(
        {
            "formula": ["Mo25Nb25Ta25Ti25", "Mo24Nb26Ta25Ti25", "Mo23Nb27Ta25Ti25", "Co20Cr20Fe20Mn20Ni20", "Al20Co80"],
            "target_probability": [0.99, 0.98, 0.97, 0.90, 0.40],
            "distance": [1.0, 1.5, 2.0, 5.0, 8.0],
            "novel": [False, False, False, True, True],
            "in_domain": [True] * 5,
        }
    )
    # by default only novel alloys (> scoring.novel_above from every known alloy): no 1-3 at.% variants
    novel = generation._accepted(table, LatentSettings(min_probability=0), grid=1.0)
    assert list(novel["formula"]) == ["Co20Cr20Fe20Mn20Ni20", "Al20Co80"]
    kept = generation._accepted(table, LatentSettings(min_probability=0, novel_only=False), grid=1.0)
    # within one grid step of a known alloy: the known alloy itself, re-found, is left out
    assert list(kept["formula"]) == table["formula"][1:].tolist()
    with_known = generation._accepted(table, LatentSettings(min_probability=0, known=True, novel_only=False), grid=1.0)
    assert len(with_known) == len(table)
    ordered = generation._ordered(kept, LatentSettings().order, domain_first=True)
    # each element set's best first, in P order, then the Mo-Nb-Ta-Ti family's second best
    assert list(ordered["formula"]) == [
        "Mo24Nb26Ta25Ti25",
        "Co20Cr20Fe20Mn20Ni20",
        "Al20Co80",
        "Mo23Nb27Ta25Ti25",
    ]
    assert generation._ordered(kept, "probability", domain_first=True).equals(kept)


def test_candidates_outside_the_heads_domain_never_rank_above_in_domain_ones_by_default():
    """Issue 29: generate kept Ba30Ca23Sr24Yb23 (40 at.% from every known alloy) at P = 0.991 above real HEAs."""
    from vae_design.design import generate as generation
    from vae_design.design.settings import LatentSettings

    table = pd.DataFrame(
        {
            "formula": ["Ba30Ca23Sr24Yb23", "Co20Cr20Fe20Mn20Ni20", "Al10Co30Fe30Ni30", "Ca25Ba25Sr25Yb25"],
            "target_probability": [0.991, 0.90, 0.60, 0.95],
            "in_domain": [False, True, True, False],
        }
    )
    for order in ("diverse", "probability"):
        ranked = generation._ordered(generation._ranked(table, True, True), order, True)
        assert list(ranked["in_domain"]) == [True, True, False, False], order
        assert list(ranked["formula"][:2]) == ["Co20Cr20Fe20Mn20Ni20", "Al10Co30Fe30Ni30"]
    by_probability = generation._ordered(generation._ranked(table, True, False), LatentSettings.order, False)
    assert by_probability["formula"].iloc[0] == "Ba30Ca23Sr24Yb23"  # scoring.domain_first=false: P alone


def test_a_latent_run_draws_rounds_until_it_has_the_candidates_wanted(trained_run):
    """n is the candidates wanted: a run whose filters keep few of n latents decodes further rounds of n (fresh
    seeds), stops once it has n distinct candidates, and one round (latent.rounds=1) decodes exactly n latents."""
    from vae_design.design import generate as generation
    from vae_design.design.scoring import KnownAlloys

    model = AlloyVAE.load(trained_run / "model")
    known = KnownAlloys.build(model, shipped=False)
    settings = {"constraints": {"min_elements": 3, "max_elements": 5}, "scoring": {"shipped_datasets": False}}
    loose = {"guide_steps": 0, "min_probability": 0.0, "nuisance": "prior"}

    def run(n, **latent):
        plan = generation.plan_generation(model, "latent", n, latent={**loose, **latent}, **settings)
        return generation.run_generation(plan, known)

    once = run(40, rounds=1)
    assert once.figures["n_latents"] == 40 and len(once.table) < 40  # the filters keep fewer than one round
    enough = run(40, rounds=50)
    latents = enough.figures["n_latents"]
    assert len(enough.table) == 40 and enough.table["formula"].is_unique and latents > 40 and latents % 40 == 0
    assert enough.table["latent_index"].max() >= 40  # rows from later rounds, indexed over every round
    # it stopped at the first round that had 40: one round fewer had fewer (the same seeds draw the same rounds)
    fewer = run(40, rounds=int(latents // 40) - 1)
    assert len(fewer.table) < 40 and fewer.figures["n_latents"] == latents - 40
    # every row's z is the latent drawn at its latent_index (no guidance): round r's own seeded draw
    z_columns = [f"z{d + 1}" for d in range(model.vae.config.latent_dim)]
    row = enough.table.loc[enough.table["latent_index"].idxmax()]
    round_, index = divmod(int(row["latent_index"]), 40)
    plan = generation.plan_generation(model, "latent", 40, latent={**loose, "rounds": 50}, **settings)
    drawn = list(generation._latent_rounds(plan))[round_][0][index]
    assert np.allclose(row[z_columns].to_numpy(dtype=float), drawn.numpy(), atol=1e-5)
    # latent.limit caps the latents over every round; given latents are decoded once
    assert run(40, rounds=50, limit=80).figures["n_latents"] <= 80
    given = np.random.default_rng(0).normal(size=(3, model.vae.config.latent_dim)).astype(np.float32)
    plan = generation.plan_generation(
        model, "latent", 40, latent={**loose, "source": "given", "rounds": 5}, given=given, **settings
    )
    assert generation.run_generation(plan, known).figures["n_latents"] == 3
    with pytest.raises(InputError, match="at least one row"):  # nothing to decode is an error, not an empty run
        generation.plan_generation(model, "latent", 40, latent={"source": "given"}, given=given[:0], **settings)
    strict = run(40, rounds=3, min_probability=1.1)  # nothing passes: three rounds, then an empty list
    assert strict.figures["n_latents"] == 120 and len(strict.table) == 0

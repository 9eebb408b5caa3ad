"""`vae-design suggest`: a batch from a candidates CSV or a generate workflow; bad input is refused."""

import json

import numpy as np
import pandas as pd
import pytest

from vae_design import AlloyVAE
from vae_design.cli.main import main
from vae_design.features import DESCRIPTOR_NAMES

ELEMENTS = ("Al", "Co", "Cr", "Fe", "Mn", "Ni")  # the tiny model's vocabulary
COLUMNS = ["rank", "formula", "probability", "uncertainty", "acquisition", "reason", "nearest_known", "distance"]
COLUMNS += ["nearest_label", "in_domain", "domain_note"]  # issue 29: the head's domain beside each pick
FAST = ["generate.scoring.shipped_datasets=false"]  # the bundle's known alloys only


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def write_candidates(path, n=60, seed=3, column="formula"):
    """n random alloys of 3-5 of the vocabulary's elements in whole at.% (at least 5 each)."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        chosen = rng.choice(ELEMENTS, size=int(rng.integers(3, 6)), replace=False)
        percent = np.floor(5 + rng.dirichlet(np.ones(len(chosen))) * (100 - 5 * len(chosen))).astype(int)
        percent[0] += 100 - percent.sum()
        lines.append("".join(f"{e}{p}" for e, p in zip(chosen, percent, strict=True)))
    path.write_text(f"{column},note\n" + "\n".join(f"{line},x" for line in lines) + "\n")
    return lines


def suggest(trained_run, out, capsys, *args):
    code, stdout, err = run(
        ["suggest", f"bundle={trained_run / 'model'}", *FAST, *args, f"hydra.run.dir={out}"], capsys
    )
    assert code == 0, err
    return pd.read_csv(out / "suggestions.csv"), json.loads((out / "summary.json").read_text()), stdout


def pairwise(table):
    columns = [e for e in ELEMENTS if e in table.columns]
    percent = table[columns].to_numpy(dtype=float)
    d = np.abs(percent[:, None] - percent[None]).sum(-1) / 2
    return d[np.triu_indices(len(table), 1)]


def test_a_candidates_file_gives_a_spread_batch_with_the_contracted_columns(trained_run, tmp_path, capsys):
    source = tmp_path / "candidates.csv"
    formulas = write_candidates(source)
    out = tmp_path / "out"
    table, summary, stdout = suggest(trained_run, out, capsys, f"candidates={source}", "n=6", "min_distance=8")
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS
    assert set(DESCRIPTOR_NAMES) <= set(table.columns)
    assert set(table.columns) - set(COLUMNS) - set(DESCRIPTOR_NAMES) <= set(ELEMENTS)
    assert 1 <= len(table) <= 6 and list(table["rank"]) == list(range(1, len(table) + 1))
    assert set(table["formula"]) <= set(formulas) and (table["reason"] == "exploit").all()
    assert pairwise(table).min() >= 8 - 1e-6 and (table["distance"] >= 8).all()
    percent = table[[e for e in ELEMENTS if e in table.columns]].to_numpy()
    assert np.allclose(percent.sum(1), 100)
    model = AlloyVAE.load(trained_run / "model")
    mean, std = model.predict_proba(list(table["formula"]), return_std=True)
    assert np.allclose(table["probability"], mean[:, 1], atol=1e-4)
    assert np.allclose(table["uncertainty"], std[:, 1], atol=1e-4)
    assert np.allclose(table["acquisition"], table["probability"], atol=1e-4)  # expected_hits = P(target)
    assert set(summary) == {
        "n_suggested",
        "expected_hits",
        "expected_hits_head",
        "n_out_of_domain",
        "base_rate",
        "diversity",
        "min_pairwise_distance",
        "n_candidates",
        "n_known",
        "n_feasible",
    }
    assert summary["n_candidates"] == 60 and summary["n_suggested"] == len(table) <= summary["n_feasible"]
    assert summary["expected_hits_head"] == pytest.approx(table["probability"].sum(), abs=1e-4)
    credited = np.where(
        table["in_domain"], table["probability"], np.minimum(table["probability"], summary["base_rate"])
    )
    assert summary["expected_hits"] == pytest.approx(credited.sum(), abs=1e-4)
    assert summary["n_out_of_domain"] == (~table["in_domain"]).sum()
    if len(table) > 1:
        assert summary["min_pairwise_distance"] == pytest.approx(pairwise(table).min(), abs=1e-3)
        assert summary["diversity"] == pytest.approx(pairwise(table).mean(), abs=1e-3)
    assert (out / "suggestions.png").stat().st_size > 1000 and (out / ".hydra" / "config.yaml").is_file()
    lines = stdout.rstrip().splitlines()
    assert len(lines) == len(table) + 2 and lines[0].startswith("  1. ") and "expected hits" in lines[-2]


def test_ucb_and_information_gain_and_a_renamed_column(trained_run, tmp_path, capsys):
    source = tmp_path / "candidates.csv"
    write_candidates(source, column="alloy")
    args = [f"candidates={source}", "formula_col=alloy", "n=4"]
    ucb, _, _ = suggest(trained_run, tmp_path / "ucb", capsys, *args, "acquisition=ucb", "kappa=2")
    assert np.allclose(ucb["acquisition"], ucb["probability"] + 2 * ucb["uncertainty"], atol=1e-4)
    bald, _, _ = suggest(trained_run, tmp_path / "bald", capsys, *args, "acquisition=information_gain")
    assert (bald["reason"] == "explore").all() and (bald["acquisition"] >= 0).all()


def test_the_latent_workflow_supplies_the_candidates(trained_run, tmp_path, capsys):
    args = [
        "n=3",
        "acquisition=thompson",
        "generate.n=60",
        "generate.latent.guide_steps=5",
        "generate.latent.min_probability=0",
        "generate.constraints.min_elements=3",
        "generate.constraints.max_elements=5",
    ]
    table, summary, _ = suggest(trained_run, tmp_path / "out", capsys, *args)
    assert 1 <= len(table) <= 3 and summary["n_candidates"] >= 1
    assert set(table["reason"]) <= {"exploit", "explore"}
    if len(table) > 1:
        assert pairwise(table).min() >= 5 - 1e-6


@pytest.mark.parametrize(
    "args, message",
    [
        (["bundle="], "bundle=PATH is required"),
        (["candidates=BAD"], "row 3, column 'formula'"),
        (["n=0"], "suggest.n must be at least 1, got 0"),
        (["acquisition=nope"], "unknown suggest.acquisition 'nope'"),
        (["kappa=abc"], "kappa must be a number, got 'abc'"),
        (["candidates=missing.csv"], "missing.csv: no such file"),
        (["generate.constraints.grid=3"], "cannot reach exactly 100"),
        (["target=0", "generate.target=1"], "generate.target=1 differs from target=0"),
        (["target=7"], "target must be a class index"),
        (["+colour=red"], "unknown setting colour"),
    ],
)
def test_bad_suggest_input_is_one_line_exit_2_nothing_written(trained_run, tmp_path, capsys, args, message):
    bad = tmp_path / "bad.csv"
    bad.write_text("formula\nAl10Co30Fe30Ni30\nXx2Fe\n")
    args = [a.replace("=BAD", f"={bad}").replace("=missing.csv", f"={tmp_path / 'missing.csv'}") for a in args]
    out = tmp_path / "out"
    code, _, err = run(["suggest", f"bundle={trained_run / 'model'}", *FAST, *args, f"hydra.run.dir={out}"], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_suggest_help_lists_the_acquisitions(capsys):
    code, stdout, _ = run(["suggest", "--help"], capsys)
    assert code == 0
    for text in ("candidates=FILE.csv", "acquisition=ucb", "information_gain", "generate.workflow", "example:"):
        assert text in stdout


def test_known_candidates_are_named_and_out_of_domain_picks_come_last_and_count_less(
    trained_run, alloy_files, tmp_path, capsys
):
    """Issue 29: suggest picked a Ba-Ca-Sr-Yb alloy (40 at.% from every known alloy) and claimed 9.74 hits of 10."""
    trained = pd.read_csv(alloy_files["labelled"])["formula"].iloc[0]
    far = "Al60Co10Cr10Fe10Ni10"  # at least 30 at.% from every known alloy: outside the head's domain
    source = tmp_path / "candidates.csv"
    write_candidates(source, n=20)
    source.write_text(source.read_text() + f"{trained},x\n{far},x\n")
    table, summary, stdout = suggest(trained_run, tmp_path / "out", capsys, f"candidates={source}", "n=30")
    assert summary["n_known"] == 1 and f"1 candidates are known alloys, never suggested: {trained}" in stdout
    assert far in set(table["formula"]) and trained not in set(table["formula"])
    inside = table["in_domain"].to_numpy(dtype=bool)
    assert not inside[table["formula"] == far].any() and (np.diff(inside.astype(int)) <= 0).all()
    outside = table.loc[~inside, "probability"]  # each counted at most the base rate
    discount = (outside - np.minimum(outside, summary["base_rate"])).sum()
    assert summary["expected_hits"] == pytest.approx(summary["expected_hits_head"] - discount, abs=1e-4)
    assert 0 < summary["base_rate"] < 1 and "OUTSIDE THE HEAD'S DOMAIN" in stdout
    assert "head spread over weights" in stdout and "not an error bar" in stdout

"""`vae-design inspect`: the report and inspect.json of a tiny trained run, one alloy explained, and bad input."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from vae_design import AlloyVAE
from vae_design.cli.main import main

SMALL = [
    "inspect.shap_alloys=6",
    "inspect.shap_background=6",
    "inspect.formula_bootstrap=2",
    "inspect.formula_fit_alloys=150",
    "inspect.formula_max_terms=3",
    "inspect.traversal_axes=2",
]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_writes_report_json_and_figures(trained_run, tmp_path, capsys):
    out = tmp_path / "inspect"
    code, stdout, err = run(["inspect", f"model={trained_run / 'model'}", f"hydra.run.dir={out}", *SMALL], capsys)
    assert code == 0, err
    figures = ["shap_beeswarm.png", "shap_alloys.png", "posterior.png", "fisher.png", "formula.png", "latent_maps.png"]
    for name in ["report.md", "inspect.json", "shap_values.csv", *figures, "traversals.png"]:
        assert (out / name).is_file(), name
    summary = json.loads((out / "inspect.json").read_text())
    model = AlloyVAE.load(trained_run / "model")
    descriptors = list(model.architecture["descriptors"])
    assert list(summary["shap"]) == descriptors and all(v >= 0 for v in summary["shap"].values())
    assert set(summary["posterior"]) == set(descriptors)
    posterior = model.head_posterior(0.9).set_index("descriptor")
    for name, values in summary["posterior"].items():
        assert set(values) == {"mean", "lo", "hi", "prior_mean", "prior_scale"}
        assert values["mean"] == pytest.approx(posterior.loc[name, "mean"], abs=1e-6)
        assert values["lo"] < values["mean"] < values["hi"]
    fim = summary["fim"]
    assert len(fim["eigenvalues"]) == len(descriptors) + 1 and fim["eigenvalues"] == sorted(fim["eigenvalues"])[::-1]
    assert fim["condition_number"] is None or fim["condition_number"] >= 1
    assert 0 <= fim["effective_dimension"] <= len(descriptors) + 1
    formula = summary["formula"]
    assert {"expression", "latex", "n_terms", "auc_val", "auc_test"} <= set(formula)
    assert 1 <= formula["n_terms"] <= 3 and formula["auc_test"] is not None  # test alloys rebuilt from the run
    assert summary["model"]["alloys"]["test"] == 24
    per_alloy = pd.read_csv(out / "shap_values.csv")
    assert len(per_alloy) == 6
    contributions = per_alloy[[c for c in per_alloy if c.startswith("shap_")]].sum(1)
    assert np.allclose(per_alloy["base_value"] + contributions, per_alloy["log_odds"], atol=1e-4)
    report = (out / "report.md").read_text()
    assert "## 4. An explicit formula" in report and formula["latex"] in report
    assert f"{summary['comparison']['head']['auc_val']:.3f}" in report
    assert (out / ".hydra" / "config.yaml").is_file() and "wrote" in stdout


def test_inspect_one_alloy_prints_and_writes_nothing(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["inspect", f"model={trained_run / 'model'}", "alloy=AlCoCrFeNi", f"hydra.run.dir={out}", *SMALL]
    code, stdout, err = run(args, capsys)
    assert code == 0, err
    assert stdout.startswith("AlCoCrFeNi: P(single phase) 0.") and "delta" in stdout and "%" in stdout
    assert "(head spread over weights 0." in stdout and "not an error bar" in stdout and "+-" not in stdout
    assert not out.exists()


def test_inspect_one_known_alloy_says_so(trained_run, alloy_files, capsys):
    """Issue 29: a query that is a training alloy gets its recorded label and source beside the model's P."""
    formula = pd.read_csv(alloy_files["val"])["formula"].iloc[0]
    code, stdout, err = run(["inspect", f"bundle={trained_run / 'model'}", f"alloy={formula}", *SMALL], capsys)
    assert code == 0, err
    assert "; known alloy: recorded " in stdout.splitlines()[0] and "(validation split" in stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model=MISSING"], "model=MISSING: no such folder"),
        (["alloy=AlCoCrFeNi"], "bundle=PATH is required"),
        (["model=MODEL", "alloy=FeNI"], "alloy=FeNI: 'NI' at position 3 is ambiguous"),
        (["model=MODEL", "alloy=W"], "element W is not in the model"),
        (["model=MODEL", "inspect.level=2"], "inspect.level must be between 0 and 1"),
        (["model=MODEL", "inspect.shap_alloys=abc"], "inspect.shap_alloys must be a whole number"),
        (["model=MODEL", "+inspect.colour=red"], "unknown setting inspect.colour"),
        (["model=MODEL", "inspect.traversal_axes=0"], "inspect.traversal_axes must be a whole number"),
        (["model=MODEL", "test=MISSING.csv"], "MISSING.csv: no such file"),
    ],
)
def test_bad_inspect_input_is_one_line_exit_2_nothing_written(trained_run, tmp_path, capsys, args, message):
    replaced = [a.replace("MODEL", str(trained_run / "model")) for a in args]
    out = tmp_path / "out"
    code, stdout, err = run(["inspect", *replaced, f"hydra.run.dir={out}"], capsys)
    assert code == 2
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_test_alloys_come_from_the_run_or_from_a_csv_file(trained_run, alloy_files, tmp_path):
    from vae_design.cli.main import compose
    from vae_design.cli.settings import command_settings
    from vae_design.inspect.settings import InspectRun
    from vae_design.runs.inspect import held_out_alloys

    def inspect_run(cfg):
        return command_settings(cfg, InspectRun, "inspect")[0]

    model_path = trained_run / "model"
    model = AlloyVAE.load(model_path)
    rebuilt = held_out_alloys(inspect_run(compose("inspect", [f"model={model_path}"])), model, model_path)
    expected = pd.read_csv(alloy_files["test"])
    assert len(rebuilt[0]) == len(expected) and list(rebuilt[1]) == list(expected["label"])
    given = tmp_path / "mine.csv"
    given.write_text("name,phase\nCoCrFeMnNi,1\nAl2CoCrFeNi,0\n")
    cfg = compose("inspect", [f"model={model_path}", f"test={given}", "formula_col=name", "label_col=phase"])
    compositions, labels = held_out_alloys(inspect_run(cfg), model, model_path)
    assert len(compositions) == 2 and list(labels) == [1, 0]
    # the test alloys live in the bundle: the training data may move or vanish
    moved = tmp_path / "moved"
    shutil.copytree(model_path, moved)
    (moved / "config.yaml").write_text((moved / "config.yaml").read_text().replace(alloy_files["test"], "gone.csv"))
    again = held_out_alloys(inspect_run(compose("inspect", [f"model={moved}"])), AlloyVAE.load(moved), moved)
    assert list(again[1]) == list(expected["label"])
    # an older bundle without a test part: a note, not an error
    older = AlloyVAE.load(moved)
    older.known_alloys = older.known_alloys[older.known_alloys["part"] != "test"]
    assert held_out_alloys(inspect_run(compose("inspect", [f"model={moved}"])), older, moved) is None

"""`vae-design predict`: predictions.csv from a CSV file, one line for formula=, and bad input."""

import numpy as np
import pandas as pd
import pytest

from vae_design import AlloyVAE
from vae_design.cli.main import main

KNOWN_COLUMNS = [
    "known_label",
    "known_source",
    "nearest_known",
    "nearest_label",
    "distance",
    "in_domain",
    "domain_note",
]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_writes_probability_and_uncertainty(trained_run, tmp_path, capsys):
    source = tmp_path / "alloys.csv"
    source.write_text("name,formula\ncantor,CoCrFeMnNi\nal,AlCoCrFeNi\n,(CoCrFeNi)90Al10\n")
    out = tmp_path / "out"
    code, stdout, err = run(
        ["predict", f"model={trained_run / 'model'}", f"input={source}", f"hydra.run.dir={out}"], capsys
    )
    assert code == 0, err
    table = pd.read_csv(out / "predictions.csv")
    assert list(table.columns) == ["formula", "probability", "uncertainty", *KNOWN_COLUMNS]
    assert list(table["formula"]) == ["CoCrFeMnNi", "AlCoCrFeNi", "(CoCrFeNi)90Al10"]
    expected, spread = AlloyVAE.load(trained_run / "model").predict_proba(list(table["formula"]), return_std=True)
    assert np.allclose(table["probability"], expected[:, 1], atol=1e-5)
    assert np.allclose(table["uncertainty"], spread[:, 1], atol=1e-5)
    assert (table["uncertainty"] > 0).all()
    assert (out / ".hydra" / "config.yaml").is_file() and "wrote predictions for 3 alloys" in stdout


def test_predict_one_formula_prints_one_line_and_writes_nothing(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["predict", f"model={trained_run / 'model'}", "formula=CoCrFeMnNi", f"hydra.run.dir={out}"]
    code, stdout, err = run(args, capsys)
    assert code == 0, err
    assert stdout.count("\n") == 1 and stdout.startswith("CoCrFeMnNi: P(single phase) 0.")
    # issue 29: the spread over q(w) is worded so that it cannot be read as an error bar on the truth
    assert "(head spread over weights 0." in stdout and "; not an error bar)" in stdout and "+-" not in stdout
    assert not out.exists()


def test_bundle_is_the_name_and_model_the_old_spelling(trained_run, capsys):
    # bundle=PATH no longer collides with train's model config group; model=PATH still works, with a note
    new = run(["predict", f"bundle={trained_run / 'model'}", "formula=CoCrFeMnNi"], capsys)
    old = run(["predict", f"model={trained_run / 'model'}", "formula=CoCrFeMnNi"], capsys)
    assert new[0] == old[0] == 0 and new[1] == old[1]
    assert new[2] == "" and "model=PATH is now bundle=PATH" in old[2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model=MISSING", "input=IN"], "model=MISSING: no such folder"),
        (["model=TMP", "input=IN"], "not a vae-design model bundle"),
        (["input=IN"], "bundle=PATH is required"),
        (["model=MODEL"], "give either input=FILE.csv or formula=FORMULA"),
        (["model=MODEL", "input=BAD"], "bad.csv, row 3, column 'formula': unknown element symbol 'Xx'"),
        (["model=MODEL", "input=OUTSIDE"], "outside.csv, row 2, column 'formula': element W is not in the model"),
        (["model=MODEL", "input=IN", "formula_col=name"], "alloys.csv, row 1: missing column 'name'"),
        (["model=MODEL", "formula=FeNI"], "formula=FeNI: 'NI' at position 3 is ambiguous"),
    ],
)
def test_bad_predict_input_is_one_line_exit_2_nothing_written(trained_run, tmp_path, capsys, args, message):
    files = {
        "IN": ("alloys.csv", "formula\nCoCrFeNi\n"),
        "BAD": ("bad.csv", "formula\nCoCrFeNi\nXxFe\n"),
        "OUTSIDE": ("outside.csv", "formula\nCoCrFeW\n"),
    }
    for placeholder, (name, content) in files.items():
        (tmp_path / name).write_text(content)
        args = [a.replace(f"={placeholder}", f"={tmp_path / name}") for a in args]
    args = [
        a.replace("=MODEL", f"={trained_run / 'model'}").replace("=TMP", f"={tmp_path}").replace("MISSING", "nowhere")
        for a in args
    ]
    message = message.replace("MISSING", "nowhere")
    out = tmp_path / "out"
    code, _, err = run(["predict", *args, f"hydra.run.dir={out}"], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_a_known_alloy_is_named_with_its_recorded_label_and_source(trained_run, alloy_files, tmp_path, capsys):
    """Issue 29: the Cantor alloy, a training alloy labelled single phase, came back as a bare P = 0.554."""
    trained = pd.read_csv(alloy_files["labelled"])
    formula, label = trained["formula"].iloc[0], int(trained["label"].iloc[0])
    name = AlloyVAE.load(trained_run / "model").classes[label]
    args = ["predict", f"bundle={trained_run / 'model'}", "shipped_datasets=false"]
    code, stdout, err = run([*args, f"formula={formula}"], capsys)
    assert code == 0, err
    assert stdout.rstrip().endswith(f"; known alloy: recorded {name} (training part)") and stdout.count("\n") == 1
    source = tmp_path / "alloys.csv"
    source.write_text(f"formula\n{formula}\nAl60Co10Cr10Fe10Ni10\n")
    code, _, err = run([*args, f"input={source}", f"hydra.run.dir={tmp_path / 'out'}"], capsys)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out" / "predictions.csv", keep_default_na=False)
    assert list(table["known_label"]) == [str(label), ""] and list(table["known_source"]) == ["training part", ""]
    # 60 at.% Al: at least 30 at.% from every known alloy (the tiny data hold at most 30 at.% Al)
    assert list(table["in_domain"]) == [True, False] and "at.% from every known alloy" in table["domain_note"][1]

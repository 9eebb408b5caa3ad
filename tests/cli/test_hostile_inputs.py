"""Hostile input across the commands: malformed files, adversarial formulas, impossible settings.

Every case must end the same way: exit code 2, exactly one line on stderr (``vae-design <command>: error: ...``),
nothing on stdout, and nothing written (no run folder, no staging folder). The cases are tables, so a new trap found
in the wild is one more row.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import tiny_overrides
from vae_design.cli.main import main

# Formula cells that must be refused wherever a formula is read (a file, or formula= on the command line).
BAD_FORMULAS = [
    "Fe-20Cr",  # a minus sign as a separator
    "Fe0Ni0",  # every amount zero
    "Fe1e400Ni",  # exponent notation, overflowing
    "Fe1e-400Ni",  # exponent notation, underflowing
    "(FeNi",  # unclosed group
    "FeNi)",  # unmatched parenthesis
    "Xx2Fe",  # not an element
    "fe",  # wrong case
    "FE",  # wrong case, ambiguous
    "FeNinan",  # nan as an amount
    "FeNiinf",  # inf as an amount
    "Fe20%Cr80%",  # percent signs
    "Fe20,Cr80",  # a comma inside the cell (quoted in the file)
    "FeNi2.5.1",  # a malformed number
    "Fe1/2Ni",  # a fraction
    "[FeNi]2",  # brackets
    "()",  # an empty group
    "(Fe)0",  # a zero group
    "Fe1" + "0" * 400 + "Ni",  # an amount beyond floating point
    "=HYPERLINK(1)",  # a spreadsheet formula
    "Ｆｅ",  # full-width letters
    "Fe\u200bNi",  # a zero-width space
    "Fe²Ni",  # a superscript digit
    "Fe١Ni",  # an Arabic-Indic digit
    "(" * 40 + "Fe" + ")" * 40,  # nesting beyond reason
    "NaN",  # a spreadsheet's empty cell
    "123",  # a number without an element
]

# Whole files that must be refused by any command that reads a formula file.
BAD_FILES = {
    "empty": b"",
    "header only": b"formula,label\n",
    "blank lines only": b"\n\n  \n",
    "wrong column": b"name,label\nFeNi,1\n",
    "binary (PNG)": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    "NUL bytes": b"formula,label\nFe\x00Ni,1\n",
    "UTF-16": "formula,label\nFeNi,1\n".encode("utf-16"),
    "Latin-1": b"formula,label\nFeNi,1\nCo\xe9Ni,0\n",
    "unclosed quote": b'formula,label\n"FeNi,1\nCoNi,0\n',
    "huge cell": b"formula,label\n" + b"Fe" * 600_000 + b"Q,1\n",
    "huge number": b"formula,label\nFe" + b"9" * 5000 + b"Ni,1\n",
    "a spreadsheet error cell": b"formula,label\n#REF!,1\n",
    "only separators": b",\n,,\n,,,\n",
}


def refused(command: str, args: list[str], out, capsys) -> str:
    code = main([*command.split(), *args, f"hydra.run.dir={out}"])
    stdout, stderr = capsys.readouterr()
    assert code == 2, (stdout, stderr)
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith(f"vae-design {command}: error: "), stderr
    assert stdout == ""
    assert not out.exists()
    assert not list(out.parent.glob(".vae-design-staging-*"))
    return stderr


def formula_file(folder, formula: str, label: str = "1"):
    path = folder / "alloys.csv"
    cell = '"' + formula.replace('"', '""') + '"'
    path.write_text(f"formula,label\nCoCrFeNi,1\n{cell},{label}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("formula", BAD_FORMULAS)
def test_featurize_refuses_bad_formulas(tmp_path, capsys, formula):
    err = refused("featurize", [f"input={formula_file(tmp_path, formula)}"], tmp_path / "out", capsys)
    assert "alloys.csv, row 3, column 'formula': " in err


@pytest.mark.parametrize("formula", BAD_FORMULAS)
def test_predict_refuses_bad_formulas(trained_run, tmp_path, capsys, formula):
    model = f"model={trained_run / 'model'}"
    err = refused("predict", [model, f"input={formula_file(tmp_path, formula)}"], tmp_path / "out", capsys)
    assert "alloys.csv, row 3, column 'formula': " in err
    # the same text on the command line: Hydra's own grammar may refuse it first, either way one line
    refused("predict", [model, f"formula='{formula}'"], tmp_path / "out", capsys)


@pytest.mark.parametrize("formula", BAD_FORMULAS[:12])
def test_train_refuses_bad_formulas(alloy_files, tmp_path, capsys, formula):
    files = {**alloy_files, "labelled": str(formula_file(tmp_path, formula))}
    err = refused("train", tiny_overrides(files), tmp_path / "out", capsys)
    assert "alloys.csv, row 3, column 'formula': " in err


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_every_reader_refuses_bad_files(trained_run, alloy_files, tmp_path, capsys, name):
    path = tmp_path / "alloys.csv"
    path.write_bytes(BAD_FILES[name])
    out = tmp_path / "out"
    assert "alloys.csv" in refused("featurize", [f"input={path}"], out, capsys)
    assert "alloys.csv" in refused("predict", [f"model={trained_run / 'model'}", f"input={path}"], out, capsys)
    assert "alloys.csv" in refused("train", tiny_overrides({**alloy_files, "labelled": str(path)}), out, capsys)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2", "label"),
        ("yes", "label"),
        ("-1", "label"),
        ("nan", "label"),
        ("0.5", "label"),
        ("inf", "label"),
        ("FCC", "label"),  # a phase name under the single_phase target
        ("1e0", "label"),
    ],
)
def test_train_refuses_bad_labels(alloy_files, tmp_path, capsys, label, message):
    files = {**alloy_files, "labelled": str(formula_file(tmp_path, "CoNi", label))}
    err = refused("train", tiny_overrides(files), tmp_path / "out", capsys)
    assert "alloys.csv, row 3, column 'label'" in err and message in err


@pytest.mark.parametrize(
    "args",
    [
        ["input="],
        ["input=/dev/null"],
        ["input=NOWHERE.csv"],
        ["input=FOLDER"],
        ["input=GOOD", "formula_col="],
        ["input=GOOD", "formula_col=label"],
        ["input=GOOD", "batch_size=0"],
        ["input=GOOD", "batch_size=-5"],
        ["input=GOOD", "batch_size=abc"],
        ["input=GOOD", "hydra.run.dir=GOOD"],  # the output folder is an existing file
    ],
)
def test_featurize_refuses_bad_settings(tmp_path, capsys, args):
    good = tmp_path / "good.csv"
    good.write_text("formula,label\nCoCrFeNi,1\n")
    (tmp_path / "folder").mkdir()
    swap = {"GOOD": str(good), "NOWHERE.csv": str(tmp_path / "nowhere.csv"), "FOLDER": str(tmp_path / "folder")}
    args = [a.split("=")[0] + "=" + swap.get(a.split("=", 1)[1], a.split("=", 1)[1]) for a in args]
    out = tmp_path / "out"
    if any(a.startswith("hydra.run.dir=") for a in args):
        code = main(["featurize", *args])
        assert code == 2 and good.read_text() == "formula,label\nCoCrFeNi,1\n"
        assert capsys.readouterr().err.count("\n") == 1
        return
    refused("featurize", args, out, capsys)


@pytest.mark.parametrize(
    "args",
    [
        ["workflow=dance"],
        ["target=2"],
        ["target=-1"],
        ["n=0"],
        ["n=-10"],
        ["n=abc"],
        ["constraints.grid=0"],
        ["constraints.grid=-5"],
        ["constraints.grid=1000"],
        ["constraints.min_elements=0"],
        ["constraints.min_elements=7", "constraints.max_elements=3"],
        ["constraints.max_elements=-3"],
        ["constraints.min_fraction=60"],
        ["constraints.max_fraction=-1"],
        ["constraints.min_fraction=40", "constraints.max_fraction=30"],
        ["constraints.forbidden=[Xx]"],
        ["constraints.allowed=[Co,Ni]", "constraints.forbidden=[Co,Ni]"],
        ["constraints.allowed=[Fe]", "constraints.min_elements=3"],
        ["workflow=invert", "seed_alloy=Fe-20Cr"],
        ["workflow=invert", "seed_alloy='(FeNi'"],
        ["workflow=invert"],  # no seed alloy
        ["workflow=screen", "screen.palette=[Xx,Fe]"],
        ["workflow=screen", "screen.palette=[Co,Cr,Fe,Mn,Ni]", "screen.spread=-1"],
        ["latent.source=given", "latent.file=NOWHERE.csv"],
        ["latent.temperature=-1"],
        ["scoring.posterior_samples=0"],
    ],
)
def test_generate_refuses_bad_settings(trained_run, tmp_path, capsys, args):
    args = [a.replace("NOWHERE.csv", str(tmp_path / "nowhere.csv")) for a in args]
    refused("generate", [f"model={trained_run / 'model'}", "n=20", *args], tmp_path / "out", capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trainer=5"], "trainer=5: no such option; choose one of cpu|ddp|default|gpu|gpu_mixed"),  # a name
        (["trainer=[1]"], "trainer=[1]: no such option"),  # was Hydra's TypeError
        (["~logger"], "~logger: a setting cannot be deleted; choose one of its options (logger=csv|default|none)"),
        (["data.elements=[[1]]"], "unknown element symbol(s) [1]"),
        (["data.elements=[Fe,Fe]"], "lists 'Fe' more than once"),
        (["trainer.devices=[1]"], "trainer.devices must be a whole number or text, got [1]"),
        (["trainer.deterministic=maybe"], "trainer.deterministic must be true or false, got 'maybe'"),
        (["model.z_dim=1.5"], "model.z_dim must be a whole number, got 1.5"),
        (["trainer.max_epochs=[1]"], "trainer.max_epochs must be a whole number, got [1]"),
        (["++foo=1"], "unknown setting foo"),  # forced in, a key no command reads
        (["~split"], "~split: a setting cannot be deleted"),
        (["~prior"], "~prior: a setting cannot be deleted"),
    ],
)
def test_training_settings_of_the_wrong_shape_are_refused(tmp_path, capsys, args, message):
    assert message in refused("data summary", args, tmp_path / "out", capsys)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.binary(max_size=200)
    | st.text(alphabet='formula,label\n01 FeNiCoAlXx()-e%."\r\x00é\ufeff', max_size=100).map(str.encode)
)
def test_featurize_on_fuzzed_files_succeeds_or_refuses_cleanly(tmp_path_factory, content):
    # End to end through the CLI (the parser and the CSV loader have their own fuzz tests in tests/data).
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("fuzz")
    path, out = folder / "alloys.csv", folder / "out"
    path.write_bytes(content)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["featurize", f"input={path}", f"hydra.run.dir={out}"])
    if code == 0:
        assert (out / "descriptors.csv").is_file()
    else:
        assert code == 2 and stderr.getvalue().count("\n") == 1 and not out.exists()
    assert not list(folder.glob(".vae-design-staging-*"))

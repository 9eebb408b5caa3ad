"""Users' messy files through the CLI: `data summary` reports every problem, training runs with the default policy
and records what it excluded, `data.on_problem=error` keeps the one-line contract."""

import json
import shutil
from pathlib import Path

import pandas as pd

from tests.cli.conftest import tiny_overrides
from tests.data.test_problems import literature_files
from vae_design.cli.main import main


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def files_args(files):
    return ["data=csv", *(f"data.{part}={path}" for part, path in files.items())]


def test_data_summary_names_every_problem_and_writes_only_when_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = literature_files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(["data", "summary", *files_args(files)], capsys)
    assert code == 0, err
    assert "data problems (data.on_problem=exclude): 9" in out
    for kind in ("conflicting_labels", "in_two_parts", "evaluation_in_pool", "no_descriptor_data", "near_duplicate"):
        assert f"({kind})" in out
    assert f"{files['test']}:2  Co20Cu20Fe20Ni20Ti20: labelled 1" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    report = tmp_path / "report.csv"
    code, out, err = run(["data", "summary", *files_args(files), f"data.report={report}"], capsys)
    assert code == 0, err
    table = pd.read_csv(report)
    assert list(table.columns) == ["kind", "file", "row", "formula", "problem", "action"] and len(table) == 9


def test_error_policy_is_one_line_exit_2(tmp_path, capsys):
    files = literature_files(tmp_path)
    code, out, err = run(["data", "summary", *files_args(files), "data.on_problem=error"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{files['labelled']}, row 5, column 'label': conflicting labels" in err
    code, out, err = run(["data", "summary", *files_args(files), "data.on_problem=vote"], capsys)
    assert code == 2 and "data.on_problem must be one of exclude, error" in err


def test_training_on_messy_files_runs_once_and_records_what_was_excluded(tmp_path, capsys, alloy_files):
    files = {part: str(shutil.copy(path, tmp_path / Path(path).name)) for part, path in alloy_files.items()}
    test_first = Path(files["test"]).read_text().splitlines()[1]
    with open(files["labelled"], "a") as handle:  # a conflict written two ways, and a test alloy
        handle.write("CoCrFeNi,1\nCo1Cr1Fe1Ni1,0\n" + test_first + "\n")
    with open(files["unlabelled"], "a") as handle:  # a test alloy in the pool
        handle.write(test_first.split(",")[0] + ",\n")
    out = tmp_path / "run"
    strict = tmp_path / "strict"
    code, _, err = run(["train", *tiny_overrides(files), "data.on_problem=error", f"hydra.run.dir={strict}"], capsys)
    assert code == 2 and err.count("\n") == 1 and "conflicting labels" in err and not strict.exists()
    code, stdout, err = run(["train", *tiny_overrides(files), f"hydra.run.dir={out}"], capsys)
    assert code == 0, err
    assert "data: the same alloy with different labels: 2 rows (conflicting_labels) -> data_report.csv" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n/excluded_conflicts"] == 2 and metrics["n/excluded_overlap"] == 1
    assert metrics["n/excluded_pool"] == 1 and metrics["n/test"] == 24
    report = pd.read_csv(out / "data_report.csv")
    assert sorted(report["kind"]) == ["conflicting_labels", "conflicting_labels", "evaluation_in_pool", "in_two_parts"]

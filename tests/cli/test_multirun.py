"""`vae-design <command> -m`: Hydra multirun through the launcher and sweeper the config selects (joblib processes
by default, submitit on SLURM, Optuna for search), one run folder per job, one line per bad setting."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.cli.conftest import tiny_overrides
from vae_design.cli.main import compose, main


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_launcher_and_sweeper_configs_select_the_hydra_plugins():
    default = compose("train", [])
    assert default.hydra.launcher._target_.endswith("JoblibLauncher") and default.hydra.launcher.n_jobs == 2
    assert default.hydra.sweeper._target_.endswith("BasicSweeper")
    assert str(OmegaConf.to_container(default.hydra.sweep)["dir"]).startswith("multirun/train/")
    slurm = compose("train", ["launcher=slurm", "hydra.launcher.partition=gpu"])
    assert slurm.hydra.launcher._target_.endswith("SlurmLauncher") and slurm.hydra.launcher.partition == "gpu"
    optuna = compose("train", ["sweep=optuna"])
    assert optuna.hydra.sweeper._target_.endswith("OptunaSweeper")
    assert optuna.hydra.sweeper.direction == "minimize" and optuna.trainer.monitor == "val/log_loss"
    assert set(optuna.hydra.sweeper.params) >= {"model.z_dim", "trainer.learning_rate"}


def test_a_bad_setting_in_any_job_is_one_line_and_nothing_is_launched(alloy_files, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    args = ["train", "-m", *tiny_overrides(alloy_files), "model.z_dim=2,abc", f"hydra.sweep.dir={sweep}"]
    code, _, err = run(args, capsys)
    assert code == 2 and err == "vae-design train: error: model.z_dim must be a whole number, got 'abc'\n"
    code, _, err = run(["train", "--multirun", "model.nope=1,2", f"hydra.sweep.dir={sweep}"], capsys)
    assert code == 2 and err.count("\n") == 1 and "model.nope" in err
    code, _, err = run(["featurize", "-m", "input=a.csv,b.csv", f"hydra.sweep.dir={sweep}"], capsys)
    assert code == 2 and err == "vae-design featurize: error: -m (multirun) is for vae-design train; " + (
        "run featurize once per setting instead\n"
    )
    assert not sweep.exists()


def test_multirun_writes_one_run_folder_per_job_and_reports_failed_jobs(alloy_files, tmp_path, capsys):
    # The basic (in-process) launcher keeps this fast; the joblib launcher is exercised by the slow test below.
    sweep = tmp_path / "sweep"
    bad = tmp_path / "bad.csv"
    bad.write_text("formula,label\nXxFe,1\n")
    base = [*tiny_overrides(alloy_files), "trainer.max_epochs=1", "logger=none", "launcher=serial"]
    args = ["train", "-m", *base, f"data.test={alloy_files['test']},{bad}", f"hydra.sweep.dir={sweep}"]
    code, out, err = run(args, capsys)
    assert code == 2  # one job failed
    assert err.count("\n") == 1 and "job 1 (" in err and "bad.csv, row 2, column 'formula'" in err
    assert (sweep / "0" / "metrics.json").is_file() and (sweep / "0" / "model" / "model.json").is_file()
    assert not (sweep / "1" / "metrics.json").exists() and (sweep / "1" / "FAILED").is_file()
    assert "  job 0: val/log_loss 0." in out and "  job 1: FAILED  data.test=" in out
    assert f"1 of 2 job(s) finished; run folders in {sweep}" in out
    assert compose("train", []).seed == 0  # Hydra's global state was released for later calls


def test_optuna_selects_on_validation(alloy_files, tmp_path, capsys):
    sweep = tmp_path / "optuna"
    base = [*tiny_overrides(alloy_files), "trainer.max_epochs=1", "logger=none", "launcher=serial"]
    args = ["train", "-m", "sweep=optuna", "hydra.sweeper.n_trials=2", *base, f"hydra.sweep.dir={sweep}"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    result = OmegaConf.load(sweep / "optimization_results.yaml")
    val = [json.loads((sweep / job / "metrics.json").read_text())["val/log_loss"] for job in ("0", "1")]
    assert result.best_value == pytest.approx(min(val))  # the validation figure, not a test one
    assert set(result.best_params) >= {"model.z_dim", "trainer.learning_rate"}


@pytest.mark.slow
def test_joblib_multirun_of_the_issue_command(alloy_files, tmp_path):
    # `vae-design train -m model.z_dim=2,4,8 seed=0,1,2` on the tiny data: nine jobs in two joblib processes.
    sweep = tmp_path / "sweep"
    script = Path(sys.executable).parent / "vae-design"
    args = [str(script), "train", "-m", "model.z_dim=2,4,8", "seed=0,1,2", *tiny_overrides(alloy_files)]
    result = subprocess.run(
        [*args, "logger=none", f"hydra.sweep.dir={sweep}"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "JoblibLauncher" in result.stdout and "9 of 9 job(s) finished" in result.stdout
    for job in range(9):
        metrics = json.loads((sweep / str(job) / "metrics.json").read_text())
        assert metrics["n/train"] == 80
    overrides = [list(OmegaConf.load(sweep / str(j) / ".hydra" / "overrides.yaml")) for j in range(9)]
    assert {(o[0], o[1]) for o in overrides} == {
        (f"model.z_dim={z}", f"seed={s}") for z in (2, 4, 8) for s in (0, 1, 2)
    }

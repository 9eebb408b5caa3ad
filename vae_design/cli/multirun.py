"""``vae-design train -m ...``: Hydra multirun, with the launcher and sweeper the config selects.

Hydra's compose API (single runs) does not run launchers or sweepers, so a multirun starts this module as a plain
``@hydra.main`` application in a child process (``python -m vae_design.cli.multirun --multirun ...``): the sweeper
(``sweep=``: every combination, or Optuna) picks the jobs and the launcher (``launcher=``: joblib processes on this
machine, or SLURM through submitit) runs them, each an ordinary training run in ``hydra.sweep.dir/<job number>``.

Before anything is launched, every job of a plain sweep is composed and its model settings checked, so that a typo
is one line and exit code 2 with nothing written, as for a single run. A job that fails later (bad data, a diverged
run) prints its one line, returns NaN to the sweeper (Optuna marks the trial failed) and the sweep goes on; the exit
code is then 2.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import hydra

from vae_design.cli.settings import register
from vae_design.errors import InputError
from vae_design.resources import config_dir
from vae_design.training.settings import PARALLEL_JOBS_VARIABLE


def _jobs(overrides: list[str]) -> list[list[str]]:
    """The override list of every job a plain sweep runs (``a=1,2 b=3,4``: four jobs); interval sweeps (Optuna's
    to choose) are left out of the check."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    choices = []
    for text, override in zip(overrides, OverridesParser.create().parse_overrides(overrides), strict=True):
        if not override.is_sweep_override():
            choices.append([text])
        elif override.is_discrete_sweep():
            choices.append([f"{override.get_key_element()}={value}" for value in override.sweep_string_iterator()])
    return [list(job) for job in itertools.product(*choices)]


def multirun(name: str, command, overrides: list[str]) -> int:
    """Run ``command`` once per sweep job; 0 when every job succeeded, 2 otherwise."""
    from vae_design.cli.main import compose
    from vae_design.cli.settings import command_settings
    from vae_design.runs.train import TrainRun, build_model

    if name != "train":
        raise InputError(f"-m (multirun) is for vae-design train; run {name} once per setting instead")
    jobs = _jobs(overrides)
    for job in jobs:
        cfg = compose(command.config, job)
        if cfg.hydra.sweeper._target_.endswith("BasicSweeper"):
            build_model(**command_settings(cfg, TrainRun, name)[1])
    # A fixed sweep folder (Hydra's default holds ${now:...}), so the jobs' results can be read back afterwards.
    sweep_dir = Path(str(cfg.hydra.sweep.dir))
    print(f"vae-design {name}: {len(jobs)} job(s) through {cfg.hydra.launcher._target_.rsplit('.', 1)[-1]}")
    child = [sys.executable, "-m", "vae_design.cli.multirun", "--multirun", f"hydra.job.name={name}", *overrides]
    if not any(text.startswith("hydra.sweep.dir=") for text in overrides):
        child.append(f"hydra.sweep.dir={sweep_dir}")
    process = subprocess.Popen(child, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Relay the child's output line by line, to whatever sys.stdout / sys.stderr are now (a log, a test's capture).
    relay = threading.Thread(target=_relay, args=(process.stderr, "stderr"))
    relay.start()
    _relay(process.stdout, "stdout")
    relay.join()
    if process.wait() != 0 or not sweep_dir.is_dir():
        return 2  # Hydra printed its own error
    from vae_design.runs.train import sweep_report

    lines, failed = sweep_report(sweep_dir)
    print("\n".join(lines))
    print(f"vae-design {name}: {len(lines) - failed} of {len(lines)} job(s) finished; run folders in {sweep_dir}")
    return 2 if failed else 0


def _relay(stream, name: str) -> None:
    for line in stream:
        target = getattr(sys, name)
        target.write(line)
        target.flush()


@hydra.main(config_path=str(config_dir()), config_name="train", version_base="1.3")
def train_job(cfg) -> float:
    """One job in Hydra's launcher: ``vae-design train`` on the job's config, in the job's folder; returns the
    validation figure early stopping used (``trainer.monitor``), never a test one, for the sweeper."""
    from hydra.core.hydra_config import HydraConfig

    from vae_design.cli.main import one_line, run

    job = HydraConfig.get()
    out = Path(job.runtime.output_dir)
    # the jobs that run at once share the cores: trainer.threads=auto takes this job's share (training/settings.py)
    os.environ[PARALLEL_JOBS_VARIABLE] = str(job.launcher.get("n_jobs") or 1)
    (out / "FAILED").unlink(missing_ok=True)  # from an earlier attempt of this sweep (resume=true reruns it)
    try:
        run("train", cfg, list(job.overrides.task), out)
    except Exception as error:
        text = one_line(error)
        if text is None:
            raise
        print(f"vae-design train: error: job {job.job.num} ({' '.join(job.overrides.task)}): {text}", file=sys.stderr)
        (out / "FAILED").write_text(text + "\n", encoding="utf-8")
        return math.nan
    value = json.loads((out / "metrics.json").read_text()).get(str(cfg.trainer.monitor))
    return math.nan if value is None else float(value)


if __name__ == "__main__":
    register()
    train_job()

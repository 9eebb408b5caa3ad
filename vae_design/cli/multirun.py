"""``vae-design train -m ...``: Hydra multirun, with the launcher and sweeper the config selects.

Hydra's compose API (used for single runs) does not run launchers or sweepers, so a multirun goes through Hydra's
own entry point (``hydra.main``): the sweeper (``sweep=``: every combination, or Optuna) picks the jobs and the
launcher (``launcher=``: joblib processes on this machine, or SLURM through submitit) runs them. Each job is an
ordinary training run in its own folder, ``hydra.sweep.dir/<job number>``.

Before anything is launched, every job of a plain sweep is composed and its model settings checked, so that
a typo is one line and exit code 2 with nothing written, as for a single run. A job that fails later (bad data, a
diverged run) prints its one line, returns NaN to the sweeper (Optuna marks the trial failed) and the sweep goes on;
the exit code is then 2.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from vae_design.errors import InputError
from vae_design.resources import config_dir


def _jobs(overrides: list[str]) -> list[list[str]]:
    """The override list of every job a plain sweep runs (``a=1,2 b=3,4``: four jobs)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return [job for batch in BasicSweeper.split_arguments(parsed, max_batch_size=None) for job in batch]


def _check(name: str, config: str, overrides: list[str]):
    """Compose every job now and build its model: bad settings fail before anything is written. Returns the last
    job's config."""
    from vae_design.cli.commands import build_model
    from vae_design.cli.main import compose

    jobs = _jobs(overrides)
    for job in jobs:
        cfg = compose(config, job)
        if cfg.hydra.sweeper._target_.endswith("BasicSweeper"):
            build_model(cfg)
    print(f"vae-design {name}: {len(jobs)} job(s) through {cfg.hydra.launcher._target_.rsplit('.', 1)[-1]}")
    return cfg


def multirun(name: str, command, overrides: list[str]) -> int:
    """Run ``command`` once per sweep job; 0 when every job succeeded, 2 otherwise."""
    import hydra
    from omegaconf import OmegaConf

    if name != "train":
        # predict's model=PATH would be read by hydra.main as a choice from the model/ config group
        raise InputError(f"-m (multirun) is for vae-design train; run {name} once per setting instead")
    checked = _check(name, command.config, overrides)
    # A fixed sweep folder (Hydra's default holds ${now:...}), so the jobs' results can be read back afterwards.
    if not any(text.startswith("hydra.sweep.dir=") for text in overrides):
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
        default = OmegaConf.to_container(checked.hydra).get("sweep", {}).get("dir")
        sweep_dir = str(default).replace("${now:%Y-%m-%d_%H-%M-%S}", stamp) if default else ""
        if not sweep_dir or "${" in sweep_dir:
            sweep_dir = f"multirun/{name}/{stamp}"
        overrides = [*overrides, f"hydra.sweep.dir={sweep_dir}"]
    sweep_dir = Path(next(t for t in overrides if t.startswith("hydra.sweep.dir=")).split("=", 1)[1])

    job = _job_function(name, command)
    argv = sys.argv
    sys.argv = [f"vae-design {name}", "--multirun", f"hydra.job.name={name}", *overrides]
    try:
        hydra.main(config_path=str(config_dir()), config_name=command.config, version_base="1.3")(job)()
    except SystemExit as exit_:  # Hydra exits 1 after printing its own error
        return 2 if exit_.code else 0
    finally:
        from hydra.core.global_hydra import GlobalHydra

        sys.argv = argv
        GlobalHydra.instance().clear()  # so that later compose() calls in this process start afresh
    return _report(name, sweep_dir)


def _job_function(name: str, command):
    """The task Hydra runs per job: the command's plain function on the job's config, in the job's folder."""

    def job(cfg) -> float:
        from hydra.core.hydra_config import HydraConfig
        from hydra.errors import HydraException
        from omegaconf import open_dict
        from omegaconf.errors import OmegaConfBaseException

        from vae_design.cli.main import _one_line

        settings = HydraConfig.get()
        out = Path(settings.runtime.output_dir)
        with open_dict(cfg):
            cfg.hydra = {"run": {"dir": str(out)}}
        run = command.function()
        label = f"job {settings.job.num} ({' '.join(settings.overrides.task)})"
        (out / "FAILED").unlink(missing_ok=True)  # from an earlier attempt of this sweep (resume=true reruns it)
        try:
            run(cfg, list(settings.overrides.task))
        except (InputError, HydraException, OmegaConfBaseException, OSError) as error:
            text = str(error) if isinstance(error, InputError) else _one_line(error)
            print(f"vae-design {name}: error: {label}: {text}", file=sys.stderr)
            (out / "FAILED").write_text(text + "\n", encoding="utf-8")
            return math.nan
        return _objective(cfg, out)

    return job


def _objective(cfg, out: Path) -> float:
    """What a sweeper optimises: the validation figure early stopping used (``trainer.monitor``); never test."""
    import json

    metrics_file = out / "metrics.json"
    if not metrics_file.is_file() or "trainer" not in cfg:
        return math.nan
    value = json.loads(metrics_file.read_text()).get(str(cfg.trainer.monitor))
    return math.nan if value is None else float(value)


def _report(name: str, sweep_dir: Path) -> int:
    """One line per job (the settings that differ between jobs, and its validation figure or FAILED)."""
    import json

    from omegaconf import OmegaConf

    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))

    def overrides(job: Path) -> list[str]:  # absent with hydra.output_subdir=null
        path = job / ".hydra" / "overrides.yaml"
        return [str(text) for text in OmegaConf.load(path)] if path.is_file() else []

    settings = {job: overrides(job) for job in jobs}
    common = set.intersection(*(set(s) for s in settings.values())) if settings else set()
    failed = 0
    for job in jobs:
        swept = " ".join(text for text in settings[job] if text not in common)
        if (job / "FAILED").exists():
            failed += 1
            print(f"  job {job.name}: FAILED  {swept}")
            continue
        metrics = json.loads((job / "metrics.json").read_text()) if (job / "metrics.json").exists() else {}
        figures = "  ".join(f"{key} {metrics[key]:.4f}" for key in ("val/log_loss", "val/auc") if key in metrics)
        print(f"  job {job.name}: {figures or 'done'}  {swept}")
    print(f"vae-design {name}: {len(jobs) - failed} of {len(jobs)} job(s) finished; run folders in {sweep_dir}")
    return 2 if failed else 0

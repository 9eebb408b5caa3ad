"""``vae-design update``: fold measured alloys into a trained model's data and retrain it, the update step of a
campaign (suggest, measure, update, suggest). The work is :func:`vae_design.runs.update_run`."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from vae_design.cli.commands import load_model, run_dir, save_config
from vae_design.errors import InputError


def run_update(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.update import UpdateRun, update_run, update_summary

    if OmegaConf.is_missing(cfg, "results") or not str(cfg.results).strip():
        raise InputError("results=FILE.csv is required: the measured alloys (columns formula and label)")
    chosen = UpdateRun(**{f.name: cfg[f.name] for f in fields(UpdateRun)})
    load_model(cfg, overrides)  # bundle= (or model=) names a model bundle: a one-line error before any work
    out = run_dir(cfg).absolute()
    run = update_run(
        Path(str(cfg.bundle)), chosen.results, out, chosen, lambda folder: save_config(cfg, overrides, folder)
    )
    if run is not None:  # rank 0
        print(update_summary(run.metrics, out, run.plots))
    return 0

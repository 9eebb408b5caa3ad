"""``vae-design generate``: settings checked by :func:`plan_generation` before any work, then staged output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from vae_design.cli.commands import group, load_model, resume_setting, run_dir, save_config
from vae_design.errors import InputError
from vae_design.outputs import staged_run_dir


def run_generate(cfg: DictConfig, overrides: list[str]) -> int:
    from rich.progress import Progress

    from vae_design.design.generate import parquet_name, plan_generation, run_generation

    resume = resume_setting(cfg)
    model = load_model(cfg)
    latent = group(cfg, "latent")
    screen = group(cfg, "screen")
    choice = str(screen.pop("parquet", "auto")).lower()
    if choice not in ("true", "false", "auto"):
        raise InputError(f"screen.parquet must be true, false or auto, got {cfg.screen.parquet!r}")
    plan = plan_generation(
        model,
        str(cfg.workflow),
        cfg.n,
        cfg.target,
        cfg.seed,
        cfg.seed_alloy,
        group(cfg, "constraints"),
        latent,
        screen,
        group(cfg, "invert"),
        group(cfg, "scoring"),
    )
    parquet = parquet_name(plan, choice)  # screen.parquet, or candidates.parquet for a latent run above 100,000
    out = run_dir(cfg).absolute()
    # A screen keeps its progress in OUT/.screen-work while it runs (outside the staging folder, so that a killed
    # screen can be continued with resume=true); it is removed once the results are in place.
    work = out / ".screen-work" if plan.screen is not None else None
    if work is not None and work.exists() and not resume:
        raise InputError(f"{work} holds an interrupted screen: add resume=true to continue it, or delete the folder")
    from vae_design.design.scoring import KnownAlloys

    known = KnownAlloys.build(model, shipped=plan.scoring.shipped_datasets)
    with staged_run_dir(out) as staging, Progress(transient=True) as progress:
        task = progress.add_task(f"generate ({plan.workflow})", total=None)
        logged = [0]  # the last tenth printed, for logs (rich draws its bar only on a terminal)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            tenth = 10 * done // max(total, 1)
            if not progress.console.is_terminal and tenth > logged[0]:
                logged[0] = tenth
                print(f"generate ({plan.workflow}): {done}/{total} ({10 * tenth} %)", flush=True)

        designs = run_generation(
            plan, known, parquet=staging / parquet if parquet else None, progress=report, work=work
        )
        table = designs.table
        table.to_csv(staging / "candidates.csv", index=False, float_format="%.6g")
        figures = {k: (float(v) if np.isfinite(v) else None) for k, v in designs.figures.items()}
        (staging / "summary.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        plots = []
        if cfg.plots:
            from vae_design.design.plots import save_generate_plots

            plots = save_generate_plots(model, known, table, designs.latents, staging)
        save_config(cfg, overrides, staging)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    print(_summary(plan.workflow, table, figures, out, plots, parquet))
    return 0


def _summary(
    workflow: str, table: pd.DataFrame, figures: dict, out: Path, plots: list[str], parquet: str | None
) -> str:
    def figure(key: str) -> str:
        value = figures.get(key)
        return "n/a" if value is None else f"{value:.3f}"

    if workflow == "invert":
        head = (
            f"invert: {int(figures['path_length'])} alloys on the path after the seed; "
            + ("reached" if figures["reached"] else "did not reach")
            + f" P(target) {figure('final_probability')} at {figures['final_distance']:.1f} at.% from the seed"
        )
    else:
        scored = f"scored {int(figures['n_scored']):,} candidates; " if "n_scored" in figures else ""
        kept = f", accepted {figure('accepted')}" if "accepted" in figures else ""
        head = (
            f"{workflow}: {scored}{len(table)} candidates written; validity {figure('validity')}{kept}, uniqueness "
            f"{figure('uniqueness')}, novelty {figure('novelty')}, in domain {figure('in_domain')}, diversity "
            f"{figure('diversity')} at.%"
        )
    files = ["candidates.csv", "summary.json", *plots, *([parquet] if parquet else [])]
    return f"{head}\nwrote {out}: {', '.join(files)}"

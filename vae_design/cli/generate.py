"""``vae-design generate``: the composed config as :class:`~vae_design.design.settings.GenerateSettings` (its types
checked by Hydra, its ranges by the dataclasses), checked against the model by ``plan_generation`` before any
work, then the run's files staged into OUT."""

from __future__ import annotations

import shutil
from dataclasses import fields

from omegaconf import DictConfig, OmegaConf

from vae_design.cli.commands import load_model, run_dir, save_config
from vae_design.outputs import progress_bar, staged_run_dir


def generate_settings(cfg: DictConfig):
    """The config's keys (all but ``bundle`` and ``hydra``) as GenerateSettings; each group's checks run here."""
    from vae_design.design.settings import GenerateSettings

    names = [f.name for f in fields(GenerateSettings)]
    return GenerateSettings(**OmegaConf.to_object(OmegaConf.masked_copy(cfg, names)))


def run_generate(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.design.generate import parquet_name, plan_generation, run_generation
    from vae_design.design.results import screen_work, summary_text, write_designs
    from vae_design.design.scoring import KnownAlloys

    settings = generate_settings(cfg)
    model = load_model(cfg, overrides)
    plan = plan_generation(model, settings)
    parquet = parquet_name(plan)  # screen.parquet, or candidates.parquet for a latent run above 100,000
    out = run_dir(cfg).absolute()
    work = screen_work(plan, out)
    known = KnownAlloys.build(model, shipped=settings.scoring.shipped_datasets)
    with staged_run_dir(out) as staging, progress_bar(f"generate ({settings.workflow})") as report:
        designs = run_generation(plan, known, staging / parquet if parquet else None, report, work)
        figures = write_designs(designs, staging)
        files = [parquet] if parquet else []
        if settings.plots:
            from vae_design.design.plots import save_generate_plots

            files = save_generate_plots(model, known, designs.table, designs.latents, staging) + files
        save_config(cfg, overrides, staging)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    print(summary_text(settings.workflow, designs.table, figures, out, files))
    return 0

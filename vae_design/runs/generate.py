"""``vae-design generate`` as a plain function: candidate alloys from a trained model, by latent decoding,
screening or inversion of a seed alloy (:mod:`vae_design.design`), written into a staged run folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from vae_design.design.settings import GenerateSettings
from vae_design.outputs import progress_bar
from vae_design.runs import Record, staged_run, trained_model

SETTINGS = GenerateSettings  # the root schema of configs/generate.yaml (registered by the CLI as generate_schema)


def generate(settings: GenerateSettings, out: Path, record: Record | None = None, *, bundle: str | None) -> str:
    """Design alloys with the model of ``bundle`` as ``settings`` say (checked against the model by
    ``plan_generation`` before any work) and write them into ``out``; returns what to print."""
    from vae_design.design.generate import parquet_name, plan_generation, run_generation
    from vae_design.design.results import screen_work, summary_text, write_designs
    from vae_design.design.scoring import KnownAlloys

    model = trained_model(bundle)
    plan = plan_generation(model, settings)
    parquet = parquet_name(plan)  # screen.parquet, or candidates.parquet for a latent run wanting more than 100,000
    out = Path(out).absolute()
    work = screen_work(plan, out)
    known = KnownAlloys.build(model, shipped=settings.scoring.shipped_datasets)
    with staged_run(out, record) as staging, progress_bar(f"generate ({settings.workflow})") as report:
        designs = run_generation(plan, known, staging / parquet if parquet else None, report, work)
        figures = write_designs(designs, staging)
        files = [parquet] if parquet else []
        if settings.plots:
            from vae_design.design.plots import save_generate_plots

            files = save_generate_plots(model, known, designs.table, designs.latents, staging) + files
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    return summary_text(settings.workflow, designs.table, figures, out, files)

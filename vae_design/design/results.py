"""What a generation run leaves in its folder (``candidates.csv``, ``summary.json``, a screen's progress) and the
lines that describe it, for ``vae-design generate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from vae_design.design.generate import GenerationPlan
from vae_design.design.workflows import Designs
from vae_design.errors import InputError

SCREEN_WORK = ".screen-work"


def screen_work(plan: GenerationPlan, out: Path) -> Path | None:
    """The folder a screen keeps its progress in while it runs, ``OUT/.screen-work`` (outside the staging folder, so
    that a killed screen can be continued with resume=true; remove it once the results are in place); None for the
    other workflows. One left by an interrupted screen is an error unless the settings say resume."""
    if plan.screen is None:
        return None
    work = out / SCREEN_WORK
    if work.exists() and not plan.settings.resume:
        raise InputError(f"{work} holds an interrupted screen: add resume=true to continue it, or delete the folder")
    return work


def write_designs(designs: Designs, folder: Path) -> dict[str, float | None]:
    """``candidates.csv`` and ``summary.json`` in ``folder``; returns the figures as written (null where a figure
    cannot be computed: JSON has no NaN)."""
    designs.table.to_csv(folder / "candidates.csv", index=False, float_format="%.6g")
    figures = {k: (float(v) if np.isfinite(v) else None) for k, v in designs.figures.items()}
    (folder / "summary.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def summary_text(workflow: str, table: pd.DataFrame, figures: dict, out: Path, files: list[str]) -> str:
    """The run's figures (and how many candidates are known alloys, when any are), and the files written into ``out``
    (besides candidates.csv and summary.json)."""

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
        scored += f"decoded {int(figures['n_latents']):,} latents; " if "n_latents" in figures else ""
        kept = f", accepted {figure('accepted')}" if "accepted" in figures else ""
        head = (
            f"{workflow}: {scored}{len(table)} candidates written; validity {figure('validity')}{kept}, uniqueness "
            f"{figure('uniqueness')}, novelty {figure('novelty')}, in domain {figure('in_domain')}, diversity "
            f"{figure('diversity')} at.%"
        )
    if "n_latents" in figures and len(table) < figures["n_requested"]:  # say why the list is short, and what helps
        head += (
            f"\n{len(table)} of the {int(figures['n_requested'])} wanted: latent.min_probability and latent.novel_only "
            "kept no more of the latents decoded (latent.source=prior or seed: latent.rounds draws more)"
        )
    known = int((table["known_source"] != "").sum()) if "known_source" in table else 0
    if known:  # the model's P beside a measured label: say so, or the known alloy reads as a prediction
        head += (
            f"\n{known} of them are known alloys: their recorded labels and sources are in known_label, known_source"
        )
    return f"{head}\nwrote {out}: {', '.join(['candidates.csv', 'summary.json', *files])}"

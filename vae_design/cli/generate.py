"""``vae-design generate``: every setting checked before any work, then one workflow, then staged output."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from vae_design.cli.commands import load_model, options, run_dir, save_config
from vae_design.errors import InputError
from vae_design.outputs import staged_run_dir

WORKFLOWS = ("latent", "screen", "invert")
PARQUET_ABOVE = 100_000  # screen.parquet=auto writes the full screen above this many candidates


def _integer(cfg: DictConfig, key: str, low: int | None = None) -> int:
    value = OmegaConf.select(cfg, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{key} must be a whole number, got {value!r}")
    if low is not None and value < low:
        raise InputError(f"{key} must be at least {low}, got {value}")
    return value


def _number(cfg: DictConfig, key: str) -> float:
    value = OmegaConf.select(cfg, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{key} must be a number, got {value!r}")
    return float(value)


def _given_latents(path: str | None, z_dim: int) -> np.ndarray | None:
    if path is None:
        return None
    from vae_design.data.csv_input import read_table

    columns = tuple(f"z{d + 1}" for d in range(z_dim))
    rows = read_table(str(path), columns)
    values = np.zeros((len(rows), z_dim), dtype=np.float32)
    for i, (row, cells) in enumerate(rows):
        for d, column in enumerate(columns):
            try:
                values[i, d] = float(cells[column])
            except (TypeError, ValueError):
                raise InputError(f"{path}, row {row}, column '{column}': not a number: {cells[column]!r}") from None
    if not np.isfinite(values).all() or len(values) == 0:
        raise InputError(f"{path}: needs at least one row of finite latents")
    return values


def _palette(cfg: DictConfig, model, constraints) -> tuple[str, ...]:
    palette = cfg.screen.palette
    if palette is not None:
        return (str(palette),) if isinstance(palette, str) else tuple(str(e) for e in palette)
    counts = (
        Counter(e for f in model.known_alloys["formula"] for e in _symbols(f))
        if model.known_alloys is not None
        else Counter()
    )
    usable = set(constraints.usable)
    ranked = [e for e, _ in counts.most_common() if e in usable] + [e for e in constraints.usable if e not in counts]
    return tuple(ranked[:12])


def _symbols(formula: str) -> list[str]:
    import re

    return re.findall(r"[A-Z][a-z]?", formula)


def run_generate(cfg: DictConfig, overrides: list[str]) -> int:
    from rich.progress import Progress

    from vae_design.design import AlloyConstraints, KnownAlloys, ScoringSettings
    from vae_design.design import workflows as flows
    from vae_design.design.screen import plan_screen, run_screen

    workflow = str(cfg.workflow)
    if workflow not in WORKFLOWS:
        raise InputError(f"unknown workflow '{workflow}'; choose one of {', '.join(WORKFLOWS)}")
    n, target, seed = _integer(cfg, "n", 1), _integer(cfg, "target", 0), _integer(cfg, "seed")
    model = load_model(cfg)
    flows.target_index(model, target)
    constraints = AlloyConstraints.from_settings(
        model.vocabulary, **options(cfg, "constraints", AlloyConstraints.from_settings, extra=())
    )
    scoring = ScoringSettings(**options(cfg, "scoring", ScoringSettings))
    seed_alloy = None if cfg.seed_alloy is None else str(cfg.seed_alloy)
    if workflow == "invert" and not seed_alloy:
        raise InputError("workflow=invert needs seed_alloy=FORMULA (the alloy to start from)")
    if seed_alloy:
        flows.seed_latent(model, seed_alloy)  # a bad formula is reported now, before any work
    plan = parquet = None
    if workflow == "screen":
        limit, chunk = _integer(cfg, "screen.limit", 1), _integer(cfg, "screen.chunk", 1)
        plan = plan_screen(constraints, _palette(cfg, model, constraints), _number(cfg, "screen.spread"), limit)
        choice = str(cfg.screen.parquet).lower()
        if choice not in ("true", "false", "auto"):
            raise InputError(f"screen.parquet must be true, false or auto, got {cfg.screen.parquet!r}")
        parquet = choice == "true" or (choice == "auto" and plan.total > PARQUET_ABOVE)
    elif workflow == "latent":
        latent = cfg.latent
        z = flows.latents(
            model,
            n,
            str(latent.source),
            seed,
            _integer(cfg, "latent.grid_dims", 1),
            _number(cfg, "latent.span"),
            seed_alloy,
            _number(cfg, "latent.radius"),
            _given_latents(latent.file, model.vae.config.z_dim),
        )
    else:
        steps = _integer(cfg, "invert.steps", 0)
    out = run_dir(cfg).absolute()
    known = KnownAlloys.build(model, shipped=scoring.shipped_datasets)
    with staged_run_dir(out) as staging, Progress(transient=True) as progress:
        task = progress.add_task(f"generate ({workflow})", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if workflow == "latent":
            designs = flows.latent_designs(model, z, target, constraints, known, scoring, report)
            keep = designs.table["target_probability"] >= _number(cfg, "latent.min_probability")
            table = designs.table[keep]
            if cfg.latent.deduplicate:
                table = table.drop_duplicates("formula")
            candidate_z = table[[f"z{d + 1}" for d in range(model.vae.config.z_dim)]].to_numpy()
        elif workflow == "invert":
            designs = flows.invert_path(
                model,
                seed_alloy,
                target,
                constraints,
                known,
                scoring,
                steps,
                _number(cfg, "invert.step_size"),
                _number(cfg, "invert.pull"),
                _number(cfg, "invert.threshold"),
                report,
            )
            table = designs.table
            candidate_z = designs.latents
        else:
            from vae_design.design.scoring import batch_figures, score

            best, scored = run_screen(
                model,
                plan,
                target,
                n,
                constraints,
                staging / "screen.parquet" if parquet else None,
                chunk,
                _integer(cfg, "screen.posterior_samples", 1),
                report,
            )
            table = flows._with_target_probability(model, score(model, best, constraints.grid, known, scoring), target)
            table = table.sort_values("target_probability", ascending=False, kind="stable")
            designs = flows.Designs(
                table, {"n_scored": float(scored), **batch_figures(table, len(table), constraints.elements)}
            )
            candidate_z = model.encode(list(table["formula"]), [target] * len(table)) if len(table) else None
        table.to_csv(staging / "candidates.csv", index=False, float_format="%.6g")
        figures = {k: (float(v) if np.isfinite(v) else None) for k, v in designs.figures.items()}
        (staging / "summary.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        plots = []
        if cfg.plots:
            from vae_design.design.plots import save_generate_plots

            plots = save_generate_plots(model, known, table, candidate_z, staging)
        save_config(cfg, overrides, staging)
    print(_summary(workflow, table, figures, out, plots, parquet))
    return 0


def _summary(workflow: str, table: pd.DataFrame, figures: dict, out: Path, plots: list[str], parquet) -> str:
    def figure(key: str) -> str:
        value = figures.get(key)
        return "n/a" if value is None else f"{value:.3f}"

    if workflow == "invert":
        head = (
            f"invert: {int(figures['path_length'])} alloys on the path; "
            + ("reached" if figures["reached"] else "did not reach")
            + f" P(target) {figure('final_probability')} at {figures['final_distance']:.1f} at.% from the seed"
        )
    else:
        scored = f"scored {int(figures['n_scored']):,} candidates; " if "n_scored" in figures else ""
        head = (
            f"{workflow}: {scored}{len(table)} candidates written; validity {figure('validity')}, uniqueness "
            f"{figure('uniqueness')}, novelty {figure('novelty')}, in domain {figure('in_domain')}, diversity "
            f"{figure('diversity')} at.%"
        )
    files = ["candidates.csv", "summary.json", *plots, *(["screen.parquet"] if parquet else [])]
    return f"{head}\nwrote {out}: {', '.join(files)}"

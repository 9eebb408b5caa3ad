"""One entry point for the three workflows, shared by ``AlloyVAE.generate`` and ``vae-design generate``.

:func:`plan_generation` checks every setting (types, ranges, constraints, the seed alloy, the screen's size) and
draws the latents, before any expensive work; :func:`run_generation` then builds the known-alloy set, runs the
workflow and returns :class:`Designs`. Settings groups are plain mappings with the keys of configs/generate.yaml.

A latent run of more than :data:`STREAM_ABOVE` latents (or one given a Parquet path) is streamed, as a screen is:
each batch's accepted candidates go to the Parquet file (latent order, duplicates kept) and only the best
:data:`STREAM_ABOVE` distinct ones stay in memory, ranked as a small run's are, to become ``candidates.csv``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vae_design.design import workflows as flows
from vae_design.design.constraints import AlloyConstraints
from vae_design.design.scoring import KnownAlloys, ScoringSettings, batch_figures, join_scored, score
from vae_design.design.screen import ScreenPlan, plan_screen, run_screen
from vae_design.errors import InputError

WORKFLOWS = ("latent", "screen", "invert")
# Above this many candidates a screen (screen.parquet=auto) and above this many latents a latent run stream every
# candidate to Parquet; a streamed latent run keeps this many best candidates in memory for candidates.csv.
STREAM_ABOVE = 100_000
DEFAULTS = {
    "latent": {
        "source": "prior",
        "grid_dims": 2,
        "span": 2.5,
        "radius": 0.5,
        "file": None,
        "given": None,
        "temperature": 1.0,
        "min_probability": 0.5,
        "novel_only": False,
        "deduplicate": True,
        "guide_steps": 200,
        "guide_step_size": 0.1,
        "guide_pull": 0.0,
        "limit": 100_000,
    },
    "screen": {
        "palette": None,
        "spread": 2.0,
        "limit": 20_000_000,
        "chunk": 65536,
        "posterior_samples": 16,
        "per_element_set": True,
    },
    "invert": {"steps": 200, "step_size": 0.05, "pull": 0.05, "threshold": 0.5},
}


def _group(name: str, values: Mapping | None) -> dict:
    values = dict(values or {})
    unknown = sorted(set(values) - set(DEFAULTS[name]))
    if unknown:
        raise InputError(f"unknown setting {name}.{unknown[0]} (known: {', '.join(DEFAULTS[name])})")
    return {**DEFAULTS[name], **values}


def whole(value, key: str, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{key} must be a whole number, got {value!r}")
    if low is not None and value < low:
        raise InputError(f"{key} must be at least {low}, got {value}")
    return int(value)


def number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InputError(f"{key} must be a number, got {value!r}")
    return float(value)


@dataclass
class GenerationPlan:
    model: object
    workflow: str
    n: int
    target: int
    constraints: AlloyConstraints
    scoring: ScoringSettings
    settings: dict = field(default_factory=dict)  # the workflow's own group, checked
    seed_alloy: str | None = None
    z: torch.Tensor | None = None  # latent workflow
    screen: ScreenPlan | None = None  # screen workflow


def given_latents(path: str | None, z_dim: int) -> np.ndarray | None:
    """latent.file: a CSV with columns z1..zD (one row per latent); None without a file."""
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
    if len(values) == 0 or not np.isfinite(values).all():
        raise InputError(f"{path}: needs at least one row of finite latents")
    return values


def plan_generation(
    model,
    workflow: str = "latent",
    n: int = 1000,
    target: int = 1,
    seed: int = 0,
    seed_alloy: str | None = None,
    constraints: Mapping | None = None,
    latent: Mapping | None = None,
    screen: Mapping | None = None,
    invert: Mapping | None = None,
    scoring: Mapping | None = None,
) -> GenerationPlan:
    """Every setting checked, latents drawn, the screen planned; a bad one is a one-line InputError."""
    if workflow not in WORKFLOWS:
        raise InputError(f"unknown workflow '{workflow}'; choose one of {', '.join(WORKFLOWS)}")
    n, target, seed = whole(n, "n", 1), whole(target, "target", 0), whole(seed, "seed")
    flows.target_index(model, target)
    rules = AlloyConstraints.from_settings(model.vocabulary, **_checked_keys(constraints, AlloyConstraints))
    scoring = dict(scoring or {})
    unknown = sorted(set(scoring) - set(ScoringSettings.__dataclass_fields__))
    if unknown:
        raise InputError(
            f"unknown setting scoring.{unknown[0]} (known: {', '.join(ScoringSettings.__dataclass_fields__)})"
        )
    scores = ScoringSettings(**scoring)
    for key in ("novel_above", "in_domain_within"):
        number(getattr(scores, key), f"scoring.{key}")
    whole(scores.posterior_samples, "scoring.posterior_samples", 2)
    if not isinstance(scores.shipped_datasets, bool):
        raise InputError(f"scoring.shipped_datasets must be true or false, got {scores.shipped_datasets!r}")
    seed_alloy = None if seed_alloy is None else str(seed_alloy)
    if workflow == "invert" and not seed_alloy:
        raise InputError("workflow=invert needs seed_alloy=FORMULA (the alloy to start from)")
    if seed_alloy:
        flows.seed_latent(model, seed_alloy)  # a bad formula is reported now, before any work
    settings = _group(workflow, {"latent": latent, "screen": screen, "invert": invert}[workflow])
    plan = GenerationPlan(model, workflow, n, target, rules, scores, settings, seed_alloy)
    if workflow == "latent":
        limit = whole(settings["limit"], "latent.limit", 1)
        if n > limit:  # checked before n latents are even allocated
            raise InputError(
                f"n={n} latents is more than latent.limit={limit} (with the default 200 guidance steps a 2-core CPU "
                f"decodes about 70 latents/s, so this would take about {n / 70 / 3600:.1f} h); raise latent.limit "
                "to run it anyway"
            )
        given = settings["given"]  # an array from Python, or latent.file=Z.csv
        if given is None:
            given = given_latents(settings["file"], model.vae.config.z_dim)
        plan.z = flows.latents(
            model,
            n,
            str(settings["source"]),
            seed,
            whole(settings["grid_dims"], "latent.grid_dims", 1),
            number(settings["span"], "latent.span"),
            seed_alloy,
            number(settings["radius"], "latent.radius"),
            given,
            number(settings["temperature"], "latent.temperature"),
        )
        number(settings["min_probability"], "latent.min_probability")
        whole(settings["guide_steps"], "latent.guide_steps", 0)
        number(settings["guide_step_size"], "latent.guide_step_size")
        number(settings["guide_pull"], "latent.guide_pull")
    elif workflow == "screen":
        chosen = palette(model, rules, settings["palette"])
        descriptors = model.vae.head.descriptors
        gaps = [e for e in chosen if e in descriptors.missing_properties]
        gaps += [f"{a}-{b}" for a, b in descriptors.missing_pairs if a in chosen and b in chosen]
        if gaps:
            raise InputError(f"screen.palette: no descriptor data for {gaps[0]}; leave it out of the palette")
        plan.screen = plan_screen(
            rules,
            chosen,
            number(settings["spread"], "screen.spread"),
            whole(settings["limit"], "screen.limit", 1),
        )
        whole(settings["chunk"], "screen.chunk", 1)
        whole(settings["posterior_samples"], "screen.posterior_samples", 2)
    else:
        whole(settings["steps"], "invert.steps", 0)
        for key in ("step_size", "pull", "threshold"):
            number(settings[key], f"invert.{key}")
    return plan


def _checked_keys(values: Mapping | None, kind) -> dict:
    import inspect

    values = dict(values or {})
    known = [k for k in inspect.signature(kind.from_settings).parameters if k != "vocabulary"]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown setting constraints.{unknown[0]} (known: {', '.join(known)})")
    return values


def palette(model, constraints: AlloyConstraints, chosen) -> tuple[str, ...]:
    """The screen's elements: as chosen, or the 12 most frequent allowed elements of the model's known alloys."""
    import re

    if chosen is not None:
        return (str(chosen),) if isinstance(chosen, str) else tuple(str(e) for e in chosen)
    known = model.known_alloys["formula"] if model.known_alloys is not None else []
    counts = Counter(e for f in known for e in re.findall(r"[A-Z][a-z]?", f))
    usable = set(constraints.usable)
    ranked = [e for e, _ in counts.most_common() if e in usable] + [e for e in constraints.usable if e not in counts]
    return tuple(ranked[:12])


def run_generation(
    plan: GenerationPlan,
    known: KnownAlloys | None = None,
    parquet: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    work: Path | None = None,
) -> flows.Designs:
    """Run a checked plan. ``latents`` of the result are the rows' z (screen: the candidates encoded with y=target).
    ``work``: a folder that makes a screen resumable (see :func:`run_screen`)."""
    model, rules, settings = plan.model, plan.constraints, plan.settings
    known = known or KnownAlloys.build(model, shipped=plan.scoring.shipped_datasets)
    if plan.workflow == "latent":
        if parquet is not None or plan.n > STREAM_ABOVE:
            return _streamed_latent(plan, known, parquet, progress)
        designs = flows.latent_designs(
            model, plan.z, plan.target, rules, known, plan.scoring, progress, **_guidance(settings)
        )
        table = _accepted(designs.table, settings)
        # Figures of what is kept (before de-duplication, so uniqueness means something); validity counts every
        # decoded latent that became a valid alloy, accepted the share kept by the filters.
        figures = batch_figures(table, plan.n, rules.elements) if len(table) else {"n_requested": float(plan.n)}
        figures.update(
            {k: designs.figures[k] for k in ("n_valid", "validity") if k in designs.figures},
            accepted=len(table) / plan.n,
        )
        table = _ranked(table, settings["deduplicate"])
        z_columns = [f"z{d + 1}" for d in range(model.vae.config.z_dim)]
        return flows.Designs(table.reset_index(drop=True), figures, table[z_columns].to_numpy())
    if plan.workflow == "invert":
        return flows.invert_path(
            model,
            plan.seed_alloy,
            plan.target,
            rules,
            known,
            plan.scoring,
            settings["steps"],
            settings["step_size"],
            settings["pull"],
            settings["threshold"],
            progress,
        )
    best, scored = run_screen(
        model,
        plan.screen,
        plan.target,
        plan.n,
        rules,
        parquet,
        settings["chunk"],
        settings["posterior_samples"],
        progress,
        bool(settings["per_element_set"]),
        work,
    )
    table = score(model, best, rules.grid, known, plan.scoring, plan.target)
    table = table.sort_values("target_probability", ascending=False, kind="stable").reset_index(drop=True)
    figures = {"n_scored": float(scored), **batch_figures(table, len(table), rules.elements)}
    z = model.encode(list(table["formula"]), [plan.target] * len(table)) if len(table) else None
    return flows.Designs(table, figures, z)


def parquet_name(plan: GenerationPlan, choice: str = "auto") -> str | None:
    """The Parquet file a run streams every candidate to, or None: ``screen.parquet`` for a screen (``choice``, the
    screen.parquet setting: true, false, or auto = above :data:`STREAM_ABOVE` candidates), ``candidates.parquet``
    for a latent run of more than :data:`STREAM_ABOVE` latents."""
    if plan.screen is not None and (choice == "true" or (choice == "auto" and plan.screen.total > STREAM_ABOVE)):
        return "screen.parquet"
    if plan.workflow == "latent" and plan.n > STREAM_ABOVE:
        return "candidates.parquet"
    return None


def _guidance(settings: Mapping) -> dict:
    return {f"guide_{k}": settings[f"guide_{k}"] for k in ("steps", "step_size", "pull")}


def _accepted(table: pd.DataFrame, settings: Mapping) -> pd.DataFrame:
    """The candidates latent.min_probability and latent.novel_only keep."""
    table = table[table["target_probability"] >= settings["min_probability"]]
    return table[table["novel"]] if settings["novel_only"] else table


def _ranked(table: pd.DataFrame, deduplicate: bool) -> pd.DataFrame:
    """Best first by P(target), ties in row order; ``deduplicate``: one row per formula, its first row's. Rows come
    in latent order (a streamed run's kept rows first, all from earlier latents), so ties go to the earlier latent."""
    if deduplicate:
        table = table.drop_duplicates("formula")
    return table.sort_values("target_probability", ascending=False, kind="stable")


def _streamed_latent(
    plan: GenerationPlan, known: KnownAlloys, parquet: Path | None, progress: Callable[[int, int], None] | None
) -> flows.Designs:
    """The latent workflow in bounded memory: every accepted candidate to ``parquet`` batch by batch (latent order,
    duplicates kept, one at.% column per usable element: the columns of the returned table), the best
    :data:`STREAM_ABOVE` (after de-duplication) kept and returned. validity, accepted and uniqueness count every
    latent; novelty, in_domain, mean_probability and diversity describe the kept candidates (as a screen's do)."""
    model, rules, settings = plan.model, plan.constraints, plan.settings
    kept, n_valid, n_accepted, formula_hashes = None, 0, 0, []
    with contextlib.ExitStack() as stack:
        write = stack.enter_context(_parquet_batches(parquet)) if parquet is not None else None
        batches = flows.scored_batches(
            model, plan.z, plan.target, rules, known, plan.scoring, progress, **_guidance(settings)
        )
        for table, part, start in batches:
            n_valid += len(table)
            table = _accepted(flows.with_latents(join_scored([table], rules.usable, every=True), part, start), settings)
            n_accepted += len(table)
            formula_hashes.append(pd.util.hash_array(table["formula"].to_numpy(dtype=object)))
            if write is not None and len(table):  # the first written batch fixes the file's column types
                write(table)
            pool = [t for t in (kept, table) if t is not None and len(t)] or [table]
            kept = _ranked(pd.concat(pool, ignore_index=True), settings["deduplicate"]).head(STREAM_ABOVE)
        if write is not None and not n_accepted:  # no candidate: a file with the columns all the same
            write(kept)
    figures = batch_figures(kept, plan.n, rules.elements) if len(kept) else {"n_requested": float(plan.n)}
    distinct = len(np.unique(np.concatenate(formula_hashes)))
    figures.update(
        n_valid=float(n_valid),
        validity=n_valid / plan.n,
        accepted=n_accepted / plan.n,
        uniqueness=distinct / n_accepted if n_accepted else float("nan"),
    )
    z_columns = [f"z{d + 1}" for d in range(model.vae.config.z_dim)]
    return flows.Designs(kept.reset_index(drop=True), figures, kept[z_columns].to_numpy())


@contextlib.contextmanager
def _parquet_batches(path: Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    """A writer of tables with the same columns to one Parquet file; the file is written as ``PATH.partial`` and
    renamed to ``path`` only once every table is in, so a failure leaves neither."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    partial = Path(path).with_name(Path(path).name + ".partial")
    writer = None

    def write(frame: pd.DataFrame) -> None:
        nonlocal writer
        table = pa.Table.from_pandas(frame, schema=writer.schema if writer else None, preserve_index=False)
        writer = writer or pq.ParquetWriter(str(partial), table.schema)
        writer.write_table(table)

    try:
        yield write
        if writer is not None:
            writer.close()
            partial.replace(path)
    except BaseException:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
        raise

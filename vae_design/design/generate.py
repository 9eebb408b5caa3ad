"""One entry point for the three workflows, shared by ``AlloyVAE.generate`` and ``vae-design generate``.

:func:`plan_generation` checks what the settings (:class:`~vae_design.design.settings.GenerateSettings`, whose own
checks ran when it was made) mean for this model (the target class, the constraints over its vocabulary, the seed
alloy, the screen's size) and draws the latents, before any expensive work; :func:`run_generation` then builds the
known-alloy set, runs the workflow and returns :class:`Designs`.

A latent run decodes rounds of n latents until it keeps n distinct candidates (``latent.rounds`` at most): the
filters keep a fraction of what is decoded, and ``n`` is the candidates wanted, as for a screen. A run wanting more
than :data:`STREAM_ABOVE` candidates (or one given a Parquet path) is streamed, as a screen is: each batch's accepted
candidates go to the Parquet file (latent order, duplicates kept) and only the best :data:`STREAM_ABOVE` distinct
ones stay in memory, ranked as a small run's are, to become ``candidates.csv``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vae_design.design import workflows as flows
from vae_design.design.constraints import AlloyConstraints
from vae_design.design.scoring import KnownAlloys, batch_figures, join_scored, score
from vae_design.design.screen import ScreenPlan, plan_screen, run_screen
from vae_design.design.settings import GenerateSettings, LatentSettings
from vae_design.errors import InputError

# A screen (screen.parquet=auto) or a latent run wanting more than this many candidates streams every candidate to
# Parquet; a streamed latent run keeps this many best candidates in memory for candidates.csv.
STREAM_ABOVE = 100_000
RANDOM_SOURCES = ("prior", "seed")  # latent sources that can draw again for another round


@dataclass
class GenerationPlan:
    model: object
    settings: GenerateSettings
    constraints: AlloyConstraints  # settings.constraints over the model's vocabulary, checked
    z: torch.Tensor | None = None  # latent workflow: the first round's latents (n, target_dim + z_dim)
    sizes: torch.Tensor | None = None  # latent workflow: each of them's element count (n,)
    screen: ScreenPlan | None = None  # screen workflow


def given_latents(path: str | None, z_dim: int) -> np.ndarray | None:
    """latent.file: a CSV with columns z1..zD (one row per latent; the target factor's dimensions first, then the
    nuisance factor's, as ``candidates.csv`` writes them); None without a file. The element counts are drawn anew
    (:func:`~vae_design.design.sampler.element_sizes`): set constraints.min_elements = max_elements to fix them."""
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
    model, settings: GenerateSettings | str = "latent", *args, given: np.ndarray | None = None, **values
) -> GenerationPlan:
    """The checked plan of ``settings`` for ``model``: latents drawn, the screen planned; a bad setting is a one-line
    InputError. ``settings`` may also be given as :meth:`GenerateSettings.of` takes it (the workflow, then n,
    target, ... with the groups as mappings), as ``AlloyVAE.generate`` passes it. ``given``: latents (an array with
    one column per latent dimension) for ``latent.source=given`` from Python, instead of ``latent.file``."""
    if not isinstance(settings, GenerateSettings):
        settings = GenerateSettings.of(settings, *args, **values)
    flows.target_index(model, settings.target)
    rules = AlloyConstraints.from_settings(model.vocabulary, settings.constraints)
    if settings.seed_alloy:
        flows.seed_latent(model, settings.seed_alloy)  # a bad formula is reported now, before any work
    plan = GenerationPlan(model, settings, rules)
    if settings.workflow == "latent":
        latent = settings.latent
        if given is None:
            given = given_latents(latent.file, model.vae.config.latent_dim)
        plan.z, plan.sizes = _draw(plan, settings.seed, given)
    elif settings.workflow == "screen":
        chosen = palette(model, rules, settings.screen.palette)
        descriptors = model.vae.head.descriptors
        gaps = [e for e in chosen if e in descriptors.missing_properties]
        gaps += [f"{a}-{b}" for a, b in descriptors.missing_pairs if a in chosen and b in chosen]
        if gaps:
            raise InputError(f"screen.palette: no descriptor data for {gaps[0]}; leave it out of the palette")
        plan.screen = plan_screen(rules, chosen, settings.screen.spread, settings.screen.limit)
    return plan


def palette(model, constraints: AlloyConstraints, chosen: tuple[str, ...] | None) -> tuple[str, ...]:
    """The screen's elements: as chosen, or the 12 most frequent allowed elements of the model's known alloys."""
    import re

    if chosen is not None:
        return tuple(chosen)
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
    """Run a checked plan. ``latents`` of the result are the rows' z (screen: the candidates' posterior means).
    ``work``: a folder that makes a screen resumable (see :func:`run_screen`)."""
    model, rules, settings = plan.model, plan.constraints, plan.settings
    n, target, scoring = settings.n, settings.target, settings.scoring
    known = known or KnownAlloys.build(model, shipped=scoring.shipped_datasets)
    if settings.workflow == "latent":
        return _latent_run(plan, known, parquet, progress)
    if settings.workflow == "invert":
        return flows.invert_path(model, settings.seed_alloy, target, rules, known, scoring, settings.invert, progress)
    screen = settings.screen
    best, scored = run_screen(
        model,
        plan.screen,
        target,
        n,
        rules,
        parquet,
        screen.chunk,
        screen.posterior_samples,
        progress,
        screen.per_element_set,
        work,
    )
    table = score(model, best, rules.grid, known, scoring, target)
    table = _ranked(table, False, scoring.domain_first).reset_index(drop=True)
    figures = {"n_scored": float(scored), **batch_figures(table, len(table), rules.elements)}
    z = model.encode(list(table["formula"])) if len(table) else None
    return flows.Designs(table, figures, z)


def parquet_name(plan: GenerationPlan) -> str | None:
    """The Parquet file a run streams every candidate to, or None: ``screen.parquet`` for a screen (as the
    screen.parquet setting says: true, false, or auto = above :data:`STREAM_ABOVE` candidates),
    ``candidates.parquet`` for a latent run wanting more than :data:`STREAM_ABOVE` candidates."""
    choice = plan.settings.screen.parquet
    if plan.screen is not None and (choice == "true" or (choice == "auto" and plan.screen.total > STREAM_ABOVE)):
        return "screen.parquet"
    if plan.settings.workflow == "latent" and plan.settings.n > STREAM_ABOVE:
        return "candidates.parquet"
    return None


def _guidance(latent: LatentSettings) -> dict:
    return {f"guide_{k}": getattr(latent, f"guide_{k}") for k in ("steps", "step_size", "pull")}


def _accepted(table: pd.DataFrame, latent: LatentSettings, grid: float) -> pd.DataFrame:
    """The candidates latent.min_probability, latent.novel_only and latent.known keep (known: within one grid step,
    ``grid`` at.%, of a known alloy: the alloy itself, rounded to the grid)."""
    table = table[table["target_probability"] >= latent.min_probability]
    if not latent.known:
        table = table[table["distance"] > grid]
    return table[table["novel"]] if latent.novel_only else table


def _ordered(table: pd.DataFrame, order: str, domain_first: bool) -> pd.DataFrame:
    """``probability``: as ranked (best P(target) first). ``diverse``: the best alloy of every element set first (in
    P(target) order), then every set's second best, and so on, so one family's 1 at.% variants cannot fill the top
    of the list. ``domain_first``: every in-domain candidate before every other, either way."""
    if order == "probability" or not len(table):
        return table
    element_set = table["formula"].str.findall(r"[A-Z][a-z]?").map(lambda elements: "-".join(sorted(elements)))
    rank_in_set = table.groupby(element_set, sort=False).cumcount()
    keys = ["_outside", "_rank"] if domain_first else ["_rank"]
    ordered = table.assign(_rank=rank_in_set.to_numpy(), _outside=~table["in_domain"].to_numpy(dtype=bool))
    return ordered.sort_values(keys, kind="stable").drop(columns=["_rank", "_outside"])


def _ranked(table: pd.DataFrame, deduplicate: bool, domain_first: bool) -> pd.DataFrame:
    """Best first by P(target) (``domain_first``: in-domain candidates first, each part by P(target)), ties in row
    order; ``deduplicate``: one row per formula, its first row's. Rows come in latent order (a streamed run's kept
    rows first, all from earlier latents), so ties go to the earlier latent."""
    if deduplicate:
        table = table.drop_duplicates("formula")
    keys = ["in_domain", "target_probability"] if domain_first else ["target_probability"]
    return table.sort_values(keys, ascending=False, kind="stable")


def _draw(plan: GenerationPlan, seed: int, given: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """n latents and their element counts as the plan's latent settings say, drawn with ``seed``."""
    settings, latent = plan.settings, plan.settings.latent
    return flows.latents(
        plan.model,
        settings.n,
        plan.constraints,
        settings.target,
        latent.source,
        seed,
        latent.grid_dims,
        latent.span,
        settings.seed_alloy,
        latent.radius,
        given,
        latent.temperature,
        latent.nuisance,
    )


def _latent_rounds(plan: GenerationPlan) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The latents of a latent run a round at a time: the plan's own draw, then for the random sources (prior, seed)
    fresh draws of n latents, each round with its own seed (from settings.seed and the round), at most
    latent.rounds in all and latent.limit latents over all of them. The caller stops drawing once it has n
    candidates."""
    yield plan.z, plan.sizes
    settings, latent = plan.settings, plan.settings.latent
    if latent.source not in RANDOM_SOURCES:
        return
    for round_ in range(1, min(latent.rounds, latent.limit // settings.n)):
        seed = int(np.random.SeedSequence([settings.seed % 2**63, round_]).generate_state(1)[0])
        yield _draw(plan, seed)


def _latent_run(
    plan: GenerationPlan, known: KnownAlloys, parquet: Path | None, progress: Callable[[int, int], None] | None
) -> flows.Designs:
    """The latent workflow: rounds of latents (:func:`_latent_rounds`) decoded, scored and filtered batch by batch
    until n candidates are kept (n distinct ones with latent.deduplicate); the best n (latent.order) are returned.
    Streamed (a ``parquet`` path, or n above :data:`STREAM_ABOVE`): every accepted candidate goes to ``parquet``
    (latent order, duplicates kept, one at.% column per usable element) and only the best :data:`STREAM_ABOVE` stay
    in memory. ``latent_index`` counts latents over every round. validity, accepted and uniqueness count every
    decoded latent; novelty, in_domain, mean_probability and diversity describe the candidates returned."""
    model, rules, settings, latent = plan.model, plan.constraints, plan.settings, plan.settings.latent
    n, domain_first = settings.n, settings.scoring.domain_first
    streamed = parquet is not None or n > STREAM_ABOVE
    parts, kept, found = [], None, set()
    drawn = n_valid = n_accepted = have = 0
    with contextlib.ExitStack() as stack:
        write = stack.enter_context(_parquet_batches(parquet)) if parquet is not None else None
        for z, sizes in _latent_rounds(plan):
            batches = flows.scored_batches(
                model, z, sizes, settings.target, rules, known, settings.scoring, None, **_guidance(latent)
            )
            for table, part, start in batches:
                n_valid += len(table)
                scored = join_scored([table], rules.usable, every=True) if streamed else table
                table = _accepted(flows.with_latents(scored, part, start), latent, rules.grid)
                table["latent_index"] += drawn
                n_accepted += len(table)
                found.update(pd.util.hash_array(table["formula"].to_numpy(dtype=object)).tolist())
                if write is not None and len(table):  # the first written batch fixes the file's column types
                    write(table)
                if streamed:
                    pool = [t for t in (kept, table) if t is not None and len(t)] or [table]
                    kept = _ranked(pd.concat(pool, ignore_index=True), latent.deduplicate, domain_first)
                    kept = kept.head(STREAM_ABOVE)
                else:
                    parts.append(table)
                have = len(found) if latent.deduplicate else n_accepted  # candidates kept so far
                if progress:
                    progress(min(have, n), n)
            drawn += len(z)
            if have >= n:
                break
        if write is not None and not n_accepted:  # no candidate: a file with the columns all the same
            write(kept)
    z_columns = [f"z{d + 1}" for d in range(model.vae.config.latent_dim)]
    if not streamed:  # element columns any batch used, then the latents last (as a streamed table has them)
        table = join_scored([t for t in parts if len(t)] or parts[:1], model.vocabulary.elements)
        kept = _ranked(
            table[[c for c in table.columns if c not in z_columns] + z_columns], latent.deduplicate, domain_first
        )
    kept = _ordered(kept, latent.order, domain_first).head(n)
    figures = batch_figures(kept, drawn, rules.elements) if len(kept) else {}
    figures.update(
        n_requested=float(min(n, STREAM_ABOVE) if streamed else n),  # what candidates.csv can hold
        n_latents=float(drawn),
        n_valid=float(n_valid),
        validity=n_valid / drawn,
        accepted=n_accepted / drawn,
        uniqueness=len(found) / n_accepted if n_accepted else float("nan"),
    )
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

"""The screen workflow: enumerate on-grid alloys of a palette of elements, score them all with the head, rank.

Candidates are every alloy of ``size`` elements of the palette (each size the constraints allow) whose fractions lie
on the grid, within the per-element bounds and within ``spread`` at.% of equiatomic (spread 0: equiatomic, or the
nearest on-grid points when 100 / size is not whole). They are generated in chunks (one fixed table of fraction
patterns per size, scattered onto the columns of each element subset), scored in chunks (descriptors and the head,
float32, no autograd), and only the best ``keep`` stay in memory; with a Parquet path every scored chunk is also
streamed to disk. Memory is bounded by the chunk size and ``keep``, not by the number of candidates. Candidates
over a cost or density ceiling of the constraints are dropped from each chunk before it is scored.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae_design.design.constraints import AlloyConstraints
from vae_design.design.settings import ScreenSettings
from vae_design.errors import InputError
from vae_design.features.descriptors import DESCRIPTOR_NAMES


@dataclass(frozen=True)
class ScreenPlan:
    """What a screen enumerates: palette columns, per-size fraction patterns (grid steps) and the total count."""

    columns: tuple[int, ...]  # vocabulary columns of the palette
    patterns: dict[int, np.ndarray]  # size k -> (P_k, k) grid steps, each row summing to constraints.steps
    total: int


def _patterns(k: int, steps: int, low: int, high: int) -> np.ndarray:
    """All (P, k) integer vectors within [low, high] summing to ``steps`` (nondecreasing enumeration, vectorised)."""
    if k * low > steps or k * high < steps:
        return np.zeros((0, k), dtype=np.int64)
    values = np.arange(low, high + 1)
    if k == 1:
        return values[values == steps][:, None]
    grids = np.stack(np.meshgrid(*([values] * (k - 1)), indexing="ij"), -1).reshape(-1, k - 1)
    last = steps - grids.sum(1)
    keep = (last >= low) & (last <= high)
    return np.column_stack([grids[keep], last[keep]]).astype(np.int64)


def plan_screen(constraints: AlloyConstraints, palette: tuple[str, ...], spread: float, limit: int) -> ScreenPlan:
    """The enumeration a screen would run; an empty or over-``limit`` one is a one-line error (never a hang)."""
    usable = set(constraints.usable)
    missing = [e for e in palette if e not in constraints.elements]
    if missing:
        raise InputError(f"screen.palette: element {missing[0]} is not in the model's vocabulary")
    columns = tuple(constraints.elements.index(e) for e in dict.fromkeys(palette) if e in usable)
    if not columns:
        raise InputError("screen.palette has no element the constraints allow")
    if spread < 0:
        raise InputError(f"screen.spread must be at least 0 at.%, got {spread:g}")
    low, high = constraints.step_bounds
    patterns, total = {}, 0
    for k in constraints.feasible_sizes():
        if k > len(columns):
            continue
        equal = constraints.steps / k
        width = spread / constraints.grid
        k_low = max(low, math.floor(equal - width + 1e-9))
        k_high = min(high, math.ceil(equal + width - 1e-9))
        if (k_high - k_low + 1) ** (k - 1) > 5 * limit:
            raise InputError(
                f"screen of {k}-element alloys with spread {spread:g} at.% would enumerate more than screen.limit="
                f"{limit} candidates; lower screen.spread or constraints.max_elements"
            )
        table = _patterns(k, constraints.steps, k_low, k_high)
        if len(table):
            patterns[k] = table
            total += len(table) * math.comb(len(columns), k)
    if len(columns) > 62:
        raise InputError(f"screen.palette has {len(columns)} elements; at most 62 can be screened at once")
    if total == 0:
        raise InputError("the screen enumerates no candidate: the palette, spread and constraints leave nothing")
    if total > limit:
        raise InputError(f"the screen would enumerate {total:,} candidates, more than screen.limit={limit:,}")
    return ScreenPlan(columns, patterns, total)


def enumerate_chunks(plan: ScreenPlan, chunk: int = ScreenSettings.chunk) -> Iterator[torch.Tensor]:
    """Grid steps over the palette columns (rows, P) int16, about ``chunk`` rows at a time, in a fixed order."""
    columns = np.arange(len(plan.columns))
    for k, table in plan.patterns.items():
        per_subset = len(table)
        subsets_per_chunk = max(1, chunk // per_subset)
        combos = itertools.combinations(range(len(columns)), k)
        while True:
            block = np.asarray(list(itertools.islice(combos, subsets_per_chunk)), dtype=np.int64).reshape(-1, k)
            if len(block) == 0:
                break
            out = np.zeros((len(block) * per_subset, len(columns)), dtype=np.int16)
            rows = np.arange(len(out))[:, None]
            targets = np.repeat(columns[block], per_subset, axis=0)  # (rows, k)
            out[rows, targets] = np.tile(table, (len(block), 1))
            yield torch.from_numpy(out)


def expand(plan: ScreenPlan, counts: torch.Tensor, n_elements: int) -> torch.Tensor:
    """Palette-column grid steps (N, P) -> vocabulary columns (N, E)."""
    full = torch.zeros((len(counts), n_elements), dtype=counts.dtype)
    full[:, list(plan.columns)] = counts
    return full


class _PaletteHead:
    """The head's scores for palette alloys: descriptors over the palette's elements only (the same values as over
    the whole vocabulary, since the other fractions are 0, at a fraction of the cost), the composition network on
    the full vocabulary columns, and ``samples`` draws of the head's posterior."""

    def __init__(self, model, plan: ScreenPlan, samples: int) -> None:
        from vae_design.features.descriptors import Descriptors

        self.head, self.columns = model.vae.head, list(plan.columns)
        self.embedding = self.head.embedding
        self.n_elements = len(model.vocabulary)
        self.descriptors = Descriptors([model.vocabulary.elements[j] for j in plan.columns]).to(
            self.head.descriptors.weights.device
        )
        w_loc, w_scale = model.vae.coefficient_posterior()
        b_loc, b_scale = model.vae.intercept_posterior()
        generator = torch.Generator().manual_seed(0)
        self.w = w_loc + w_scale * torch.randn((samples, *w_loc.shape), generator=generator)
        self.b = b_loc + b_scale * torch.randn((samples, *b_loc.shape), generator=generator)
        # g's posterior draws (models/gp.py), fixed for the whole screen like w and b: every chunk, and a resumed run,
        # scores an alloy with the same draws
        self.process_draws = self.head.posterior_draws(samples, generator)
        if self.embedding is not None:
            self.layers = self._layers(self.embedding)

    def _layers(self, embedding) -> list:
        """The composition network as (weight.T, bias) pairs (None for an activation), its first layer's weight cut
        to [palette columns; descriptor columns]: the other fractions are 0, so x @ W[:, :E].T = palette @
        W[:, palette columns].T, 6x fewer multiplications. Dropout is the identity in evaluation."""
        layers = []
        for index, layer in enumerate(embedding.net):
            if isinstance(layer, torch.nn.Linear):
                weight = layer.weight.detach()
                if index == 0 and embedding.sees_composition:
                    weight = torch.cat([weight[:, self.columns], weight[:, self.n_elements :]], dim=1)
                layers.append((weight.T.contiguous(), layer.bias.detach()))
            elif isinstance(layer, torch.nn.SiLU):
                layers.append(None)
            else:
                assert isinstance(layer, torch.nn.Dropout), f"unexpected layer {layer}"
        return layers

    def _embedding(self, palette: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """CompositionEmbedding.forward in evaluation mode (tests/design check it)."""
        embedding = self.embedding
        h = torch.cat([palette, features], dim=1) if embedding.sees_composition else features
        for layer in self.layers:
            h = torch.nn.functional.silu(h, inplace=True) if layer is None else torch.addmm(layer[1], h, layer[0])
        return h - torch.addmm(embedding.projection[0], features, embedding.projection[1:])

    @torch.no_grad()
    def __call__(self, counts: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Class probabilities (N, K) (posterior mean, no neighbour update), their std, and the raw descriptors."""
        palette = counts.float() / steps
        raw = self.descriptors(palette)
        features = self.head.scaler(raw)
        if self.head.n_classes != 2:
            x = palette.new_zeros((len(palette), self.n_elements))
            x[:, self.columns] = palette
            probabilities = self.head.logits(x, features, self.w, self.b, *self.process_draws).softmax(-1)
            return probabilities.mean(0), probabilities.std(0), raw
        # Two classes: the other class's log-odds against the reference, b + w f + h(x), for all posterior draws in
        # one matmul (N, S); the same sum as PhaseHead.logits (tests/design check it), without the (S, N, 2) softmax.
        log_odds = torch.addmm(self.b[:, 0], features, self.w[:, 0, :].T)
        if self.head.embedding is not None:
            log_odds += self._embedding(palette, features)
        if self.head.process is not None:  # g at the screen's fixed posterior draws, one per column (models/gp.py)
            inputs = self.head.process_inputs(palette, features)  # the palette's fractions (columns below)
            log_odds += self.head.process.at(inputs, *self.process_draws, columns=self.columns)[..., 0].T
        other = torch.sigmoid(log_odds)
        mean, std = other.mean(1), other.std(1)
        reference = self.head.reference_class
        columns = [1 - mean, mean] if reference == 0 else [mean, 1 - mean]
        return torch.stack(columns, 1), torch.stack([std, std], 1), raw


def run_screen(
    model,
    plan: ScreenPlan,
    target: int,
    keep: int,
    constraints: AlloyConstraints,
    parquet: Path | None = None,
    chunk: int = ScreenSettings.chunk,
    samples: int = ScreenSettings.posterior_samples,
    progress: Callable[[int, int], None] | None = None,
    per_element_set: bool = False,
    work: Path | None = None,
) -> tuple[torch.Tensor, int]:
    """Score every planned candidate; return the grid steps of the ``keep`` with the highest P(target) (best first;
    ``per_element_set``: only the best composition of each element set) and the number enumerated (those over a
    cost or density ceiling are counted but not scored). With ``parquet``, every scored candidate is written there
    (at.% per palette element, probability = P(single phase), uncertainty, target_probability, cost_usd_per_kg,
    density_g_cm3, descriptors).

    ``work``: a folder that makes the screen resumable. After every chunk the best-so-far and the number of chunks
    done are saved there (and the chunk's rows as a Parquet part); a screen interrupted at any point continues
    from the last saved chunk when run again with the same folder and settings, and ends with the same result.
    Without it the same happens in a temporary folder."""
    elements = constraints.elements
    multi = model.classes.index("multi-phase")
    head = _PaletteHead(model, plan, samples)
    palette = [elements[j] for j in plan.columns]
    ceilings = constraints.max_cost is not None or constraints.max_density is not None
    with contextlib.ExitStack() as cleanup:
        if work is None:  # not resumable: the same mechanism in a folder that goes away
            work = Path(cleanup.enter_context(tempfile.TemporaryDirectory(dir=parquet.parent if parquet else None)))
        state = _ScreenState(work, plan, target, keep, chunk, per_element_set)
        skip, done, best_counts, best_scores = state.load(len(plan.columns))
        for index, counts in enumerate(enumerate_chunks(plan, chunk)):
            if index < skip:  # scored before the interruption (the enumeration order is fixed)
                continue
            enumerated = len(counts)
            if ceilings:
                counts = counts[constraints.within_ceilings(counts, palette)]
            if len(counts):
                mean, std, raw = head(counts, constraints.steps)
            else:  # the whole chunk over a ceiling: nothing to score (torch warns on a std of no rows)
                mean = std = torch.zeros((0, len(model.classes)))
                raw = torch.zeros((0, len(DESCRIPTOR_NAMES)))
            target_probability = mean[:, target]
            if parquet is not None:
                _write_chunk(
                    state.part(index), counts, mean[:, multi], std[:, multi], target_probability, raw, plan, constraints
                )
                state.commit_part(index)
            pool_scores = torch.cat([best_scores, target_probability])
            pool_counts = torch.cat([best_counts, counts])
            if per_element_set:
                pool_counts, pool_scores = _best_per_element_set(pool_counts, pool_scores)
            top = pool_scores.topk(min(keep, len(pool_scores))).indices
            best_counts = pool_counts[top]
            best_scores = pool_scores[top]
            done += enumerated
            state.save(index + 1, done, best_counts, best_scores)
            if progress:
                progress(done, plan.total)
        if parquet is not None:
            state.merge_parts(parquet)
    return expand(plan, best_counts, len(elements)).long(), done


class _ScreenState:
    """The resumable part of a screen in a work folder: ``state.pt`` (chunks done, best-so-far, and the settings
    it belongs to) and ``part-NNNNNN.parquet`` per scored chunk. Every file is written under a temporary name and
    renamed, so a kill leaves the previous state intact."""

    def __init__(self, folder: Path, plan: ScreenPlan, target: int, keep: int, chunk: int, per_set: bool) -> None:
        self.folder = Path(folder)
        self.settings = {
            "columns": list(plan.columns),
            "total": plan.total,
            "target": target,
            "keep": keep,
            "chunk": chunk,
            "per_element_set": per_set,
        }

    def load(self, n_columns: int) -> tuple[int, int, torch.Tensor, torch.Tensor]:
        """(chunks done, candidates done, best grid steps, their scores): saved ones, or a fresh start."""
        path = self.folder / "state.pt"
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            return 0, 0, torch.zeros((0, n_columns), dtype=torch.int16), torch.zeros(0)
        saved = torch.load(path, weights_only=True)
        if saved["settings"] != self.settings:
            raise InputError(
                f"{self.folder} holds an interrupted screen with other settings; use the same settings to resume, "
                "or another hydra.run.dir"
            )
        return saved["chunks"], saved["done"], saved["best_counts"], saved["best_scores"]

    def save(self, chunks: int, done: int, best_counts: torch.Tensor, best_scores: torch.Tensor) -> None:
        partial = self.folder / "state.pt.partial"
        state = {"settings": self.settings, "chunks": chunks, "done": done}
        torch.save(state | {"best_counts": best_counts, "best_scores": best_scores}, partial)
        partial.replace(self.folder / "state.pt")

    def part(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.parquet.partial"

    def commit_part(self, index: int) -> None:
        self.part(index).replace(self.folder / f"part-{index:06d}.parquet")

    def merge_parts(self, path: Path) -> None:
        """Concatenate the parts into one Parquet file, one part in memory at a time."""
        import pyarrow.parquet as pq

        writer = None
        try:
            for part in sorted(self.folder.glob("part-*.parquet")):
                table = pq.read_table(part)
                writer = writer or pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()


def _best_per_element_set(counts: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The highest-scoring row of each element set (rows (N, P) of palette grid steps, P <= 62)."""
    keys = ((counts > 0).long() * (2 ** torch.arange(counts.shape[1]))).sum(1)
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[torch.argsort(keys[order], stable=True)]  # grouped by set, best first within each
    sorted_keys = keys[order]
    first = torch.ones_like(sorted_keys, dtype=torch.bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    chosen = order[first]
    return counts[chosen], scores[chosen]


def _write_chunk(path, counts, multi, spread, target_probability, raw, plan, constraints):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vae_design.design.properties import alloy_cost, alloy_density
    from vae_design.design.scoring import formulas

    palette = [constraints.elements[j] for j in plan.columns]
    # typed: a chunk with no row (all over a ceiling) must have the same schema as the others
    columns = {"formula": pa.array(formulas(counts.numpy(), palette, constraints.grid), type=pa.string())}
    columns["probability"] = pa.array((1 - multi).numpy())
    columns["uncertainty"] = pa.array(spread.numpy())
    columns["target_probability"] = pa.array(target_probability.numpy())
    columns["cost_usd_per_kg"] = pa.array(alloy_cost(counts, palette).float().numpy())
    columns["density_g_cm3"] = pa.array(alloy_density(counts, palette).float().numpy())
    for j in sorted(range(len(palette)), key=lambda j: palette[j]):
        columns[palette[j]] = pa.array((counts[:, j].float() * constraints.grid).numpy())
    for d, name in enumerate(DESCRIPTOR_NAMES):
        columns[name] = pa.array(raw[:, d].numpy())
    pq.write_table(pa.table(columns), str(path))

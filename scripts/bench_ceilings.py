"""What the oracle allows: ceilings of the design and intervention figures, whatever the generator.

The design benchmarks (``bench_disentanglement.py``, ``bench_design.py``, ``choose_generation_defaults.py``) judge
designs by an oracle, a random forest fitted on every labelled default alloy. Before reading their targets as a
model's shortfall, this script measures what any generator could reach under the default constraints:

* ``sources``: the alloys the class density (``latent.nuisance=class``) is fitted on, per element count: labelled
  alloys by their label, pool alloys by the head's verdict; the oracle's single-phase share of each group bounds
  what draws near them can reach (a design that reproduced its source alloy exactly would score that share);
* ``lattice``: a seeded random share of the default screen's lattice (the 12-element palette, every alloy of 4-6
  elements within ``screen.spread``): the oracle's single-phase share, and how many alloys >= 10 at.% from every
  known alloy it calls single phase (a *hit*, as in ``bench_design.py``), in how many element sets of the sample;
* ``census``: the equiatomic alloy of every element set of 4-6 usable elements (31 elements under the default
  constraints: about 940,000 sets): how many are hits;
* ``neighbourhood``: for each held-out multi-phase alloy inside the default constraints (the intervention's seeds),
  ``--per-seed`` random draws on its own element set inside the default at.% range per element: the share of seeds
  with at least one the oracle calls single phase within 15 at.% of the seed (the bound of "single phase, on its
  own element set, within 15 at.%" for any intervention; off the grid, so a little looser than a decoder's on-grid
  alloys) and anywhere on the set (``own_set_*``); ``--invert`` adds what the invert workflow's walk
  (``invert.keep_elements``) reaches, its last alloy judged (a walk that decoded nothing valid counts as not
  single phase).

    python scripts/bench_ceilings.py --model runs/default/model --lattice-share 0.1 --out outputs/ceilings
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch

from vae_design.api import AlloyVAE
from vae_design.benchmarks.designs import intervention_seeds, oracle_fit
from vae_design.benchmarks.workflows import HIT_DISTANCE
from vae_design.data import parse_formula
from vae_design.design import AlloyConstraints, KnownAlloys
from vae_design.design.generate import palette
from vae_design.design.screen import enumerate_chunks, expand, plan_screen
from vae_design.design.settings import ScreenSettings
from vae_design.models.networks import element_count


def sources(model, oracle) -> dict[str, float]:
    """The oracle's single-phase share of the class density's source alloys, per element count (4-6) and class."""
    known = model.known_alloys
    compositions = [parse_formula(f) for f in known["formula"]]
    x = model.vocabulary.to_tensor(compositions)
    counts = element_count(x).numpy()
    head = model.vae.class_probabilities(x)[0][:, 1].numpy() >= 0.5
    single = oracle.predict_proba(compositions) >= 0.5
    train, pool = (known["part"] == "train").to_numpy(), (known["part"] == "unlabelled").to_numpy()
    label = known["label"].to_numpy()
    figures = {}
    for k in (4, 5, 6):
        for y in (1, 0):
            members = (counts == k) & ((train & (label == y)) | (pool & (head == bool(y))))
            figures[f"sources_k{k}_y{y}_n"] = float(members.sum())
            figures[f"sources_k{k}_y{y}_oracle_single_phase"] = float(single[members].mean())
            figures[f"sources_k{k}_y{y}_pool_share"] = float((members & pool).sum() / max(members.sum(), 1))
    return figures


def lattice(model, oracle, known, share: float, seed: int) -> dict[str, float]:
    """Hits on a random ``share`` of the default screen's lattice."""
    constraints = AlloyConstraints.from_settings(model.vocabulary)
    plan = plan_screen(constraints, palette(model, constraints, None), ScreenSettings().spread, 10**12)
    rng = np.random.default_rng(seed)
    sampled = single_total = hits = 0
    hit_sets: set[str] = set()
    for chunk in enumerate_chunks(plan):
        keep = torch.as_tensor(rng.random(len(chunk)) < share)
        grid = expand(plan, chunk[keep], len(model.vocabulary.elements)).long()
        if not len(grid):
            continue
        fractions = constraints.to_fractions(grid)
        compositions = model.vocabulary.to_compositions(fractions)
        single = oracle.predict_proba(compositions) >= 0.5
        hit = single & (known.nearest(fractions.float())[1] >= HIT_DISTANCE)
        sampled, single_total, hits = sampled + len(grid), single_total + single.sum(), hits + hit.sum()
        hit_sets |= {"-".join(sorted(c)) for c, h in zip(compositions, hit, strict=True) if h}
    return {
        "lattice_sampled": float(sampled),
        "lattice_share": share,
        "lattice_oracle_single_phase": float(single_total / max(sampled, 1)),
        "lattice_hits": float(hits),
        "lattice_hits_estimated_whole": float(hits / share),
        "lattice_hit_sets_in_sample": float(len(hit_sets)),
    }


def census(model, oracle, known, block: int = 20000) -> dict[str, float]:
    """Hits among the equiatomic alloys of every 4-6-element set of usable elements."""
    constraints = AlloyConstraints.from_settings(model.vocabulary)
    figures = {}
    for k in constraints.feasible_sizes():
        sets = itertools.combinations(constraints.usable, k)
        total = single_total = hits = 0
        while chunk := list(itertools.islice(sets, block)):
            compositions = [{e: 1.0 / k for e in s} for s in chunk]
            single = oracle.predict_proba(compositions) >= 0.5
            distance = known.nearest(model.vocabulary.to_tensor(compositions).float())[1]
            total, single_total = total + len(chunk), single_total + single.sum()
            hits += (single & (distance >= HIT_DISTANCE)).sum()
        figures |= {f"census_k{k}_sets": float(total), f"census_k{k}_single_phase": float(single_total)}
        figures[f"census_k{k}_hits"] = float(hits)
    return figures


def neighbourhood(model, oracle, per_seed: int, seed: int, within: float = 15.0) -> dict[str, float]:
    """Seeds of the intervention with an oracle-single-phase alloy on their own set inside the default at.% range:
    within ``within`` at.% of the seed (``neighbourhood_*``) and anywhere on the set (``own_set_*``)."""
    constraints = AlloyConstraints.from_settings(model.vocabulary)
    seeds = intervention_seeds(model, model.known_alloys)[1]
    rng = np.random.default_rng(seed)
    elements = model.vocabulary.elements
    found, shares, judged, anywhere = [], [], [], []
    for row in seeds.double().numpy():
        columns = np.flatnonzero(row > 1e-6)
        step = rng.uniform(0, 1, (per_seed, 1))
        moved = (1 - step) * row[columns] + step * rng.dirichlet(np.ones(len(columns)), per_seed)
        allowed = (moved.min(1) >= constraints.min_fraction / 100) & (moved.max(1) <= constraints.max_fraction / 100)
        near = allowed & (50 * np.abs(moved - row[columns]).sum(1) <= within)
        compositions = [{elements[j]: float(v) for j, v in zip(columns, c, strict=True)} for c in moved[allowed]]
        single = oracle.predict_proba(compositions) >= 0.5 if compositions else np.zeros(0, dtype=bool)
        single_near = single[near[allowed]]
        anywhere.append(bool(single.any()))
        found.append(bool(single_near.any()))
        shares.append(float(single_near.mean()) if len(single_near) else 0.0)
        judged.append(int(near.sum()))
    return {
        "neighbourhood_seeds": float(len(found)),
        "neighbourhood_any_single_phase": float(np.mean(found)),
        "neighbourhood_single_phase_share": float(np.mean(shares)),
        "neighbourhood_judged_per_seed": float(np.mean(judged)),
        "own_set_any_single_phase": float(np.mean(anywhere)),
    }


def invert_walk(model, oracle) -> dict[str, float]:
    """The search the tool has, against the neighbourhood ceiling: ``generate workflow=invert`` from each seed
    with ``invert.keep_elements=true`` (the head's gradient, fractions only), its last alloy judged by the oracle."""
    single, change = [], []
    for formula, seed in zip(*intervention_seeds(model, model.known_alloys), strict=True):
        seed = seed.double()
        walk = model.generate("invert", target=1, seed_alloy=formula, invert={"keep_elements": True}).table
        walked = walk[walk["stage"] != "seed"]
        if walked.empty:  # nothing valid decoded: the seed is not a result of the walk
            single.append(False)
            change.append(float("nan"))
            continue
        last = model.vocabulary.to_tensor([parse_formula(walked["formula"].iloc[-1])]).double()[0]
        single.append(oracle.predict_proba(model.vocabulary.to_compositions(last[None]))[0] >= 0.5)
        change.append(float(50 * (last - seed).abs().sum()))
    single, change = np.array(single), np.array(change)
    return {
        "invert_keep_single_phase": float(single.mean()),
        "invert_keep_change_median": float(np.nanmedian(change)),
        "invert_keep_nothing_decoded": float(np.isnan(change).mean()),
        "invert_keep_single_phase_within_15": float((single & (np.nan_to_num(change, nan=100.0) <= 15)).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained bundle (RUN/model)")
    parser.add_argument("--seed", type=int, default=0, help="the oracle's seed and the samples'")
    parser.add_argument("--lattice-share", type=float, default=0.1)
    parser.add_argument("--per-seed", type=int, default=3000)
    parser.add_argument("--skip-census", action="store_true", help="leave out the census (about 6 min on 1 core)")
    parser.add_argument("--invert", action="store_true", help="also the invert walk from each seed (about 5 min)")
    parser.add_argument("--out", type=Path, default=Path("outputs/ceilings"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = AlloyVAE.load(args.model)
    oracle, figures = oracle_fit(args.seed)
    known = KnownAlloys.build(model, shipped=True)
    parts = [("sources", lambda: sources(model, oracle))]
    parts.append(("neighbourhood", lambda: neighbourhood(model, oracle, args.per_seed, args.seed)))
    parts.append(("lattice", lambda: lattice(model, oracle, known, args.lattice_share, args.seed)))
    if args.invert:
        parts.append(("invert", lambda: invert_walk(model, oracle)))
    if not args.skip_census:
        parts.append(("census", lambda: census(model, oracle, known)))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, measure in parts:
        start = time.perf_counter()
        part = measure()
        figures |= part
        print(f"{name} ({time.perf_counter() - start:.0f} s):")
        for key, value in part.items():
            print(f"  {key:45s} {value:.4g}")
        (args.out / "ceilings.json").write_text(json.dumps(figures, indent=1))
    print(f"wrote {args.out / 'ceilings.json'}")


if __name__ == "__main__":
    main()

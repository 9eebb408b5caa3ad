"""How good are the designed alloys, judged by an independent oracle, and how fast is screening?

1. A default model: ``--model DIR`` (a bundle), else ``vae-design train`` on the default data with
   ``trainer.max_epochs=--epochs`` (30 by default, to save time; early stopping may end it sooner).
2. The oracle (:class:`vae_design.benchmarks.oracle.PhaseOracle`): a random forest on every labelled default alloy
   with its own features, never used by the generator; its 5-fold cross-validated accuracy and AUC are printed.
3. ``--n`` latents per class (z_y ~ p(z_y | y) for y = 1 and y = 0, the same z_n draws and element counts),
   decoded under the default constraints
   (vae_design/design/settings.py), in two modes. ``raw``: the decoder alone (temperature 1, no guidance, no filter).
   ``design``: z_n's spread times T (``--temperature``), ``--guide-steps`` of head guidance, and only designs with
   P(target) >= ``--min-probability`` kept (latent.temperature / guide_steps / min_probability). Per target: validity
   (valid alloys / n), accepted (kept / n), uniqueness (distinct / kept), novelty (distinct alloys more than 2 at.%
   from every known alloy, the shipped datasets included), the oracle's single-phase share of the kept designs and
   of the novel kept designs (latent.novel_only), and the share of latents whose alloy changes with the class.
4. Screening throughput: every near-equiatomic (spread 2 at.%) 4-6 element alloy of a 12-element palette, scored
   with the head in chunks of 65,536 (descriptors + head posterior, top-n kept), candidates per second; best of
   ``--repeats``. The CPU may be shared with other jobs: then the rate is pessimistic.

    python scripts/bench_design.py                       # trains (about 2-10 min on a shared 2-core CPU)
    python scripts/bench_design.py --model runs/default/model
    python scripts/bench_design.py --model runs/default/model --compare   # 5. only

5. ``--compare``: the latent workflow against what a user would do instead, on the same constraints and judged by
   the same oracle (vae_design/benchmarks/workflows.py): this model's ``workflow=screen``, a random forest on the
   same training labels screening the same lattice at equal wall time (and with 120 s), and hea-bench's Pareto
   screen. Per
   workflow: candidates, wall time, hits (distinct, oracle single phase, >= 10 at.% from every known alloy), their
   element sets, hits per 1,000 candidates and per minute, and the latent workflow's ratio to each; written to
   ``OUT/compare.csv``.

The last line is ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from vae_design.api import AlloyVAE
from vae_design.benchmarks.designs import LATENT, design_quality, oracle_fit
from vae_design.cli.main import main as cli
from vae_design.design import AlloyConstraints, KnownAlloys, plan_screen, run_screen

PALETTE = ("Al", "Co", "Cr", "Cu", "Fe", "Mn", "Mo", "Nb", "Ni", "Ti", "V", "Zr")


def screen_rate(model, repeats: int) -> dict[str, float]:
    constraints = AlloyConstraints.from_settings(model.vocabulary)
    palette = tuple(e for e in PALETTE if e in model.vocabulary.elements)
    plan = plan_screen(constraints, palette, spread=2.0, limit=50_000_000)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _, scored = run_screen(model, plan, 1, 1000, constraints)
        best = min(best, time.perf_counter() - start)
    return {"screen_candidates": float(plan.total), "screen_seconds": best, "screen_per_s": plan.total / best}


def compare(model, args) -> None:
    """The latent workflow against the screen, a forest screen and hea-bench's Pareto screen (docstring, 5.)."""
    from vae_design.benchmarks import workflows

    oracle, _ = oracle_fit(args.seed)
    known = KnownAlloys.build(model, shipped=True)
    workflows.model_workflow(model, "latent", 50, args.seed)  # untimed warm-up: every workflow is timed warm
    runs = {"latent": workflows.model_workflow(model, "latent", args.n, args.seed)}
    runs["screen"] = workflows.model_workflow(model, "screen", args.n, args.seed)
    runs["forest-screen"] = workflows.forest_screen(model, args.n, args.seed, budget=runs["latent"][1])
    # what the forest finds with more time than the latent workflow took (its fit alone takes seconds)
    runs["forest-screen-120s"] = workflows.forest_screen(model, args.n, args.seed, budget=120.0)
    runs["pareto"] = workflows.pareto_screen(model, args.n)
    rows = {
        name: workflows.judge(formulas, seconds, oracle, known, model.vocabulary, args.n)
        for name, (formulas, seconds) in runs.items()
    }
    table = pd.DataFrame(rows).T
    for key in ("hits", "hit_sets", "hits_per_1000", "hits_per_minute"):
        table[f"latent_ratio_{key}"] = table.loc["latent", key] / table[key].where(table[key] > 0)
    table.to_csv(args.out / "compare.csv", index_label="workflow")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string())
    for name, (formulas, _) in runs.items():
        print(f"{name}: first candidates {', '.join(formulas[:5])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a model bundle (RUN_DIR/model); default: train one")
    parser.add_argument("--epochs", type=int, default=30, help="trainer.max_epochs of the training run")
    parser.add_argument("--n", type=int, default=1000, help="latents decoded per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="screen timings (the best is reported)")
    parser.add_argument("--temperature", type=float, default=1.0, help="design mode: latent.temperature")
    parser.add_argument("--guide-steps", type=int, default=LATENT.guide_steps, help="design mode: latent.guide_steps")
    parser.add_argument("--guide-pull", type=float, default=0.0, help="design mode: latent.guide_pull")
    parser.add_argument("--min-probability", type=float, default=0.5, help="design mode: latent.min_probability")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a shared 2-core CPU)")
    parser.add_argument("--screen-only", action="store_true", help="only the screening throughput (needs --model)")
    parser.add_argument("--compare", action="store_true", help="only the workflow comparison (5. above)")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_design"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.model is None:
        run = args.out / "model_run"
        code = cli(
            [
                "train",
                f"trainer.max_epochs={args.epochs}",
                "trainer.progress_bar=false",
                f"seed={args.seed}",
                f"hydra.run.dir={run}",
            ]
        )
        if code != 0:
            raise SystemExit(code)
        args.model = run / "model"
    if args.threads:
        torch.set_num_threads(args.threads)
    model = AlloyVAE.load(args.model)
    if args.screen_only:
        rate = screen_rate(model, args.repeats)
        print(
            " ".join(f"{key}={value:.4g}" for key, value in rate.items()) + f" torch_threads={torch.get_num_threads()}"
        )
        return
    if args.compare:
        compare(model, args)
        return
    oracle, figures = oracle_fit(args.seed)
    print(f"oracle: 5-fold accuracy {figures['oracle_cv_accuracy']:.3f}, AUC {figures['oracle_cv_auc']:.3f}")
    known = KnownAlloys.build(model, shipped=True)
    modes = {
        "raw": {"temperature": 1.0, "guide_steps": 0, "min_probability": 0.0},
        "design": {
            "temperature": args.temperature,
            "guide_steps": args.guide_steps,
            "guide_pull": args.guide_pull,
            "min_probability": args.min_probability,
        },
    }
    for name, mode in modes.items():
        print(f"{name}: {mode}")
        figures.update(
            {
                f"{name}_{key}": value
                for key, value in design_quality(model, oracle, known, args.n, args.seed, mode).items()
            }
        )
    figures.update(screen_rate(model, args.repeats))
    figures["torch_threads"] = float(torch.get_num_threads())
    (args.out / "results.json").write_text(json.dumps(figures, indent=2) + "\n")
    keys = [
        f"{mode}_{key}"
        for mode in modes
        for key in (
            "y1_validity",
            "y1_accepted",
            "y1_uniqueness",
            "y1_novelty",
            "y1_oracle_single_phase",
            "y1_novel_accepted",
            "y1_oracle_single_phase_novel",
            "y0_validity",
            "y0_accepted",
            "y0_uniqueness",
            "y0_novelty",
            "y0_oracle_single_phase",
            "y0_novel_accepted",
            "y0_oracle_single_phase_novel",
            "flip_changes_alloy",
        )
    ]
    keys += ["oracle_cv_accuracy", "screen_candidates", "screen_per_s"]
    print(" ".join(f"{key}={figures[key]:.4g}" for key in keys))


if __name__ == "__main__":
    main()

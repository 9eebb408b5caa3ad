"""Choose the latent workflow's defaults on the model's own figures, then judge the choice once with the oracle.

Issue 12, item 6: the earlier defaults (temperature 3, 50 guidance steps, P >= 0.8) were tuned by reading the
independent oracle's verdicts, so the oracle's figure for them was selected on its own judge. Here the oracle is
not consulted while choosing:

1. Models: ``--models DIR ...`` (bundles), else one default ``vae-design train seed=S`` per ``--seeds``.
2. Selection (model-side only). ``--n`` latents from a *selection* seed (1000 + S, never the reported one), every
   ``--temperatures`` x ``--guide-steps`` setting drawn for y = 1 (z_y ~ p(z_y | 1)) under the default constraints
   (guidance step size 0.1, pull 0.05), every ``--probabilities`` filter applied. Per setting: ``kept`` (distinct
   valid alloys with P(target) >= min_probability, as ``generate n=N`` keeps them), ``head_precision`` (their mean
   P(target): the share the head expects to be single phase; the head's validation calibration is what licenses
   reading it as a rate), ``in_domain`` (share inside the known alloys' domain, where the head is trusted).
3. The rule, fixed before any oracle call: among settings with ``kept >= --min-kept`` on every seed and mean
   ``in_domain >= --min-in-domain``, the largest mean ``head_precision``; ties go to fewer guidance steps, then a
   lower temperature, then a lower filter. ``--min-kept 500`` is the issue's floor (a user's requirement, not an
   oracle figure). If no setting meets both floors the in-domain floor is dropped (the run says so); if none keeps
   enough on every seed, the largest mean of kept x head_precision x novel (the head's own expected count of
   novel single-phase designs) wins, fewer guidance steps on ties. Since ``generate`` draws rounds of n latents
   until it has n candidates (``latent.rounds``, 20), the floor is read per round budget: ``--n 20000 --min-kept
   1000 --novel-only`` asks which settings give a default ``n=1000`` run its 1,000 novel candidates within its 20
   rounds; among them the rule above (largest head precision) decides.
4. Report: the chosen setting and the raw decoder (temperature 1, no guidance, no filter) on the reported latent
   seed S, judged by the oracle (a random forest on every labelled default alloy, never used by the generator).

    python scripts/choose_generation_defaults.py --seeds 0 1 2 --out outputs/choose_generation

Writes ``selection.csv`` (every setting, every seed), ``report.csv`` (oracle figures, chosen and raw, per seed)
and ``chosen.json``; the last line is ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import pandas as pd
import torch

from vae_design.api import AlloyVAE
from vae_design.benchmarks.designs import design_quality, oracle_fit
from vae_design.cli.main import main as cli
from vae_design.design import AlloyConstraints, KnownAlloys, ScoringSettings, latent_designs
from vae_design.design.workflows import ascend, latents

SETTINGS = ("temperature", "guide_step_size", "guide_pull", "guide_steps", "min_probability")
SELECTION_SEED = 1000  # selection latents use 1000 + seed; reported latents use the seed itself


def trained(seed: int, out: Path) -> Path:
    run = out / f"model_seed{seed}"
    if not (run / "model").exists():
        code = cli(["train", f"seed={seed}", "trainer.progress_bar=false", f"hydra.run.dir={run}"])
        if code != 0:
            raise SystemExit(code)
    return run / "model"


def selection_figures(model, known, n: int, seed: int, grid: dict, novel_only: bool = False) -> pd.DataFrame:
    """Model-side figures of every setting: one guidance path per (temperature, step size, pull), read off at each
    step count. ``novel_only``: only novel alloys count as kept (``latent.novel_only``)."""
    constraints = AlloyConstraints.from_settings(model.vocabulary)
    rows = []
    steps, probabilities = grid["guide_steps"], grid["min_probability"]
    paths = itertools.product(grid["temperature"], grid["guide_step_size"], grid["guide_pull"])
    for temperature, step_size, pull in paths:
        start, sizes = latents(model, n, constraints, 1, "prior", seed, temperature=temperature)
        path = ascend(model.vae, start, sizes, 1, constraints, step_size, pull)
        for step, z in zip(range(max(steps) + 1), path, strict=False):
            if step not in steps:
                continue
            table = latent_designs(model, z, sizes, 1, constraints, known, ScoringSettings()).table
            for probability in probabilities:
                kept = table[table["target_probability"] >= probability].drop_duplicates("formula")
                kept = kept[kept["novel"]] if novel_only else kept
                rows.append(
                    {
                        "temperature": temperature,
                        "guide_step_size": step_size,
                        "guide_pull": pull,
                        "guide_steps": step,
                        "min_probability": probability,
                        "valid": len(table) / n,
                        "kept": len(kept),
                        "head_precision": float(kept["target_probability"].mean()) if len(kept) else 0.0,
                        "in_domain": float(kept["in_domain"].mean()) if len(kept) else 0.0,
                        "novel": float(kept["novel"].mean()) if len(kept) else 0.0,
                    }
                )
        print(f"  T={temperature:g} step size {step_size:g} pull {pull:g}: {len(steps)} step counts", flush=True)
    return pd.DataFrame(rows)


def choose(selection: pd.DataFrame, min_kept: int, min_in_domain: float) -> pd.Series:
    setting = list(SETTINGS)
    summary = selection.groupby(setting).agg(
        kept_min=("kept", "min"),
        kept=("kept", "mean"),
        head_precision=("head_precision", "mean"),
        in_domain=("in_domain", "mean"),
    )
    eligible = summary[(summary["kept_min"] >= min_kept) & (summary["in_domain"] >= min_in_domain)]
    if eligible.empty:
        print(f"no setting keeps >= {min_kept} alloys with in-domain share >= {min_in_domain}: the kept floor alone")
        eligible = summary[summary["kept_min"] >= min_kept]
    if eligible.empty:
        # Written after the selection table of the class-density model showed every setting keeping 200-310 of
        # 1,000 (the oracle unseen): then the head's own expected count of novel single-phase designs decides.
        print(f"no setting keeps >= {min_kept} alloys on every seed: the most kept x head precision x novel")
        expected = selection["kept"] * selection["head_precision"] * selection["novel"]
        summary["expected_novel"] = expected.groupby([selection[key] for key in setting]).mean()
        ranked = summary.reset_index().sort_values(
            ["expected_novel", "guide_steps", "temperature", "min_probability"], ascending=[False, True, True, True]
        )
        return ranked.iloc[0]
    ranked = eligible.reset_index().sort_values(
        ["head_precision", "guide_steps", "temperature", "min_probability", "guide_step_size", "guide_pull"],
        ascending=[False, True, True, True, True, False],
    )
    return ranked.iloc[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", type=Path, nargs="*", help="bundles, one per seed (default: train them)")
    parser.add_argument("--n", type=int, default=1000, help="selection latents per seed")
    parser.add_argument("--report-n", type=int, default=1000, help="latents per class of the oracle report")
    parser.add_argument("--temperature", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0])
    parser.add_argument("--guide-step-size", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--guide-pull", type=float, nargs="+", default=[0.0, 0.05])
    parser.add_argument("--guide-steps", type=int, nargs="+", default=[0, 25, 50, 100, 200])
    parser.add_argument("--min-probability", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9])
    parser.add_argument("--min-kept", type=int, default=500)
    parser.add_argument("--min-in-domain", type=float, default=0.8)
    parser.add_argument(
        "--novel-only", action="store_true", help="count only novel alloys as kept (latent.novel_only, the default)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--selection", type=Path, help="a selection.csv of an earlier run (skips step 2)")
    parser.add_argument("--out", type=Path, default=Path("outputs/choose_generation"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    paths = args.models or [trained(seed, args.out) for seed in args.seeds]
    models = {seed: AlloyVAE.load(path) for seed, path in zip(args.seeds, paths, strict=True)}
    known = {seed: KnownAlloys.build(model, shipped=True) for seed, model in models.items()}

    if args.selection:
        selection = pd.read_csv(args.selection)
    else:
        frames = []
        for seed, model in models.items():
            print(f"selection, seed {seed} (latent seed {SELECTION_SEED + seed})")
            grid = {key: getattr(args, key) for key in SETTINGS}
            frame = selection_figures(model, known[seed], args.n, SELECTION_SEED + seed, grid, args.novel_only)
            frames.append(frame.assign(seed=seed))
        selection = pd.concat(frames, ignore_index=True)
    selection.to_csv(args.out / "selection.csv", index=False)
    chosen = choose(selection, args.min_kept, args.min_in_domain)
    mode = {key: float(chosen[key]) for key in SETTINGS} | {"guide_steps": int(chosen["guide_steps"])}
    print(
        f"chosen on model-side figures: {mode} (kept {chosen['kept']:.0f}, head precision "
        f"{chosen['head_precision']:.3f}, in domain {chosen['in_domain']:.3f})"
    )
    figures = {key: float(chosen[key]) for key in ("kept", "head_precision", "in_domain")}
    (args.out / "chosen.json").write_text(json.dumps(mode | figures, indent=2) + "\n")

    # The oracle, once, on the reported latent seeds
    rows = []
    raw = {"temperature": 1.0, "guide_steps": 0, "min_probability": 0.0, "guide_step_size": 0.1, "guide_pull": 0.0}
    for seed, model in models.items():
        oracle, _ = oracle_fit(seed)
        for name, setting in (("chosen", mode), ("raw", raw)):
            figures = design_quality(model, oracle, known[seed], args.report_n, seed, setting)
            rows.append({"seed": seed, "mode": name, **figures})
    report = pd.DataFrame(rows)
    report.to_csv(args.out / "report.csv", index=False)
    keys = ["y1_kept_distinct", "y1_accepted", "y1_oracle_single_phase", "y0_oracle_single_phase", "y1_novelty"]
    summary = report.groupby("mode")[keys].agg(["mean", "std"])
    print(summary.round(3).to_string())
    pairs = {f"{m}_{k}_{s}": summary.loc[m, (k, s)] for m in summary.index for k in keys for s in ("mean", "std")}
    print(" ".join(f"{key}={value:.4g}" for key, value in pairs.items()))


if __name__ == "__main__":
    main()

"""Is the latent split real? Probes, counterfactuals, reconstruction and the raw decoder judged by the oracle.

For each variant (a set of ``vae-design train`` overrides), split (random, grouped) and seed, one training run on
the default data, then:

* its ``metrics.json``: fresh probes of the label in each latent factor of held-out alloys
  (``latent/probe_auc_nuisance`` linear, ``..._nonlinear`` random forest, ``latent/mutual_information_nuisance`` a
  lower bound in nats; the same ``_target`` figures for z_y), the target factor's own classifier
  (``latent/target_classifier_auc``), counterfactual decodes (``counterfactual/*``), reconstruction of test alloys
  beside the equiatomic guess (``recon/*``) and the head's test AUC;
* the raw decoder: ``--n`` latents per class, z_y ~ p(z_y | y) and z_n from the fitted density (``raw_*``) or
  the prior N(0, I) (``rawprior_*``), each with an element count drawn evenly over the default constraints' sizes,
  decoded under the default constraints, no head guidance, no probability filter; the independent oracle
  (:class:`vae_design.benchmarks.oracle.PhaseOracle`, a random forest with its own features, fitted on every
  labelled default alloy) calls each design single phase or not (``raw_y1_oracle_single_phase``, ...);
* the intervention (``flip_*``, :func:`vae_design.benchmarks.designs.intervention_quality`): held-out multi-phase
  alloys with their target factor set to the single-phase class, decoded, judged by the oracle.

Variants: ``--variant NAME="override override ..."`` (repeatable); by default ``default`` (today's defaults) and
its ablations ``no-independence`` (the independence term off) and ``one-target-dim`` (a one-dimensional target
factor at full KL weight, CCVAE's choice for a binary label). The architecture before the target factor is measured
from a checkout of that commit (docs/benchmarks.md says which).
Results: ``OUT/runs.csv`` (one row per run) and ``OUT/summary.csv`` (mean and s.d. over seeds per variant and
split); the last lines print the main figures.

    python scripts/bench_disentanglement.py --seeds 0 1 2 --out outputs/bench_disentanglement
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import pandas as pd
import torch

from vae_design.api import AlloyVAE
from vae_design.benchmarks.designs import design_quality, intervention_quality, oracle_fit
from vae_design.cli.main import main as cli
from vae_design.design import KnownAlloys

RAW = {"temperature": 1.0, "guide_steps": 0, "min_probability": 0.0}
SHOWN = (
    "latent/probe_auc_nuisance",
    "latent/probe_auc_nuisance_nonlinear",
    "latent/mutual_information_nuisance",
    "latent/probe_auc_target",
    "latent/target_classifier_auc",
    "counterfactual/distance",
    "counterfactual/element_set_changed",
    "counterfactual/head_other",
    "recon/element_set_exact",
    "recon/mae_present",
    "recon/mae_present_equiatomic",
    "test/auc_head",
    "train/seconds",
    "raw_y1_oracle_single_phase",
    "raw_y0_oracle_single_phase",
    "raw_y1_validity",
    "raw_y1_five_or_more",
    "raw_y1_novelty",
    "raw_y1_head_single_phase",
    "raw_y0_head_single_phase",
    "raw_y1_kept_distinct",
    "raw_y1_novel_head_single_phase",
    "raw_y1_novel_oracle_single_phase_10",
    "raw_y1_novel_oracle_single_phase_10_sets",
    "rawfitted_y1_oracle_single_phase",
    "rawfitted_y0_oracle_single_phase",
    "rawfitted_y1_head_single_phase",
    "rawfitted_y1_novel_head_single_phase",
    "rawprior_y1_oracle_single_phase",
    "rawprior_y0_oracle_single_phase",
    "flip_single_phase",
    "flip_change",
    "flip_same_set_single_phase",
    "flip_seed_single_phase",
    "flip_keep_single_phase",
    "flip_keep_change",
)


def one_run(name: str, overrides: str, split: str, seed: int, args, oracle) -> dict:
    run = args.out / name / split / str(seed)
    metrics_path = run / "metrics.json"
    if not metrics_path.is_file():
        words = ["train", f"split={split}", f"seed={seed}", "trainer.progress_bar=false", f"hydra.run.dir={run}"]
        words.append(f"trainer.threads={args.threads}")
        code = cli([*words, *args.train.split(), *shlex.split(overrides)])
        if code != 0:
            raise SystemExit(f"{name} {split} seed {seed}: training failed ({code})")
    row = {"variant": name, "split": split, "seed": seed, **json.loads(metrics_path.read_text())}
    model = AlloyVAE.load(run / "model")
    row |= validation_figures(model, seed)
    known = KnownAlloys.build(model, shipped=True)
    raw = design_quality(model, oracle, known, args.n, seed, RAW)
    row |= {f"raw_{key}": value for key, value in raw.items()}
    # the ablations of the class's nuisance density: the density of every class (per element count), the prior
    for name in ("fitted", "prior"):
        ablation = design_quality(model, oracle, known, args.n, seed, RAW | {"nuisance": name})
        row |= {f"raw{name}_{key}": value for key, value in ablation.items()}
    return row | intervention_quality(model, oracle, model.known_alloys)


def validation_figures(model: AlloyVAE, seed: int) -> dict[str, float]:
    """The same figures on the validation alloys alone (``valsel:`` keys), what defaults are chosen on: recon,
    counterfactuals and probes of the val part (fewer alloys than val + test, so the probes read less)."""
    known = model.known_alloys
    val = known[known["part"] == "val"]
    figures = model.evaluate(val=(list(val["formula"]), val["label"].to_numpy(dtype=int)), seed=seed)
    return {f"valsel:{key}": value for key, value in figures.items() if not key.startswith("test/")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--splits", nargs="+", default=["random", "grouped"])
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help='NAME="overrides" (default: default, no-independence, one-target-dim)',
    )
    parser.add_argument("--train", default="", help="overrides for every run (e.g. trainer.max_epochs=40)")
    parser.add_argument("--n", type=int, default=1000, help="raw-decoder latents per class")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_disentanglement"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = dict(v.split("=", 1) for v in args.variant) or {
        "default": "",
        "no-independence": "model.independence_weight=0",
        "one-target-dim": "model.target_dim=1 model.target_weight=1",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        oracle, oracle_figures = oracle_fit(seed)
        print(f"oracle (seed {seed}): 5-fold accuracy {oracle_figures['oracle_cv_accuracy']:.3f}")
        for split in args.splits:
            for name, overrides in variants.items():
                rows.append(one_run(name, overrides, split, seed, args, oracle) | oracle_figures)
                pd.DataFrame(rows).to_csv(args.out / "runs.csv", index=False)
    runs = pd.DataFrame(rows)
    shown_keys = [k for k in SHOWN if k in runs.columns]  # older code writes fewer figures
    summary = runs.groupby(["variant", "split"], sort=False)[shown_keys].agg(["mean", "std"])
    summary.to_csv(args.out / "summary.csv")
    with pd.option_context("display.width", 250, "display.max_columns", 50):
        for split in args.splits:
            table = runs[runs["split"] == split].groupby("variant", sort=False)[shown_keys]
            shown = table.mean().round(3).astype(str) + " ± " + table.std().round(3).astype(str)
            print(f"\n{split} split, mean ± s.d. over seeds {args.seeds}:\n{shown.T.to_string()}")


if __name__ == "__main__":
    main()

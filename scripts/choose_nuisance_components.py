"""Choose the class density's mixture components per group (``NuisanceDensity.COMPONENTS``) on the model's own
figures, then print the oracle's verdict on the reported latents.

For each trained bundle (``--models``) and each ``--components`` value the density is refitted to the bundle's own
training and pool alloys as ``AlloyVAE.fit`` does, from the formulas the bundle stores (so the 10-component row is a
refit, not the bundle's own density: its figures differ from the bundle's by sampling noise), and 1,000 raw designs
per class are drawn (z_y ~ p(z_y | y), z_n from the class density, default constraints, no guidance, no filter).

The rule, written before the runs (the one that chose ``latent.nuisance=class``): the largest mean over models of
the distinct, novel raw y = 1 designs **the model's own head** calls single phase, on *selection* latents (seed 1000
+ S); fewer components on ties. At most ``NuisanceDensity.SLOTS`` (10). The oracle figures
(hits: single phase and >= 10 at.% from every known alloy) come from the reported latents (seed S) and are printed
beside, never read by the rule.

    python scripts/choose_nuisance_components.py --models runs/seed{0,1,2}/model --seeds 0 1 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from vae_design.api import AlloyVAE
from vae_design.benchmarks.designs import design_quality, oracle_fit
from vae_design.data import parse_formula
from vae_design.design import KnownAlloys

RAW = {"temperature": 1.0, "guide_steps": 0, "min_probability": 0.0}
SELECTION_SEED = 1000


def refit(model: AlloyVAE, components: int, seed: int) -> None:
    """The class density of ``model`` refitted with ``components`` per group, on its own training and pool alloys."""
    known = model.known_alloys
    train, pool = known[known["part"] == "train"], known[known["part"] == "unlabelled"]
    x_l = model.vocabulary.to_tensor([parse_formula(f) for f in train["formula"]])
    x_u = model.vocabulary.to_tensor([parse_formula(f) for f in pool["formula"]])
    y_l = torch.as_tensor(train["label"].to_numpy(dtype=int))
    model.vae.fit_nuisance_density(x_l, y_l, x_u, seed, components)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, nargs="+", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="one per model (its training seed)")
    parser.add_argument("--components", type=int, nargs="+", default=[3, 5, 10])
    parser.add_argument("--out", type=Path, default=Path("outputs/choose_nuisance_components"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for path, seed in zip(args.models, args.seeds, strict=True):
        model, (oracle, _) = AlloyVAE.load(path), oracle_fit(seed)
        known = KnownAlloys.build(model, shipped=True)
        for components in args.components:
            refit(model, components, seed)
            chosen_on = design_quality(model, oracle, known, 1000, SELECTION_SEED + seed, RAW)
            reported = design_quality(model, oracle, known, 1000, seed, RAW)
            rows.append(
                {
                    "seed": seed,
                    "components": components,
                    "selection_head_novel_single_phase": chosen_on["y1_novel_head_single_phase"],
                    **{f"oracle_{k}": v for k, v in reported.items() if k.startswith(("y1_", "y0_oracle"))},
                }
            )
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "components.csv", index=False)
    shown = [
        "selection_head_novel_single_phase",
        "oracle_y1_oracle_single_phase",
        "oracle_y0_oracle_single_phase",
        "oracle_y1_kept_distinct",
        "oracle_y1_novel_oracle_single_phase_10",
        "oracle_y1_novel_oracle_single_phase_10_sets",
    ]
    summary = table.groupby("components")[shown].agg(["mean", "std"]).round(3)
    print(summary.to_string())
    best = table.groupby("components")["selection_head_novel_single_phase"].mean()
    chosen = int(best[best == best.max()].index.min())
    print(f"chosen: components={chosen} (the rule: the model's own count, mean over models)")


if __name__ == "__main__":
    main()

"""Can a user trust the head? Fit the default model (all labels, a random or grouped split) with each head
(``HEADS``: the network h, the gp head, with its composition term, and that with 256 inducing inputs) and report,
for the head alone (no measured-neighbour update):

- test AUC, log-loss and ECE;
- P(single phase) of the Cantor alloy CoCrFeMnNi (a training alloy labelled single phase in the default data);
- ``uncertainty`` (the head's posterior standard deviation of P) on 200 random 4-6-element alloys at least 20 at.%
  from every known alloy, against its mean on the test alloys: it should be larger far from the data;
- predictions per second (``predict_proba``, 10,000 random alloys, warm).

    python -u scripts/bench_head_trust.py --seeds 0 1 2 --heads network gp --out /tmp/trust   # ~3 min a fit

Writes OUT/trust.csv (one row per head and seed) and prints mean +- s.d. per head; the last line is key=value.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

CANTOR = {"Co": 0.2, "Cr": 0.2, "Fe": 0.2, "Mn": 0.2, "Ni": 0.2}
# each head's model settings
HEADS = {
    "network": {"head_function": "network"},
    "gp": {"head_function": "gp"},
    "gp-composition": {"head_function": "gp", "gp_composition": True},
    "gp-composition-256": {"head_function": "gp", "gp_composition": True, "gp_inducing": 256},
}
FAR = 0.20  # at.% distance / 100 (half the L1 distance of mole-fraction vectors) from every known alloy


def far_alloys(known: list[dict], elements: list[str], n: int, seed: int) -> list[dict]:
    """``n`` random 4-6-element alloys (each element >= 5 at.%) over ``elements``, every one at least FAR from every
    known alloy."""
    rng = np.random.default_rng(seed)
    index = {e: j for j, e in enumerate(elements)}
    known_matrix = np.zeros((len(known), len(elements)))
    for i, alloy in enumerate(known):
        for element, fraction in alloy.items():
            if element in index:
                known_matrix[i, index[element]] = fraction
    alloys: list[dict] = []
    while len(alloys) < n:
        chosen = rng.choice(len(elements), size=rng.integers(4, 7), replace=False)
        fractions = 0.05 + (1 - 0.05 * len(chosen)) * rng.dirichlet(np.ones(len(chosen)))
        row = np.zeros(len(elements))
        row[chosen] = fractions
        if not len(known) or 0.5 * np.abs(known_matrix - row).sum(1).min() >= FAR:
            alloys.append({elements[j]: float(f) for j, f in zip(chosen, fractions, strict=True)})
    return alloys


def measure(head: str, scheme: str, seed: int, max_epochs: int) -> dict[str, float]:

    from vae_design.benchmarks.evaluation import fit_vae, split_parts
    from vae_design.training.fit import TrainingSettings
    from vae_design.training.metrics import classification_metrics

    parts = split_parts(scheme, seed)
    training = TrainingSettings(max_epochs=max_epochs, progress_bar=False, loggers=())
    started = time.perf_counter()
    model, _ = fit_vae(parts, seed, training, **HEADS[head])
    seconds = time.perf_counter() - started
    single = model.classes.index("single phase")
    p_test, sd_test = model.predict_proba(parts.test, return_std=True, neighbours=False)
    scores = classification_metrics(parts.y_test, p_test, "test")
    known = [*parts.train, *parts.val, *parts.test, *parts.pool]
    counts = pd.Series([e for alloy in parts.train for e in alloy]).value_counts()
    common = [e for e in counts.index[counts >= 20] if e in model.vocabulary.elements]
    far = far_alloys(known, common, 200, seed)
    _, sd_far = model.predict_proba(far, return_std=True, neighbours=False)
    cantor = model.predict_proba([CANTOR], neighbours=False)[0, single]
    batch = far_alloys([], common, 10_000, seed + 1)
    model.predict_proba(batch[:100])  # warm
    tick = time.perf_counter()
    model.predict_proba(batch)
    rate = len(batch) / (time.perf_counter() - tick)
    return {
        "head": head,
        "scheme": scheme,
        "seed": seed,
        "auc": scores["test/auc"],
        "log_loss": scores["test/log_loss"],
        "ece": scores["test/ece"],
        "cantor": float(cantor),
        "sd_test": float(sd_test[:, single].mean()),
        "sd_far": float(sd_far[:, single].mean()),
        "far_over_test": float(sd_far[:, single].mean() / sd_test[:, single].mean()),
        "alloys_per_s": rate,
        "train_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--heads", nargs="+", default=["network", "gp"], choices=list(HEADS))
    parser.add_argument("--schemes", nargs="+", default=["random"], choices=["random", "grouped"])
    parser.add_argument("--max-epochs", type=int, default=80, help="the training default")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_head_trust"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for scheme in args.schemes:
        for seed in args.seeds:
            for head in args.heads:  # one fit at a time: two trainings at once on a few cores spin against each other
                rows.append(measure(head, scheme, seed, args.max_epochs))
                print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rows[-1].items()))
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "trust.csv", index=False)
    summary = table.drop(columns="seed").groupby(["scheme", "head"]).agg(["mean", "std"])
    print(summary.round(3).to_string())
    flat = {f"{s}_{h}_{k}": summary.loc[(s, h), (k, "mean")] for s, h in summary.index for k in ("auc", "cantor")}
    print(" ".join(f"{k}={v:.4f}" for k, v in flat.items()))


if __name__ == "__main__":
    main()

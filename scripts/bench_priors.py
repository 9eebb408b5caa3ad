"""What the head's expert priors buy with few labels, and whether enough labels override a wrong one.

Low labels: ``make_split(..., label_budget=50)`` on the default data (50 labelled training alloys; the other
training alloys join the unlabelled pool without their labels; val and test are the same as at full labels), and
AlloyVAE with ``prior=literature`` / ``flat`` / ``wrong_sign`` (configs/prior/*.yaml), five seeds; a random forest
on the same 50 alloys for scale. Full labels: ``literature`` vs ``wrong_sign``, and the head posterior of
delta / omega / dH_mix under ``wrong_sign`` beside its prior (has the data flipped the sign back?). With
``--linear-head`` the full-label fits are repeated with ``embedding_hidden=0`` (the expert-prior linear model
alone), which shows whether the composition network h, rather than the coefficients, absorbed the evidence.

Every fit early-stops on the split's validation part (the full ~160 labelled val alloys, also at budget 50, so
model selection here is better informed than a 50-label user's would be). Test alloys are scored once.

    python scripts/bench_priors.py --linear-head       # 5 seeds, random split; add --schemes random grouped

The last line is ``key=value`` pairs: test AUC means per prior at the budget and at full labels, and the
wrong-sign posterior means at full labels.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from vae_design.benchmarks import benchmark_settings
from vae_design.benchmarks.evaluation import fit_peer, fit_vae, mean_sd, probability_metrics, split_parts

PRIORS = ("literature", "flat", "wrong_sign")
FULL = ("literature", "wrong_sign")
LINEAR = ("literature/linear", "wrong_sign/linear")
WATCHED = ("delta", "omega", "dH_mix")  # the descriptors the literature prior has an opinion on
SHORT = {"literature": "lit", "flat": "flat", "wrong_sign": "wrong", "random-forest": "rf"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds at the label budget")
    parser.add_argument("--full-seeds", type=int, default=3, help="seeds at full labels (literature vs wrong_sign)")
    parser.add_argument("--budget", type=int, default=50, help="labelled training alloys")
    parser.add_argument("--schemes", nargs="+", default=["random"], choices=["random", "grouped"])
    parser.add_argument("--max-epochs", type=int, default=30, help="see HeaBenchClassifier: under a minute a fit")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a shared 2-core CPU)")
    parser.add_argument(
        "--linear-head",
        action="store_true",
        help="at full labels also fit a linear head (embedding_hidden=0): does the data then flip a wrong prior?",
    )
    parser.add_argument("--quick", action="store_true", help="1 seed each, 2 epochs: a smoke test of the script")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_priors"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds, args.full_seeds, args.max_epochs = 1, 1, 2
    training = benchmark_settings(args.max_epochs)
    args.out.mkdir(parents=True, exist_ok=True)

    rows, posteriors = [], []
    runs = [(scheme, args.budget, seed, PRIORS) for scheme in args.schemes for seed in range(args.seeds)]
    runs += [
        (scheme, None, seed, FULL + (LINEAR if args.linear_head else ()))
        for scheme in args.schemes
        for seed in range(args.full_seeds)
    ]
    for scheme, budget, seed, priors in runs:
        parts = split_parts(scheme, seed, label_budget=budget)
        labels = "full" if budget is None else str(budget)
        for prior in priors:
            started = time.perf_counter()
            # "name/linear": the head without its composition network h, only the expert-prior linear model
            linear = {"embedding_hidden": 0} if prior.endswith("/linear") else {}
            model, p_single = fit_vae(parts, seed, training, prior=prior.split("/")[0], **linear)
            row = {"scheme": scheme, "labels": labels, "n_train": len(parts.train), "seed": seed, "model": prior}
            history = {"epochs": model.history["train/epochs"], "best_epoch": model.history["train/best_epoch"]}
            row |= probability_metrics(parts.y_test, p_single) | history
            rows.append(row | {"seconds": time.perf_counter() - started})
            print(
                f"{scheme:8s} labels={labels:5s} seed={seed} {prior:11s} auc={rows[-1]['auc']:.3f} "
                f"bacc={rows[-1]['balanced_accuracy']:.3f} best epoch {history['best_epoch']:.0f} "
                f"({rows[-1]['seconds']:.0f} s)",
                flush=True,
            )
            if budget is None:
                head = model.head_posterior()
                head = head[head["descriptor"].isin(WATCHED)].assign(scheme=scheme, seed=seed, prior=prior)
                posteriors.append(head)
        if budget is not None:
            started = time.perf_counter()
            p_single = fit_peer("random-forest", parts, seed)
            rows.append(
                {
                    "scheme": scheme,
                    "labels": labels,
                    "n_train": len(parts.train),
                    "seed": seed,
                    "model": "random-forest",
                }
                | probability_metrics(parts.y_test, p_single)
                | {"seconds": time.perf_counter() - started}
            )

    results = pd.DataFrame(rows)
    posterior = pd.concat(posteriors, ignore_index=True)
    results.to_csv(args.out / "results.csv", index=False)
    posterior.to_csv(args.out / "head_posterior.csv", index=False)
    summary = report(results, posterior)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(" ".join(f"{key}={value:.4f}" for key, value in summary.items()))


def report(results: pd.DataFrame, posterior: pd.DataFrame) -> dict[str, float]:
    """Print the tables; return the flat key=value summary."""
    summary: dict[str, float] = {}
    print("\ntest metrics, mean +- s.d. over seeds")
    print(f"{'scheme':8s} {'labels':6s} {'model':14s} {'n':>2s} {'AUC':>15s} {'bal. acc.':>15s} {'log loss':>15s}")
    for (scheme, labels, model), group in results.groupby(["scheme", "labels", "model"], sort=False):
        cells = []
        for metric in ("auc", "balanced_accuracy", "log_loss"):
            mean, sd = mean_sd(group[metric])
            cells.append(f"{mean:7.3f} +- {sd:5.3f}")
        print(f"{scheme:8s} {labels:6s} {model:14s} {len(group):2d} " + " ".join(cells))
        short = SHORT[model.split("/")[0]] + ("_linear" if model.endswith("/linear") else "")
        summary[f"{short}_auc_{'b' + labels if labels != 'full' else 'full'}_{scheme}"] = mean_sd(group["auc"])[0]
    print("\nhead posterior at full labels (log-odds per s.d. of the descriptor; 90 % interval), mean over seeds")
    table = posterior.groupby(["scheme", "prior", "descriptor"], sort=False)[["prior_mean", "mean", "lo", "hi"]].mean()
    print(table.round(3).to_string())
    for (scheme, prior, descriptor), values in table.iterrows():
        if prior.startswith("wrong_sign"):
            linear = "_linear" if prior.endswith("/linear") else ""
            summary[f"wrong{linear}_full_{descriptor}_mean_{scheme}"] = float(values["mean"])
    return summary


if __name__ == "__main__":
    main()

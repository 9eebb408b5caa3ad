"""The 4-class target (``data.target=phase``: BCC, FCC, HCP, multi-phase) against a random forest on the same split.

Per seed, on the default data's random split with target phase: vae-design (AlloyVAE defaults with the literature
prior, whose per-class VEC priors are configs/prior/literature.yaml's ``class_coefficients``; labels + pool,
early-stopped on val, at most ``--max-epochs``) and a random forest (500 trees, fractions + the nine descriptors, on
the train part). Test macro-F1, balanced accuracy, macro one-vs-rest AUC and the one-vs-rest AUC of each class, the
head alone (no measured-neighbour update) beside the vae with it; mean +- s.d. over seeds.

    python -u scripts/bench_phase.py --seeds 3 --out /tmp/bench_phase

Writes OUT/per_seed.csv and OUT/summary.csv; the last line is ``key=value``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def figures(y: np.ndarray, p: np.ndarray, classes: tuple[str, ...]) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

    present = np.unique(y)
    q = p[:, present] / p[:, present].sum(1, keepdims=True)
    row = {
        "macro_f1": f1_score(y, p.argmax(1), average="macro", labels=present, zero_division=0),
        "balanced_accuracy": balanced_accuracy_score(y, p.argmax(1)),
        "auc": roc_auc_score(y, q, multi_class="ovr", labels=present),
    }
    for k, name in enumerate(classes):
        if 0 < (y == k).sum() < len(y):
            row[f"auc_{name}"] = roc_auc_score(y == k, p[:, k])
    return row


def one_seed(seed: int, max_epochs: int) -> list[dict]:
    import torch

    from vae_design.api import AlloyVAE
    from vae_design.benchmarks import benchmark_settings
    from vae_design.benchmarks.peers import feature_matrix, make_estimator
    from vae_design.data import load_table, make_split
    from vae_design.data.vocabulary import ElementVocabulary
    from vae_design.features.coverage import drop_without_descriptors

    torch.set_num_threads(1)
    table = drop_without_descriptors(load_table(target="phase"))
    split = make_split(table, scheme="random", seed=seed)
    compositions = [dict(c) for c in table.alloys["composition"]]
    labels = table.alloys["label"].fillna(-1).to_numpy(dtype=int)

    def part(positions):
        return [compositions[i] for i in positions], labels[positions]

    (train, y_train), (val, y_val), (test, y_test) = part(split.train), part(split.val), part(split.test)
    pool = [compositions[i] for i in split.unlabelled]
    model = AlloyVAE(target="phase", training=benchmark_settings(max_epochs))
    model.fit(train, y_train, unlabelled=pool, val=(val, y_val), seed=seed)
    classes = model.classes
    rows = []
    for name, p in (
        ("vae", model.predict_proba(test)),
        ("vae head alone", model.predict_proba(test, neighbours=False)),
    ):
        rows.append({"seed": seed, "model": name} | figures(y_test, p, classes))
    vocabulary = ElementVocabulary.from_compositions(train)
    x_train, ok = feature_matrix(train, vocabulary)
    forest = make_estimator("random-forest", seed).fit(x_train[ok], y_train[ok])
    x_test, _ = feature_matrix(test, vocabulary)
    p = np.zeros((len(test), len(classes)))
    p[:, forest.classes_] = forest.predict_proba(x_test)
    rows.append({"seed": seed, "model": "random forest"} | figures(y_test, p, classes))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_phase"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in range(args.seeds):
        rows += one_seed(seed, args.max_epochs)
        print(f"seed {seed} done", flush=True)
    per_seed = pd.DataFrame(rows)
    per_seed.to_csv(args.out / "per_seed.csv", index=False)
    summary = per_seed.drop(columns="seed").groupby("model", sort=False).agg(["mean", "std"])
    summary.to_csv(args.out / "summary.csv")
    print(summary.round(3).to_string())
    means = per_seed.drop(columns="seed").groupby("model", sort=False).mean()
    keys = {}
    for model, values in means.iterrows():
        for metric, value in values.items():
            keys[f"{model.replace(' ', '_')}_{metric}"] = value
    keys["f1_ratio_vae_to_rf"] = means.loc["vae", "macro_f1"] / means.loc["random forest", "macro_f1"]
    print(" ".join(f"{k}={v:.4f}" for k, v in keys.items()))


if __name__ == "__main__":
    main()

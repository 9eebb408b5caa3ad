"""Evaluation metrics: classification (accuracy, AUC, balanced accuracy, F1, log-loss, ECE), reconstruction of
compositions (element-set recovery, MAE in at.%, beside the equiatomic guess), and fresh probes of the label in a
latent (disentanglement). numpy + sklearn only."""

from __future__ import annotations

import numpy as np

# A decoded element counts as present at or above 0.5 at.%: below that no alloy list reports an element, and the
# reference's dense softmax decoder would otherwise "contain" every element.
PRESENT_AT = 0.005


def expected_calibration_error(y_true: np.ndarray, probabilities: np.ndarray, n_bins: int = 10) -> float:
    """Top-label ECE with equal-width confidence bins: sum_b |B_b|/N |accuracy_b - confidence_b|."""
    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == y_true
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in np.unique(bins):
        members = bins == b
        error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def classification_metrics(y_true, probabilities, prefix: str) -> dict[str, float]:
    """``{prefix}/accuracy`` ... for labels (N,) and class probabilities (N, K); binary F1/AUC use class 1."""
    from sklearn import metrics

    y_true = np.asarray(y_true, dtype=int)
    probabilities = np.clip(np.asarray(probabilities, dtype=float), 1e-7, 1.0)
    probabilities = probabilities / probabilities.sum(1, keepdims=True)
    n_classes = probabilities.shape[1]
    predicted = probabilities.argmax(1)
    binary = n_classes == 2
    both_present = len(np.unique(y_true)) > 1
    if binary:
        auc = metrics.roc_auc_score(y_true, probabilities[:, 1]) if both_present else float("nan")
        f1 = metrics.f1_score(y_true, predicted, zero_division=0)
    else:
        present = np.unique(y_true)
        auc = (
            metrics.roc_auc_score(
                y_true,
                probabilities[:, present] / probabilities[:, present].sum(1, keepdims=True),
                multi_class="ovr",
                labels=present,
            )
            if len(present) > 2
            else float("nan")
        )
        f1 = metrics.f1_score(y_true, predicted, average="macro", zero_division=0)
    return {
        f"{prefix}/accuracy": float(metrics.accuracy_score(y_true, predicted)),
        f"{prefix}/auc": float(auc),
        f"{prefix}/balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, predicted)),
        f"{prefix}/f1": float(f1),
        f"{prefix}/log_loss": float(metrics.log_loss(y_true, probabilities, labels=np.arange(n_classes))),
        f"{prefix}/ece": expected_calibration_error(y_true, probabilities),
    }


def reconstruction_metrics(true_fractions, decoded_fractions, prefix: str = "recon") -> dict[str, float]:
    """Exact element-set recovery (fraction of alloys), MAE over the elements truly present and over all elements,
    both in at.%. Decoded fractions below 0.5 at.% count as absent and are set to 0 (renormalised).
    ``{prefix}/mae_present_equiatomic`` is the trivial guess's MAE (equal fractions on the true element set, which
    knows the set and nothing else): a decoder that does not beat it has learnt no proportions."""
    true_fractions = np.asarray(true_fractions, dtype=float)
    decoded = np.where(np.asarray(decoded_fractions, dtype=float) >= PRESENT_AT, decoded_fractions, 0.0)
    decoded = decoded / np.clip(decoded.sum(1, keepdims=True), 1e-12, None)
    true_set, decoded_set = true_fractions > 1e-6, decoded > 0
    error = np.abs(true_fractions - decoded) * 100
    equiatomic = true_set / true_set.sum(1, keepdims=True)
    return {
        f"{prefix}/element_set_exact": float((true_set == decoded_set).all(1).mean()),
        f"{prefix}/mae_present": float(error[true_set].mean()),
        f"{prefix}/mae_all": float(error.mean()),
        f"{prefix}/mae_present_equiatomic": float(np.abs(true_fractions - equiatomic)[true_set].mean() * 100),
    }


def _probe_predictions(latents, y_true, probe, seed: int) -> np.ndarray | None:
    """Cross-validated class probabilities (N, K) of a fresh ``probe`` reading y from the latents; None when a
    class has too few members for two stratified folds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    counts = np.bincount(y_true)
    folds = int(min(5, counts[counts > 0].min())) if len(counts[counts > 0]) >= 2 else 0
    if folds < 2:
        return None
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return cross_val_predict(probe, latents, y_true, cv=cv, method="predict_proba")


def score_auc(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if probabilities.shape[1] == 2:
        return float(roc_auc_score(y_true, probabilities[:, 1]))
    return float(roc_auc_score(y_true, probabilities, multi_class="ovr"))


def probe_auc(latents, y_true, seed: int = 0) -> float:
    """Cross-validated AUC of a logistic-regression probe predicting y from z alone (0.5: z carries no label)."""
    from sklearn.linear_model import LogisticRegression

    y_true = np.asarray(y_true, dtype=int)
    probabilities = _probe_predictions(latents, y_true, LogisticRegression(max_iter=1000), seed)
    return float("nan") if probabilities is None else score_auc(y_true, probabilities)


def label_leakage(latents, y_true, seed: int = 0, prefix: str = "latent") -> dict[str, float]:
    """How much a fresh probe, trained after the fact, reads the label from latents of held-out alloys (5-fold).

    ``probe_auc``: logistic regression; ``probe_auc_nonlinear``: a random forest (200 trees, leaves >= 3 alloys);
    0.5 means the probe reads nothing. ``mutual_information``: a lower bound on I(z; y) in nats, Barber & Agakov's
    H(y) - E[-log q(y | z)] with q the better of the two probes' cross-validated predictions (clipped at 0);
    ``label_entropy`` is H(y), the most it can be."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    # classes renumbered 0..C-1 over those present: the probes' probability columns follow them
    y_true = np.unique(np.asarray(y_true, dtype=int), return_inverse=True)[1]
    frequencies = np.bincount(y_true) / len(y_true)
    entropy = float(-(frequencies[frequencies > 0] * np.log(frequencies[frequencies > 0])).sum())
    figures = {f"{prefix}/label_entropy": entropy}
    probes = {
        "probe_auc": LogisticRegression(max_iter=1000),
        "probe_auc_nonlinear": RandomForestClassifier(200, min_samples_leaf=3, random_state=seed, n_jobs=1),
    }
    best_log_loss = entropy
    for name, probe in probes.items():
        probabilities = _probe_predictions(latents, y_true, probe, seed)
        if probabilities is None:
            figures[f"{prefix}/{name}"] = float("nan")
            continue
        figures[f"{prefix}/{name}"] = score_auc(y_true, probabilities)
        picked = np.clip(probabilities[np.arange(len(y_true)), y_true], 1e-7, 1.0)
        best_log_loss = min(best_log_loss, float(-np.log(picked).mean()))
    figures[f"{prefix}/mutual_information"] = max(0.0, entropy - best_log_loss)
    return figures

"""Evaluation metrics: classification (accuracy, AUC, balanced accuracy, F1, log-loss, ECE), reconstruction of
compositions (element-set recovery, MAE in at.%), and a linear probe for disentanglement. numpy + sklearn only."""

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
    both in at.%. Decoded fractions below 0.5 at.% count as absent and are set to 0 (renormalised)."""
    true_fractions = np.asarray(true_fractions, dtype=float)
    decoded = np.where(np.asarray(decoded_fractions, dtype=float) >= PRESENT_AT, decoded_fractions, 0.0)
    decoded = decoded / np.clip(decoded.sum(1, keepdims=True), 1e-12, None)
    true_set, decoded_set = true_fractions > 1e-6, decoded > 0
    error = np.abs(true_fractions - decoded) * 100
    return {
        f"{prefix}/element_set_exact": float((true_set == decoded_set).all(1).mean()),
        f"{prefix}/mae_present": float(error[true_set].mean()),
        f"{prefix}/mae_all": float(error.mean()),
    }


def probe_auc(latents, y_true, seed: int = 0) -> float:
    """Cross-validated AUC of a logistic-regression probe predicting y from z alone (0.5: z carries no label)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y_true = np.asarray(y_true, dtype=int)
    counts = np.bincount(y_true)
    folds = int(min(5, counts[counts > 0].min()))
    if len(counts[counts > 0]) < 2 or folds < 2:
        return float("nan")
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(LogisticRegression(max_iter=1000), latents, y_true, cv=cv, method="predict_proba")
    from sklearn.metrics import roc_auc_score

    if probabilities.shape[1] == 2:
        return float(roc_auc_score(y_true, probabilities[:, 1]))
    return float(roc_auc_score(y_true, probabilities, multi_class="ovr"))

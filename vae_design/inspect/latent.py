"""The latent space z: element families, traversals along each axis, and disentanglement scores.

In a disentangled model z holds the chemistry (which elements, in what proportions) and *not* the phase, which
lives in y. The scores measure both halves: how well a linear probe reads the phase label from z (AUC near 0.5 is
good), the mutual information between each z axis and the label (near 0 is good), and how well z reads the element
family and the number of elements (high is good: z is where the chemistry is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

# Families by the elements that make up most of the alloy (mole fraction). Cr is counted as a 3d transition
# metal; Ti and V as refractory, as in the refractory high-entropy alloy literature (Senkov et al. 2018).
FAMILIES = {
    "refractory": ("Ti", "V", "Zr", "Nb", "Mo", "Hf", "Ta", "W", "Re"),
    "3d transition": ("Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Sc", "Zn"),
    "noble": ("Ru", "Rh", "Pd", "Ag", "Os", "Ir", "Pt", "Au"),
}
OTHER = "other"


def element_family(fractions: np.ndarray, elements: Sequence[str]) -> np.ndarray:
    """Per alloy, the family holding the largest total fraction ('other' when the rest, e.g. Al, Si, Mg, wins)."""
    fractions = np.asarray(fractions, dtype=float)
    columns = {name: [i for i, e in enumerate(elements) if e in members] for name, members in FAMILIES.items()}
    totals = np.column_stack([fractions[:, i].sum(1) if i else np.zeros(len(fractions)) for i in columns.values()])
    rest = 1 - totals.sum(1)
    names = np.array([*columns, OTHER])
    return names[np.column_stack([totals, rest]).argmax(1)]


@dataclass
class Traversal:
    """Decoded compositions along one z axis (steps from -span to +span, other axes 0) for each class y."""

    axis: int
    steps: np.ndarray  # (S,)
    fractions: dict[str, np.ndarray]  # class name -> (S, E)
    probability: dict[str, np.ndarray]  # class name -> (S,) the head's P(single phase) of the decoded alloys


def active_axes(z: np.ndarray, n: int) -> list[int]:
    """The ``n`` axes along which the encoded alloys vary most (the others are near the prior: unused)."""
    return [int(i) for i in np.argsort(-np.asarray(z).var(0))[:n]]


TRAVERSAL_ELEMENTS = 5  # element count of the traversals' decoded alloys (the decoder's observed input)


@torch.no_grad()
def traverse(view, axes: Sequence[int], classes: Sequence[str], span: float = 2.5, n_steps: int = 7):
    """One :class:`Traversal` per axis of the whole latent (target factor first): for each class, z starts at the
    class's target mean with z_n = 0, and the axis moves from -span to +span (a target axis: around 0, where both
    classes then give the same alloys), decoded with ``TRAVERSAL_ELEMENTS`` elements."""
    from vae_design.inspect.fisher import usable_rows

    vae = view.vae
    steps = np.linspace(-span, span, n_steps)
    result = []
    for axis in axes:
        fractions, probability = {}, {}
        for k, name in enumerate(classes):
            z = vae.with_target(torch.zeros(n_steps, vae.config.latent_dim), k)
            z[:, axis] = torch.as_tensor(steps, dtype=torch.float32)
            x = vae.decode(z, TRAVERSAL_ELEMENTS)
            fractions[name] = x.numpy()
            # NaN where the decoded alloy pairs elements without descriptor data
            keep = usable_rows(view, x)
            probability[name] = np.full(n_steps, np.nan)
            if keep.any():
                probability[name][keep.numpy()] = view.probability(x[keep]).numpy()
        result.append(Traversal(axis, steps, fractions, probability))
    return result


def disentanglement_scores(
    z: np.ndarray, labels: np.ndarray, families: np.ndarray, n_elements: np.ndarray, seed: int = 0
) -> dict[str, float | list[float]]:
    """Probe scores and mutual information (nats) of the latents z (N, Z) of labelled alloys."""
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from vae_design.training.metrics import probe_auc

    labels = np.asarray(labels, dtype=int)
    single = (labels > 0).astype(int) if labels.max(initial=0) > 1 else labels
    scores: dict[str, float | list[float]] = {"n_alloys": float(len(z))}
    scores["label_probe_auc"] = probe_auc(z, single, seed=seed) if len(z) >= 10 else float("nan")
    mi = mutual_info_classif(z, single, random_state=seed) if len(np.unique(single)) > 1 else np.zeros(z.shape[1])
    scores["label_mutual_information"] = [float(v) for v in mi]
    scores["label_mutual_information_max"] = float(mi.max(initial=0))
    counts = np.unique(families, return_counts=True)[1]
    folds = int(min(5, counts.min())) if len(counts) > 1 else 0
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        probe = LogisticRegression(max_iter=2000)
        scores["family_probe_accuracy"] = float(cross_val_score(probe, z, families, cv=cv).mean())
        scores["family_majority_accuracy"] = float(counts.max() / counts.sum())
    else:
        scores["family_probe_accuracy"] = scores["family_majority_accuracy"] = float("nan")
    if len(z) >= 10 and np.std(n_elements) > 0:
        scores["n_elements_probe_r2"] = float(cross_val_score(LinearRegression(), z, n_elements, cv=5).mean())
    else:
        scores["n_elements_probe_r2"] = float("nan")
    return scores


def count_elements(fractions: np.ndarray) -> np.ndarray:
    return (np.asarray(fractions) > 1e-6).sum(1)


def family_colours() -> Mapping[str, str]:
    return {"refractory": "tab:blue", "3d transition": "tab:orange", "noble": "tab:olive", OTHER: "tab:grey"}

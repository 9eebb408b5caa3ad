"""Figures of a trained model: ROC curve, latent map, reconstructed compositions (matplotlib, no display needed).

Each ``plot_*`` function takes plain arrays and returns a matplotlib Figure; :func:`save_run_plots` computes the
arrays from a trained :class:`~vae_design.api.AlloyVAE` through its public methods and writes the PNG files of a
training run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vae_design.training.metrics import PRESENT_AT

# Fractions below this (0.5 at.%) are not drawn: the same threshold as "element present" in the metrics.


def _pyplot():
    # Agg draws into files without a display (servers, CI); set before pyplot is first imported.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc(labels: np.ndarray, probabilities: np.ndarray, classes: Sequence[str], title: str = "test set"):
    """ROC curve(s): for two classes the curve of the second (single phase); for more, one curve per class
    against the rest. ``labels`` (N,) integer classes, ``probabilities`` (N, K)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    labels = np.asarray(labels, dtype=int)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    shown = [1] if len(classes) == 2 else range(len(classes))
    for k in shown:
        positive = labels == k
        if positive.all() or not positive.any():  # a curve needs both outcomes
            continue
        fpr, tpr, _ = roc_curve(positive, probabilities[:, k])
        ax.plot(fpr, tpr, label=f"{classes[k]} (AUC {roc_auc_score(positive, probabilities[:, k]):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC, {title} (n={len(labels)})")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def latent_projection(z: np.ndarray, target_dim: int = 0) -> tuple[Callable[[np.ndarray], np.ndarray], tuple[str, str]]:
    """A map from latents (N, D) to two plotting coordinates, fitted on z. With a target factor (``target_dim`` > 0,
    its dimensions first): z_y's first dimension against the first principal component of the nuisance factor z_n,
    so the classes separate along the horizontal axis and the vertical one is the largest variation the class does
    not explain. Without: z itself when D <= 2, else its first two principal components (the axis labels then
    carry the share of variance they explain)."""
    z = np.asarray(z, dtype=float)
    if target_dim > 0:
        nuisance = z[:, target_dim:]
        centre = nuisance.mean(0)
        _, singular, vt = np.linalg.svd(nuisance - centre, full_matrices=False)
        share = singular[0] ** 2 / max(float((singular**2).sum()), 1e-12)

        def project(q):
            q = np.asarray(q, float)
            return np.column_stack([q[:, 0], (q[:, target_dim:] - centre) @ vt[0]])

        return project, ("z_y1 (target factor)", f"PC1 of the nuisance factor z_n ({share:.0%})")
    if z.shape[1] == 1:
        return (lambda q: np.column_stack([np.asarray(q, float)[:, 0], np.zeros(len(q))])), ("z1", "")
    if z.shape[1] == 2:
        return (lambda q: np.asarray(q, float)), ("z1", "z2")
    centre = z.mean(0)
    _, singular, vt = np.linalg.svd(z - centre, full_matrices=False)
    share = singular**2 / max(float((singular**2).sum()), 1e-12)
    labels = (f"PC1 of z ({share[0]:.0%})", f"PC2 of z ({share[1]:.0%})")
    return (lambda q: (np.asarray(q, float) - centre) @ vt[:2].T), labels


def latent_coordinates(z: np.ndarray, target_dim: int = 0) -> tuple[np.ndarray, tuple[str, str]]:
    """Two plotting coordinates of latents z (N, D) and the axis labels (see :func:`latent_projection`)."""
    project, labels = latent_projection(z, target_dim)
    return project(z), labels


def plot_latent_map(z: np.ndarray, labels: np.ndarray, classes: Sequence[str], target_dim: int = 0):
    """Latents z (N, D) coloured by class: the target factor (horizontal) against the nuisance factor's main axis;
    in a disentangled model the classes separate left to right and overlap top to bottom."""
    plt = _pyplot()
    coordinates, (x_label, y_label) = latent_coordinates(z, target_dim)
    labels = np.asarray(labels, dtype=int)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for k, name in enumerate(classes):
        members = labels == k
        if members.any():
            ax.scatter(*coordinates[members].T, s=8, alpha=0.6, label=f"{name} ({int(members.sum())})")
    ax.set(xlabel=x_label, ylabel=y_label, title=f"latent z of {len(labels)} labelled alloys")
    ax.legend(fontsize="small", markerscale=2)
    fig.tight_layout()
    return fig


def plot_reconstructions(
    true: np.ndarray, decoded: np.ndarray, elements: Sequence[str], names: Sequence[str], classes: Sequence[str] = ()
):
    """True vs decoded composition of a few alloys as bar charts in at.%; ``true`` and ``decoded`` are mole
    fractions (N, E) over ``elements``, ``names`` their formulas (the panel titles, each followed by its class
    from ``classes`` when given). The x axis lists the title's elements in the title's order, then any element
    only the decoder put there (largest first); elements below 0.5 at.% in both are left out."""
    plt = _pyplot()
    n = len(true)
    columns = min(n, 3)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2.8 * rows), squeeze=False)
    position = {element: j for j, element in enumerate(elements)}
    for i, (ax, t, d, name) in enumerate(zip(axes.flat, true, decoded, names, strict=False)):
        titled = [position[e] for e in re.findall(r"[A-Z][a-z]?", name) if e in position and t[position[e]] > 0]
        extra = [j for j in np.argsort(-d) if d[j] >= PRESENT_AT and j not in titled]
        shown = [*titled, *extra]
        positions = np.arange(len(shown))
        ax.bar(positions - 0.2, 100 * t[shown], width=0.4, label="true")
        ax.bar(positions + 0.2, 100 * d[shown], width=0.4, label="decoded")
        ax.set_xticks(positions, [elements[j] for j in shown], fontsize="small")
        ax.set_title(f"{name} ({classes[i]})" if len(classes) else name, fontsize="small")
        ax.set_ylabel("at.%")
    for ax in axes.flat[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize="small")
    fig.suptitle("test alloys encoded and decoded (their own element count)", fontsize="medium")
    fig.tight_layout()
    return fig


def reconstruction_examples(counts: np.ndarray, n: int = 6, min_elements: int = 4) -> np.ndarray:
    """Indices of ``n`` alloys evenly spaced through a set (a deterministic, varied handful), among those with at
    least ``min_elements`` elements (``counts``: each alloy's element count) when there are ``n`` of them: a
    binary says little about a high-entropy alloy decoder. Tops up with the largest of the rest otherwise."""
    counts = np.asarray(counts)
    rich = np.flatnonzero(counts >= min_elements)
    if len(rich) >= n:
        return rich[np.linspace(0, len(rich) - 1, n, dtype=int)]
    chosen = set(rich.tolist())
    rest = [i for i in np.argsort(-counts, kind="stable") if i not in chosen]
    return np.sort(np.r_[rich, rest[: n - len(rich)]].astype(int))


def save_run_plots(model, folder: Path, test: tuple[list, np.ndarray], labelled: tuple[list, np.ndarray]) -> list[str]:
    """Write ``roc.png`` (test set), ``latent.png`` (``labelled`` alloys) and ``reconstruction.png`` (six test
    alloys of 4+ elements, :func:`reconstruction_examples`) into ``folder``; ``test`` and ``labelled`` are
    (compositions, integer labels). Returns the file names."""
    from vae_design.data.composition import canonical_formula

    plt = _pyplot()
    written = []
    compositions, labels = test
    if len(compositions):
        probabilities = model.predict_proba(compositions)
        figures = {"roc.png": plot_roc(labels, probabilities, model.classes)}
        counts = model.vocabulary.to_tensor(compositions).gt(1e-6).sum(1).numpy()
        index = reconstruction_examples(counts)
        shown = [compositions[i] for i in index]
        z = model.encode(shown)
        target_dim = model.vae.config.target_dim
        decoded = model.decode(z[:, :target_dim], z[:, target_dim:], counts[index])
        figures["reconstruction.png"] = plot_reconstructions(
            model.vocabulary.to_array(shown),
            model.vocabulary.to_array(decoded),
            model.vocabulary.elements,
            [canonical_formula(c) for c in shown],
            [model.classes[int(labels[i])] for i in index],
        )
    else:
        figures = {}
    if len(labelled[0]):
        target_dim = model.vae.config.target_dim
        figures["latent.png"] = plot_latent_map(model.encode(labelled[0]), labelled[1], model.classes, target_dim)
    for name, figure in figures.items():
        figure.savefig(folder / name, dpi=120)
        plt.close(figure)
        written.append(name)
    return sorted(written)


def label_points(ax, x: np.ndarray, y: np.ndarray, texts: Sequence[str], marker_radius: float = 6.0, fontsize=8):
    """Label the points (x, y) (data coordinates of ``ax``) with ``texts``, each in a small box joined to its
    point by a leader line, placed so that no box overlaps another box, a labelled point's marker (radius
    ``marker_radius`` points) or the axes' border; earlier texts get the nearer places. Call after the figure's
    layout is final (``tight_layout``): places are chosen in display space. Returns the annotations."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72  # points to pixels
    centres = ax.transData.transform(np.column_stack([x, y]))
    frame = ax.get_window_extent(renderer)
    placed: list[tuple[float, float, float, float]] = []
    annotations = []
    for i, text in enumerate(texts):
        probe = ax.text(0, 0, text, fontsize=fontsize, weight="bold")
        box = probe.get_window_extent(renderer)
        probe.remove()
        half_w, half_h = box.width / 2 + 3 * scale, box.height / 2 + 2 * scale  # the box's padding
        best, best_cost = (0.0, 14.0), np.inf
        for radius in (14, 20, 27, 35, 45, 57, 72, 90):
            for angle in np.deg2rad(np.arange(45, 405, 30)):
                dx, dy = radius * np.cos(angle), radius * np.sin(angle)
                cx, cy = centres[i, 0] + dx * scale, centres[i, 1] + dy * scale
                rect = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
                cost = _overlap(rect, placed) + _covered(rect, centres, marker_radius * scale)
                if not (frame.x0 <= rect[0] and rect[2] <= frame.x1 and frame.y0 <= rect[1] and rect[3] <= frame.y1):
                    cost += 1e9
                if cost < best_cost:
                    best, best_cost = (dx, dy), cost
            if best_cost == 0:
                break
        dx, dy = best
        cx, cy = centres[i, 0] + dx * scale, centres[i, 1] + dy * scale
        placed.append((cx - half_w, cy - half_h, cx + half_w, cy + half_h))
        annotations.append(
            ax.annotate(
                text,
                (x[i], y[i]),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="center",
                va="center",
                fontsize=fontsize,
                weight="bold",
                annotation_clip=False,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.35", "linewidth": 0.5},
                arrowprops={"arrowstyle": "-", "color": "0.35", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3},
            )
        )
    return annotations


def _overlap(rect, others) -> float:
    """Summed overlap area (pixels^2) of ``rect`` (x0, y0, x1, y1) with each of ``others``."""
    total = 0.0
    for o in others:
        w = min(rect[2], o[2]) - max(rect[0], o[0])
        h = min(rect[3], o[3]) - max(rect[1], o[1])
        if w > 0 and h > 0:
            total += w * h
    return total


def _covered(rect, centres: np.ndarray, radius: float) -> float:
    """How much of the markers at ``centres`` (pixels, radius ``radius``) ``rect`` hides: the summed overlap of
    each marker's bounding square with it."""
    squares = np.column_stack([centres - radius, centres + radius])
    return _overlap(rect, squares.tolist())

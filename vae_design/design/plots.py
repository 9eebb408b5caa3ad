"""Figures of a generate run: candidates on the latent map, and delta vs dH_mix beside the known alloys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vae_design.plots import _pyplot, latent_projection


def plot_candidates_latent(
    known_z: np.ndarray, known_labels: np.ndarray, candidate_z: np.ndarray, classes, title: str, target_dim: int = 0
):
    """Known labelled alloys' latents (coloured by class) and the candidates' latents, one projection for both:
    the target factor against the nuisance factor's first principal axis (see :func:`latent_projection`)."""
    plt = _pyplot()
    project, (xlabel, ylabel) = latent_projection(known_z, target_dim)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for k, name in enumerate(classes):
        members = known_labels == k
        if members.any():
            ax.scatter(*project(known_z[members]).T, s=6, alpha=0.35, label=f"known: {name}")
    ax.scatter(*project(candidate_z).T, s=14, marker="x", color="black", label=f"candidates ({len(candidate_z)})")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize="small", markerscale=1.5)
    fig.tight_layout()
    return fig


# Zhang et al., Adv. Eng. Mater. 10, 534 (2008): solid solutions form at delta <= 6.6 % and -15 <= dH_mix <= 5 kJ/mol.
ZHANG_DH = (-15.0, 5.0)  # kJ/mol
ZHANG_DELTA = (0.0, 6.6)  # %


def clipped_limits(values: np.ndarray, always: tuple[float, float], pad: float = 0.05) -> tuple[float, float]:
    """Axis limits from the 1-99 % range of the finite ``values``, widened to hold ``always`` (Zhang's window) and
    padded by ``pad`` of the span on each side; a few outliers (dH_mix up to +130 kJ/mol) otherwise squeeze the
    candidates and the window into a corner."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    lo, hi = np.percentile(values, [1, 99]) if len(values) else always
    lo, hi = min(lo, always[0]), max(hi, always[1])
    margin = pad * (hi - lo)
    return float(lo - margin), float(hi + margin)


def _split_at_edges(x: np.ndarray, y: np.ndarray, xlim, ylim):
    """(inside mask, x and y clipped to the limits): points outside are drawn on the border they cross."""
    inside = (x >= xlim[0]) & (x <= xlim[1]) & (y >= ylim[0]) & (y <= ylim[1])
    return inside, np.clip(x, *xlim), np.clip(y, *ylim)


def plot_delta_enthalpy(known_descriptors: np.ndarray, known_labels: np.ndarray, table, classes):
    """Atomic size mismatch delta (%) against mixing enthalpy dH_mix (kJ/mol): known labelled alloys by class and
    the candidates coloured by P(single phase); Zhang's solid-solution window (delta <= 6.6 %, -15 <= dH <= 5)
    dashed. The axes span the 1-99 % range of known alloys and candidates together (always holding the window);
    points beyond are drawn as open triangles on the border, counted in the legend."""
    from vae_design.features.descriptors import DESCRIPTOR_NAMES

    plt = _pyplot()
    d, h = DESCRIPTOR_NAMES.index("delta"), DESCRIPTOR_NAMES.index("dH_mix")
    known_h, known_d = known_descriptors[:, h], known_descriptors[:, d]
    candidate_h = np.asarray(table["dH_mix"], dtype=float)
    candidate_d = np.asarray(table["delta"], dtype=float)
    xlim = clipped_limits(np.r_[known_h, candidate_h], ZHANG_DH)
    ylim = clipped_limits(np.r_[known_d, candidate_d], ZHANG_DELTA)
    ylim = (max(ylim[0], -0.2), ylim[1])  # delta is never negative: no empty band below 0
    outside = 0
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, name in enumerate(classes):
        members = (known_labels == k) & np.isfinite(known_d) & np.isfinite(known_h)
        if not members.any():
            continue
        inside, x, y = _split_at_edges(known_h[members], known_d[members], xlim, ylim)
        ax.scatter(x[inside], y[inside], s=6, alpha=0.3, color=f"C{k}", label=f"known: {name}")
        ax.scatter(x[~inside], y[~inside], s=18, marker="^", facecolors="none", edgecolors=f"C{k}", linewidths=0.8)
        outside += int((~inside).sum())
    finite = np.isfinite(candidate_h) & np.isfinite(candidate_d)
    inside, x, y = _split_at_edges(candidate_h[finite], candidate_d[finite], xlim, ylim)
    probability = np.asarray(table["probability"], dtype=float)[finite]
    style = {"cmap": "viridis", "vmin": 0, "vmax": 1, "edgecolors": "black", "linewidths": 0.3}
    points = ax.scatter(x[inside], y[inside], c=probability[inside], s=16, marker="D", label="candidates", **style)
    ax.scatter(x[~inside], y[~inside], c=probability[~inside], s=30, marker="^", **style)
    outside += int((~inside).sum())
    fig.colorbar(points, ax=ax, label="P(single phase)")
    (h0, h1), (d0, d1) = ZHANG_DH, ZHANG_DELTA
    ax.plot([h0, h1, h1, h0, h0], [d0, d0, d1, d1, d0], color="grey", linestyle="--", linewidth=1)
    if outside:  # a proxy, so that the count is one legend entry whatever the series
        ax.scatter([], [], s=18, marker="^", facecolors="none", edgecolors="black",
                   label=f"{outside} outside the axes (at the edge)")  # fmt: skip
    ax.set(xlim=xlim, ylim=ylim, xlabel="dH_mix (kJ/mol)", ylabel="delta (%)")
    ax.set_title(f"{len(table)} candidates and the known alloys (axes: 1-99 % of the data)")
    ax.legend(fontsize="small", markerscale=1.5, loc="upper left")
    fig.tight_layout()
    return fig


def save_generate_plots(model, known, table, candidate_z: np.ndarray | None, folder: Path) -> list[str]:
    """``latent.png`` and ``delta_vs_dH.png`` into ``folder``; returns the file names written."""
    plt = _pyplot()
    figures = {}
    labelled = np.isfinite(known.label) & np.isfinite(known.descriptors[:, 0])
    if len(table):
        figures["delta_vs_dH.png"] = plot_delta_enthalpy(known.descriptors, known.label, table, model.classes)
    if candidate_z is not None and len(candidate_z) and labelled.sum() >= 2:
        x = known.fractions[np.flatnonzero(labelled), :-1]
        labels = known.label[labelled].astype(int)
        known_z = model.vae.encode(torch.as_tensor(x, dtype=torch.float32)).numpy()
        figures["latent.png"] = plot_candidates_latent(
            known_z, labels, candidate_z, model.classes, "candidates on the latent map", model.vae.config.target_dim
        )
    for name, figure in figures.items():
        figure.savefig(folder / name, dpi=120)
        plt.close(figure)
    return sorted(figures)

"""Figures of a generate run: candidates on the latent map, and delta vs dH_mix beside the known alloys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vae_design.plots import _pyplot, latent_projection


def plot_candidates_latent(known_z: np.ndarray, known_labels: np.ndarray, candidate_z: np.ndarray, classes, title: str):
    """Known labelled alloys' latents (coloured by class) and the candidates' latents, on the first two principal
    axes of the known alloys' z (one projection for both)."""
    plt = _pyplot()
    project, (xlabel, ylabel) = latent_projection(known_z)
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


def plot_delta_enthalpy(known_descriptors: np.ndarray, known_labels: np.ndarray, table, classes):
    """Atomic size mismatch delta (%) against mixing enthalpy dH_mix (kJ/mol): known labelled alloys by class and
    the candidates coloured by P(single phase); Zhang's solid-solution window (delta <= 6.6 %, -15 <= dH <= 5)
    dashed."""
    from vae_design.features.descriptors import DESCRIPTOR_NAMES

    plt = _pyplot()
    d, h = DESCRIPTOR_NAMES.index("delta"), DESCRIPTOR_NAMES.index("dH_mix")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, name in enumerate(classes):
        members = (known_labels == k) & np.isfinite(known_descriptors[:, d])
        if members.any():
            ax.scatter(
                known_descriptors[members, h], known_descriptors[members, d], s=6, alpha=0.3, label=f"known: {name}"
            )
    points = ax.scatter(
        table["dH_mix"],
        table["delta"],
        c=table["probability"],
        cmap="viridis",
        vmin=0,
        vmax=1,
        s=16,
        marker="D",
        edgecolors="black",
        linewidths=0.3,
        label="candidates",
    )
    fig.colorbar(points, ax=ax, label="P(single phase)")
    ax.plot([-15, 5, 5, -15, -15], [0, 0, 6.6, 6.6, 0], color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="dH_mix (kJ/mol)", ylabel="delta (%)", title=f"{len(table)} candidates and the known alloys")
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
        known_z = model.vae.encode(x, torch.as_tensor(labels)).numpy()
        figures["latent.png"] = plot_candidates_latent(
            known_z, labels, candidate_z, model.classes, "candidates on the latent map"
        )
    for name, figure in figures.items():
        figure.savefig(folder / name, dpi=120)
        plt.close(figure)
    return sorted(figures)

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


def delta_enthalpy_axes(ax, known_h: np.ndarray, known_d: np.ndarray, groups, ours_h, ours_d) -> tuple:
    """Set up a delta (%) against dH_mix (kJ/mol) panel: limits from the 1-99 % range of known alloys and
    ``ours`` (always holding Zhang's window, dashed, with its legend entry) and the known alloys of each group
    (``groups``: (mask, legend name, colour)) that fall inside. Known alloys beyond the limits are not drawn on the
    border, where they would hide the scale: each edge states how many lie beyond it. Returns (xlim, ylim)."""
    xlim = clipped_limits(np.r_[known_h, ours_h], ZHANG_DH)
    ylim = clipped_limits(np.r_[known_d, ours_d], ZHANG_DELTA)
    ylim = (max(ylim[0], -0.2), ylim[1])  # delta is never negative: no empty band below 0
    beyond = {"left": 0, "right": 0, "below": 0, "above": 0}
    for members, name, colour in groups:
        members = members & np.isfinite(known_h) & np.isfinite(known_d)
        if not members.any():
            continue
        x, y = known_h[members], known_d[members]
        inside, _, _ = _split_at_edges(x, y, xlim, ylim)
        ax.scatter(x[inside], y[inside], s=6, alpha=0.3, color=colour, label=name)
        beyond["left"] += int((x < xlim[0]).sum())
        beyond["right"] += int((x > xlim[1]).sum())
        between = (x >= xlim[0]) & (x <= xlim[1])
        beyond["below"] += int((between & (y < ylim[0])).sum())
        beyond["above"] += int((between & (y > ylim[1])).sum())
    text = {
        "left": ("\u2190 {}", 0.01, 0.5, "left", "center"),
        "right": ("{} \u2192", 0.99, 0.5, "right", "center"),
        "below": ("\u2193 {}", 0.5, 0.01, "center", "bottom"),
        "above": ("\u2191 {}", 0.99, 0.99, "right", "top"),
    }
    for side, count in beyond.items():
        if count:
            form, x, y, ha, va = text[side]
            ax.text(
                x,
                y,
                form.format(count),
                transform=ax.transAxes,
                ha=ha,
                va=va,
                fontsize=8,
                color="0.25",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.6", "alpha": 0.85},
            )
    if sum(beyond.values()):
        ax.plot(
            [],
            [],
            linestyle="",
            marker="$\u2192$",
            color="0.25",
            label=f"{sum(beyond.values())} known alloys beyond the axes (counted at each edge)",
        )
    (h0, h1), (d0, d1) = ZHANG_DH, ZHANG_DELTA
    ax.plot(
        [h0, h1, h1, h0, h0],
        [d0, d0, d1, d1, d0],
        color="grey",
        linestyle="--",
        linewidth=1,
        label="Zhang's window (\u03b4 \u2264 6.6 %, -15 \u2264 dH_mix \u2264 5)",
    )
    ax.set(xlim=xlim, ylim=ylim, xlabel="dH_mix (kJ/mol)", ylabel="delta (%)")
    return xlim, ylim


def colour_scale_marker(ax, values: np.ndarray, label: str, marker: str, cmap: str = "viridis"):
    """A legend-only marker for points coloured by ``values`` on [0, 1]: filled with the colour of their median
    on the scale (a scatter's own legend entry takes an arbitrary point's colour) and saying so."""
    import matplotlib

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    median = float(np.median(values)) if len(values) else 0.5
    colour = matplotlib.colormaps[cmap](median)
    ax.plot(
        [],
        [],
        linestyle="",
        marker=marker,
        markersize=6,
        markerfacecolor=colour,
        markeredgecolor="black",
        markeredgewidth=0.5,
        label=f"{label} (colour: P, median {median:.2f})",
    )


def plot_delta_enthalpy(known_descriptors: np.ndarray, known_labels: np.ndarray, table, classes):
    """Atomic size mismatch delta (%) against mixing enthalpy dH_mix (kJ/mol): known labelled alloys by class and
    the candidates coloured by P(single phase); Zhang's solid-solution window (delta <= 6.6 %, -15 <= dH <= 5)
    dashed (:func:`delta_enthalpy_axes`). Candidates beyond the axes are drawn as triangles on the border, counted
    in the legend."""
    from vae_design.features.descriptors import DESCRIPTOR_NAMES

    plt = _pyplot()
    d, h = DESCRIPTOR_NAMES.index("delta"), DESCRIPTOR_NAMES.index("dH_mix")
    known_h, known_d = known_descriptors[:, h], known_descriptors[:, d]
    candidate_h = np.asarray(table["dH_mix"], dtype=float)
    candidate_d = np.asarray(table["delta"], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    groups = [(known_labels == k, f"known: {name}", f"C{k}") for k, name in enumerate(classes)]
    xlim, ylim = delta_enthalpy_axes(ax, known_h, known_d, groups, candidate_h, candidate_d)
    finite = np.isfinite(candidate_h) & np.isfinite(candidate_d)
    inside, x, y = _split_at_edges(candidate_h[finite], candidate_d[finite], xlim, ylim)
    probability = np.asarray(table["probability"], dtype=float)[finite]
    style = {"cmap": "viridis", "vmin": 0, "vmax": 1, "edgecolors": "black", "linewidths": 0.3}
    points = ax.scatter(x[inside], y[inside], c=probability[inside], s=16, marker="D", **style)
    colour_scale_marker(ax, probability, "candidates", "D")
    if (~inside).any():
        ax.scatter(x[~inside], y[~inside], c=probability[~inside], s=30, marker="^", **style)
        ax.plot(
            [],
            [],
            linestyle="",
            marker="^",
            markerfacecolor="none",
            markeredgecolor="black",
            label=f"{int((~inside).sum())} candidates beyond the axes (on the edge)",
        )
    fig.colorbar(points, ax=ax, label="P(single phase)")
    ax.set_title(f"{len(table)} candidates and the known alloys (axes: 1-99 % of the data)")
    ax.legend(fontsize=7.5, markerscale=1.2, loc="upper left")
    fig.tight_layout()
    return fig


def plot_suggestions(table, known, classes=None):
    """The suggestions, coloured by P(target), among the known alloys (by class ``classes[label]``, unlabelled in
    grey) on delta (%) against dH_mix (kJ/mol), axes as :func:`plot_delta_enthalpy`'s (suggestions beyond them on
    the border). Each suggestion's rank sits in a box beside it, joined by a leader line, placed so that no two
    ranks overlap (:func:`~vae_design.plots.label_points`)."""
    from vae_design.features.descriptors import DESCRIPTOR_NAMES
    from vae_design.plots import label_points

    plt = _pyplot()
    d, h = DESCRIPTOR_NAMES.index("delta"), DESCRIPTOR_NAMES.index("dH_mix")
    known_h, known_d = known.descriptors[:, h], known.descriptors[:, d]
    ours_h, ours_d = table["dH_mix"].to_numpy(dtype=float), table["delta"].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    labels = known.label
    groups = [(np.isnan(labels), "known: unlabelled", "lightgrey")]
    for k in np.unique(labels[np.isfinite(labels)]).astype(int):
        name = classes[k] if classes is not None and k < len(classes) else f"class {k}"
        groups.append((labels == k, f"known: {name}", f"C{k}"))
    xlim, ylim = delta_enthalpy_axes(ax, known_h, known_d, groups, ours_h, ours_d)
    x, y = np.clip(ours_h, *xlim), np.clip(ours_d, *ylim)
    probability = table["probability"].to_numpy(dtype=float)
    style = {"cmap": "viridis", "vmin": 0, "vmax": 1, "edgecolors": "black", "linewidths": 0.6}
    points = ax.scatter(x, y, c=probability, s=40, zorder=3, **style)
    colour_scale_marker(ax, probability, "suggestions by rank", "o")
    fig.colorbar(points, ax=ax, label="P(target)")
    ax.set_title(f"{len(table)} suggestions, numbered in the order to make them")
    ax.legend(fontsize=7.5, markerscale=1.2, loc="upper left")
    fig.tight_layout()
    label_points(ax, x, y, [str(rank) for rank in table["rank"]])
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

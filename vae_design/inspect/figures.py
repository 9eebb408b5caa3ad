"""The inspection's figures (matplotlib, no display needed); each function returns a Figure."""

from __future__ import annotations

import warnings

import numpy as np

from vae_design.inspect import latent
from vae_design.inspect.attributions import COMPOSITION
from vae_design.inspect.head import Z90
from vae_design.plots import _pyplot, latent_coordinates


def shap_beeswarm(inspection):
    """shap's beeswarm: one dot per explained alloy and descriptor, position = SHAP value, colour = value."""
    import shap

    plt = _pyplot()
    a = inspection.attributions
    data = a.data.copy()
    if COMPOSITION in a.players:  # its "value" is a row id: no colour (grey)
        data[:, a.players.index(COMPOSITION)] = np.nan
    explanation = shap.Explanation(a.values, a.base_values, data=data, feature_names=list(a.players))
    with warnings.catch_warnings():  # shap takes quantiles of the all-NaN composition column for its colour scale
        warnings.simplefilter("ignore", RuntimeWarning)
        size = (7, 0.45 * len(a.players) + 1.5)
        shap.plots.beeswarm(explanation, max_display=len(a.players), show=False, plot_size=size)
    fig = plt.gcf()
    fig.axes[0].set_xlabel("SHAP value (change in log-odds of a single phase)")
    fig.axes[0].set_title(f"what moves the head, {len(a.values)} validation alloys", fontsize="medium")
    fig.tight_layout()
    return fig


def shap_alloys(inspection, rows: list[int], titles: list[str]):
    """Per-alloy explanations: each player's SHAP value as a horizontal bar (red raises P(single phase))."""
    plt = _pyplot()
    a = inspection.attributions
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 0.35 * len(a.players) + 1.6), squeeze=False)
    for ax, row, title in zip(axes[0], rows, titles, strict=True):
        values = a.values[row]
        colours = ["tab:red" if v > 0 else "tab:blue" for v in values]
        ax.barh(np.arange(len(values)), values, color=colours)
        ax.set_yticks(np.arange(len(values)), a.players, fontsize="small")
        ax.invert_yaxis()
        ax.axvline(0, color="grey", linewidth=0.8)
        p = 1 / (1 + np.exp(-a.outputs[row]))
        ax.set_title(f"{title}\nP(single phase) {p:.2f}", fontsize="small")
        ax.set_xlabel("SHAP value (log-odds)")
    fig.tight_layout()
    return fig


def posterior_vs_prior(inspection):
    """Each coefficient's expert prior (grey, 90 % interval) beside its posterior (colour, red where they
    disagree), in log-odds per standard deviation of the descriptor."""
    plt = _pyplot()
    table = inspection.posterior
    fig, ax = plt.subplots(figsize=(6.5, 0.4 * len(table) + 1.4))
    positions = np.arange(len(table))
    labels = table["descriptor"] if table["class"].nunique() == 1 else table["descriptor"] + " [" + table["class"] + "]"
    ax.errorbar(table["prior_mean"], positions + 0.15, xerr=Z90 * table["prior_scale"], fmt="s", color="grey",
                label="expert prior (90 %)")  # fmt: skip
    colour = np.where(table["contradicts"], "tab:red", "tab:blue")
    for y, (_, row), c in zip(positions, table.iterrows(), colour, strict=True):
        ax.errorbar(row["mean"], y - 0.15, xerr=[[row["mean"] - row["lo"]], [row["hi"] - row["mean"]]], fmt="o",
                    color=c)  # fmt: skip
    ax.errorbar([], [], xerr=[], fmt="o", color="tab:blue", label="posterior (90 %)")
    ax.errorbar([], [], xerr=[], fmt="o", color="tab:red", label="posterior contradicting the prior")
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlabel("coefficient (log-odds of single phase per std. dev. of the descriptor)")
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig


def fisher_spectra(inspection):
    """Left: eigenvalues of the Fisher information about the head's coefficients (log scale). Right: each
    descriptor's share of the Fisher information about the head's inputs."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    values = np.clip(inspection.parameter_spectrum.eigenvalues, 1e-12, None)
    left.semilogy(np.arange(1, len(values) + 1), values, "o-")
    left.set(xlabel="direction (stiffest first)", ylabel="eigenvalue", title="coefficients: stiff to sloppy")
    shares = inspection.input_spectrum.shares()
    names = list(shares)
    right.barh(np.arange(len(names)), [100 * shares[n] for n in names])
    right.set_yticks(np.arange(len(names)), names)
    right.invert_yaxis()
    right.set(xlabel="% of the input Fisher information", title="which descriptors the decision uses")
    fig.tight_layout()
    return fig


def formula_path(inspection):
    """Validation AUC of the distilled formulas against their number of terms, beside the head and the rules."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    path = inspection.formula.path
    comparison = inspection.summary["comparison"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(path["n_terms"], path["auc_val"], "o", color="tab:blue", alpha=0.6, label="formulas searched")
    best = path.groupby("n_terms")["auc_val"].max()
    ax.plot(best.index, best.values, "-", color="tab:blue")
    if "auc_test" in path:
        ax.plot(path["n_terms"], path["auc_test"], "x", color="tab:green", alpha=0.7, label="the same, test AUC")
    chosen = inspection.formula
    ax.plot([chosen.n_terms], [chosen.metrics["auc_val"]], "*", markersize=14, color="tab:red", label="chosen formula")
    styles = iter(["--", ":", "-.", (0, (1, 3)), (0, (5, 5))])
    for name, scores in comparison.items():
        if name == "formula" or scores.get("auc_val") is None:
            continue
        ax.axhline(scores["auc_val"], linestyle=next(styles, "--"), color="grey" if name != "head" else "black",
                   label=f"{name} ({scores['auc_val']:.3f})")  # fmt: skip
    ax.set(xlabel="number of terms", ylabel="validation AUC", title="explicit formula vs head and empirical rules")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # a count of terms: no 1.5 ticks
    ax.legend(fontsize="x-small", loc="lower right")
    fig.tight_layout()
    return fig


def latent_maps(inspection):
    """The latent z of labelled alloys (the target factor against the nuisance factor's first principal axis),
    coloured by label, number of elements and element family."""
    plt = _pyplot()
    coordinates, (x_label, y_label) = latent_coordinates(inspection.latent_z, inspection.target_dim)
    colours = inspection.latent_colours
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    labels = colours["label"]
    for k, name in enumerate(inspection.classes):
        members = labels == k
        if members.any():
            axes[0].scatter(*coordinates[members].T, s=6, alpha=0.6, label=f"{name} ({int(members.sum())})")
    axes[0].legend(fontsize="small", markerscale=2)
    axes[0].set_title("by measured phase")
    scatter = axes[1].scatter(*coordinates.T, s=6, alpha=0.7, c=colours["number of elements"], cmap="viridis")
    fig.colorbar(scatter, ax=axes[1], label="number of elements")
    axes[1].set_title("by number of elements")
    palette = latent.family_colours()
    families = colours["element family"]
    for name, colour in palette.items():
        members = families == name
        if members.any():
            axes[2].scatter(*coordinates[members].T, s=6, alpha=0.6, color=colour, label=f"{name} ({members.sum()})")
    axes[2].legend(fontsize="small", markerscale=2)
    axes[2].set_title("by element family (largest share)")
    for ax in axes:
        ax.set(xlabel=x_label, ylabel=y_label)
    fig.tight_layout()
    return fig


def traversal_change(traversal) -> float:
    """How much one traversal moves the decoded alloy, as a fraction (0-1): the larger of the composition's
    change (half the summed per-element range over the steps, i.e. at.% / 100 moved) and the range of
    P(single phase), the larger over the classes."""
    change = 0.0
    for name, fractions in traversal.fractions.items():
        composition = 0.5 * float((fractions.max(0) - fractions.min(0)).sum())
        probability = traversal.probability[name]
        phase = float(np.nanmax(probability) - np.nanmin(probability)) if np.isfinite(probability).any() else 0.0
        change = max(change, composition, phase)
    return change


def informative_traversals(rows: list, top: int = 8) -> list:
    """The ``top`` traversals that change the decoded alloy most (:func:`traversal_change`), most first; with 32
    latent axes a figure of every one is too small to read, and unused axes decode to the same alloy anyway."""
    return sorted(rows, key=traversal_change, reverse=True)[:top]


def axis_name(axis: int, target_dim: int = 0) -> str:
    """The name of latent axis ``axis`` (0-based, whole latent with the target factor's ``target_dim`` dimensions
    first): ``z_y2`` for the target factor's second dimension, ``z_n3`` for the nuisance factor's third; ``z4``
    for a latent without a target factor."""
    if target_dim <= 0:
        return f"z{axis + 1}"
    return f"z_y{axis + 1}" if axis < target_dim else f"z_n{axis - target_dim + 1}"


def traversals(inspection, min_fraction: float = 0.05, top: int = 8):
    """Decoded compositions (at.%) along the ``top`` z axes that change the decoded alloy most (of those
    traversed), other axes at 0, for each class. Each panel's x axis names the latent axis moved (:func:`axis_name`:
    target factor z_y or nuisance factor z_n). Fonts are at least 8 pt and the figure grows with the panels."""
    plt = _pyplot()
    traversed, classes = inspection.traversals, inspection.classes
    target_dim = getattr(inspection, "target_dim", 0)
    rows = informative_traversals(traversed, top)
    per_row = 2 if len(classes) <= 2 else 1  # axes side by side
    n_rows = max(int(np.ceil(len(rows) / per_row)), 1)
    n_cols = per_row * len(classes)
    shown = [[np.flatnonzero(t.fractions[name].max(0) >= min_fraction) for name in classes] for t in rows]
    most = max((len(s) for panels in shown for s in panels), default=1)
    height = max(2.6, 0.16 * most + 1.4)  # inches per panel: room for one 8 pt element label per row
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.8 * n_cols + 1.2, height * n_rows + 0.9), squeeze=False)
    image = None
    for ax in axes.flat[len(rows) * len(classes) :]:
        ax.axis("off")
    for r, traversal in enumerate(rows):
        for c, name in enumerate(classes):
            ax = axes.flat[r * len(classes) + c]
            fractions, elements = traversal.fractions[name], shown[r][c]
            image = ax.imshow(100 * fractions[:, elements].T, aspect="auto", cmap="magma_r", vmin=0, vmax=60)
            ax.set_yticks(np.arange(len(elements)), [inspection.elements[j] for j in elements], fontsize=8)
            ends = [0, len(traversal.steps) // 2, len(traversal.steps) - 1]  # first, middle, last step labelled
            ax.set_xticks(ends, [f"{traversal.steps[i]:+.1f}" for i in ends], fontsize=8)
            label = axis_name(traversal.axis, target_dim)
            factor = "target factor" if traversal.axis < target_dim else "nuisance factor" if target_dim else "latent"
            ax.set_xlabel(f"{label} ({factor})", fontsize=8)
            p = " ".join(f"{v:.2f}" for v in traversal.probability[name])
            ax.set_title(f"{label}, z_y at the {name} mean\nP(single): {p}", fontsize=8.5)
    names = ", ".join(axis_name(t.axis, target_dim) for t in rows)
    which = f"all {len(rows)} traversed axes" if len(rows) == len(traversed) else (
        f"the {len(rows)} of {len(traversed)} traversed axes that move the decoded alloy most")  # fmt: skip
    fig.suptitle(f"{which}, ranked by change in composition or P(single phase): {names}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.9, 1))  # the right tenth for the colour bar
    if image is not None:
        bar = fig.colorbar(image, cax=fig.add_axes((0.92, 0.3, 0.015, 0.4)))
        bar.set_label("at.%", fontsize=9)
        bar.ax.tick_params(labelsize=8)
    return fig

"""Design figures: candidates share the known alloys' latent projection; delta_vs_dH.png and suggestions.png have
a legend entry for Zhang's window and a candidate marker on the colour scale, count the known alloys beyond the
axes at the edges instead of piling them on the border, and keep every rank label of suggestions.png legible."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from vae_design.design.plots import plot_candidates_latent, plot_delta_enthalpy, plot_suggestions
from vae_design.features.descriptors import DESCRIPTOR_NAMES
from vae_design.plots import _pyplot

H, D = DESCRIPTOR_NAMES.index("dH_mix"), DESCRIPTOR_NAMES.index("delta")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    _pyplot().close("all")


@pytest.mark.parametrize("z_dim", [1, 2, 5])
def test_candidates_share_the_known_alloys_projection(z_dim):
    rng = np.random.default_rng(0)
    known = rng.normal(size=(40, z_dim))
    fig = plot_candidates_latent(known, rng.integers(0, 2, 40), known[:3], ["multi-phase", "single phase"], "t")
    points = [collection.get_offsets() for collection in fig.axes[0].collections]
    # the candidates are copies of three known alloys, so they land exactly on those known points
    known_points = np.vstack(points[:-1])
    assert all(np.isclose(known_points, row).all(1).any() for row in points[-1])


def _known(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    descriptors = np.zeros((n, len(DESCRIPTOR_NAMES)))
    descriptors[:, H] = rng.uniform(-25, 10, n)
    descriptors[:, D] = rng.uniform(1, 9, n)
    descriptors[:5, H] = [-140, -120, 90, 130, 110]  # beyond the 1-99 % range: two left, three right
    return descriptors, (np.arange(n) % 2).astype(float)


def _legend(ax) -> dict:
    legend = ax.get_legend()
    return {t.get_text(): handle for t, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)}


def test_delta_vs_dH_legend_names_zhangs_window_and_colours_candidates_on_the_scale():
    descriptors, labels = _known()
    probability = np.array([0.9, 0.95, 0.85, 0.2, 0.92])
    table = pd.DataFrame({"dH_mix": [-5, -3, 0, 2, -8], "delta": [3, 4, 2, 5, 3.5], "probability": probability})
    fig = plot_delta_enthalpy(descriptors, labels, table, ("multi", "single"))
    ax = fig.axes[0]
    legend = _legend(ax)
    assert any(text.startswith("Zhang's window") for text in legend)
    (name,) = [text for text in legend if text.startswith("candidates")]
    face = matplotlib.colors.to_rgba(legend[name].get_markerfacecolor())
    assert np.allclose(face, matplotlib.colormaps["viridis"](np.median(probability)))
    assert "5 known alloys beyond the axes (counted at each edge)" in legend
    assert sorted(t.get_text() for t in ax.texts) == ["3 \u2192", "\u2190 2"]
    # no known alloy is drawn on the border
    x0, x1 = ax.get_xlim()
    for collection in ax.collections[:2]:
        offsets = np.asarray(collection.get_offsets())
        assert ((offsets[:, 0] > x0) & (offsets[:, 0] < x1)).all()


def test_suggestion_ranks_stay_legible_in_a_crowded_region():
    descriptors, labels = _known()
    known = SimpleNamespace(label=np.r_[labels[:-50], np.full(50, np.nan)], descriptors=descriptors)
    rng = np.random.default_rng(1)
    n = 12  # twelve suggestions within a fraction of a kJ/mol and a percent of each other
    table = pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "dH_mix": -2 + 0.3 * rng.random(n),
            "delta": 3 + 0.2 * rng.random(n),
            "probability": rng.uniform(0.5, 1, n),
        }
    )
    fig = plot_suggestions(table, known, ("multi", "single"))
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ranks = [t for t in ax.texts if t.get_text().isdigit()]
    assert sorted(int(t.get_text()) for t in ranks) == list(range(1, n + 1))
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in ranks]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    frame = ax.get_window_extent(renderer)
    assert all(frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1) for box in boxes)
    # each label points at its own suggestion
    for t in ranks:
        row = table[table["rank"] == int(t.get_text())].iloc[0]
        assert np.allclose(t.xy, (row["dH_mix"], row["delta"]))
    assert any(text.startswith("Zhang's window") for text in _legend(ax))

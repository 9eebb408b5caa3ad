"""The figures a reader looks at first: delta_vs_dH.png shows the candidates and Zhang's window despite outliers,
formula.png counts terms in whole numbers, traversals.png stays legible with 32 latent axes and names the factor
of each axis it moves."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vae_design.design.plots import plot_delta_enthalpy
from vae_design.features.descriptors import DESCRIPTOR_NAMES
from vae_design.inspect import figures
from vae_design.inspect.latent import Traversal
from vae_design.plots import _pyplot


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    _pyplot().close("all")


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]


def test_delta_vs_dH_clips_outliers_to_the_border_and_keeps_zhangs_window(tmp_path):
    rng = np.random.default_rng(0)
    known = np.zeros((500, len(DESCRIPTOR_NAMES)))
    h, d = DESCRIPTOR_NAMES.index("dH_mix"), DESCRIPTOR_NAMES.index("delta")
    known[:, h] = rng.uniform(-25, 10, len(known))
    known[:, d] = rng.uniform(1, 9, len(known))
    known[:3, h] = [130.0, 95.0, 120.0]  # the outliers that squeezed everything else into a corner
    known[3, d] = 40.0
    labels = np.arange(len(known)) % 2
    table = pd.DataFrame({"dH_mix": rng.uniform(-10, 0, 40), "delta": rng.uniform(2, 6, 40), "probability": 0.7})
    fig = plot_delta_enthalpy(known, labels, table, ("multi", "single"))
    fig.savefig(tmp_path / "delta_vs_dH.png", dpi=60)
    assert (tmp_path / "delta_vs_dH.png").stat().st_size > 0
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 <= -15 and x1 >= 5 and y0 <= 0 and y1 >= 6.6  # Zhang's window inside
    assert x1 < 20 and y1 < 15  # the 1-99 % range, padded, not the outliers
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "4 known alloys beyond the axes (counted at each edge)" in legend
    # each edge says how many known alloys lie beyond it: three to the right, one above
    edges = sorted(t.get_text() for t in ax.texts)
    assert edges == ["3 \u2192", "\u2191 1"], edges
    # every drawn point lies within the axes (outliers clipped to the border, not beyond it)
    for collection in ax.collections:
        offsets = np.asarray(collection.get_offsets())
        if len(offsets):
            assert (offsets[:, 0] >= x0).all() and (offsets[:, 0] <= x1).all()
            assert (offsets[:, 1] >= y0).all() and (offsets[:, 1] <= y1).all()


def test_formula_plot_counts_terms_in_whole_numbers():
    path = pd.DataFrame({"n_terms": [1, 2, 3, 3], "auc_val": [0.70, 0.78, 0.80, 0.79]})
    formula = SimpleNamespace(path=path, n_terms=2, metrics={"auc_val": 0.78})
    inspection = SimpleNamespace(formula=formula, summary={"comparison": {"head": {"auc_val": 0.82}}})
    fig = figures.formula_path(inspection)
    ax = fig.axes[0]
    ax.figure.canvas.draw()
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def _traversals(n_axes: int, n_elements: int, classes) -> list[Traversal]:
    """Axis a moves the decoded alloy by about a / n_axes (total variation), so the last axes matter most."""
    steps = np.linspace(-2.5, 2.5, 7)
    rows = []
    for axis in range(n_axes):
        t = np.linspace(0, 1, len(steps))[:, None]
        base = np.full((len(steps), n_elements), 1 / n_elements)
        shift = 0.8 * axis / n_axes / n_elements
        fractions = base + shift * (t - 0.5) * np.where(np.arange(n_elements) % 2, 1, -1)
        probability = np.full(len(steps), 0.6)
        rows.append(Traversal(axis, steps, dict.fromkeys(classes, fractions), dict.fromkeys(classes, probability)))
    return rows


def test_traversals_show_the_most_informative_axes_legibly():
    classes = ("multi", "single")
    elements = tuple(f"E{i}" for i in range(10))
    inspection = SimpleNamespace(traversals=_traversals(32, len(elements), classes), classes=classes, elements=elements)
    fig = figures.traversals(inspection)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 8 * len(classes)
    titles = " ".join(ax.get_title() for ax in panels)
    assert {f"z{a + 1}," for a in range(24, 32)} <= set(titles.split())  # the eight largest changes
    assert "z1," not in titles.split()
    assert "8 of 32" in fig._suptitle.get_text()
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 8]
    assert not small, small
    width, height = fig.get_size_inches()
    assert height < 16 and width < 20  # sized to the panels shown, not to 32 axes


def test_traversals_keep_every_axis_when_few_are_traversed():
    classes = ("multi", "single")
    elements = ("Co", "Cr", "Fe", "Ni")
    inspection = SimpleNamespace(traversals=_traversals(2, len(elements), classes), classes=classes, elements=elements)
    fig = figures.traversals(inspection)
    assert len([ax for ax in fig.axes if ax.images]) == 2 * len(classes)
    assert "all 2 traversed axes" in fig._suptitle.get_text()


def test_traversal_panels_name_the_factor_of_the_axis_they_move():
    classes = ("multi", "single")
    elements = tuple(f"E{i}" for i in range(6))
    rows = _traversals(6, len(elements), classes)
    inspection = SimpleNamespace(traversals=rows, classes=classes, elements=elements, target_dim=2)
    fig = figures.traversals(inspection)
    labels = [ax.get_xlabel() for ax in fig.axes if ax.images]
    expected = ["z_n4", "z_n3", "z_n2", "z_n1", "z_y2", "z_y1"]  # axes 5..0, most change first
    assert [label.split()[0] for label in labels] == [name for name in expected for _ in classes]
    assert all("nuisance factor" in label for label in labels if label.startswith("z_n"))
    assert all("target factor" in label for label in labels if label.startswith("z_y"))
    assert "z_n4, z_n3" in fig._suptitle.get_text()

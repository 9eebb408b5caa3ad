"""reconstruction.png shows high-entropy alloys: held-out alloys of 4+ elements, their class in the title, and the
title's elements in the title's order on the x axis (decoder-only elements after them)."""

import numpy as np
import pytest

from vae_design.plots import _pyplot, plot_reconstructions, reconstruction_examples


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    _pyplot().close("all")


def test_reconstruction_examples_are_alloys_of_four_or_more_elements():
    counts = np.array([2, 5, 2, 4, 3, 6, 2, 5, 4, 2, 7, 4, 2])
    index = reconstruction_examples(counts, n=6)
    assert len(index) == 6 and len(set(index.tolist())) == 6
    assert (counts[index] >= 4).all()


def test_reconstruction_examples_top_up_with_the_largest_when_few_are_rich():
    counts = np.array([2, 5, 2, 3, 2, 4])
    index = reconstruction_examples(counts, n=4)
    assert sorted(counts[index].tolist()) == [2, 3, 4, 5]


def test_reconstruction_panels_name_the_class_and_follow_the_titles_element_order():
    # the vocabulary is in atomic-number order; titles (canonical formulas) are alphabetical
    elements = ("Al", "Ti", "Cr", "Fe", "Co", "Ni", "Mo")
    true = np.array([[0.2, 0, 0.2, 0.2, 0.2, 0.2, 0], [0.25, 0.25, 0, 0, 0.25, 0, 0.25]])
    decoded = np.array([[0.18, 0, 0.22, 0.2, 0.2, 0.1, 0.1], [0.25, 0.25, 0, 0.05, 0.25, 0, 0.2]])
    names = ["Al20Co20Cr20Fe20Ni20", "Al25Co25Mo25Ti25"]
    fig = plot_reconstructions(true, decoded, elements, names, ["single phase", "multi-phase"])
    first, second = fig.axes[0], fig.axes[1]
    assert first.get_title() == "Al20Co20Cr20Fe20Ni20 (single phase)"
    assert second.get_title() == "Al25Co25Mo25Ti25 (multi-phase)"
    assert [t.get_text() for t in first.get_xticklabels()] == ["Al", "Co", "Cr", "Fe", "Ni", "Mo"]
    assert [t.get_text() for t in second.get_xticklabels()] == ["Al", "Co", "Mo", "Ti", "Fe"]

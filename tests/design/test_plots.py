"""Candidates on the latent map: one projection (fitted on the known alloys) for any latent size."""

import numpy as np
import pytest

from vae_design.design.plots import plot_candidates_latent


@pytest.mark.parametrize("z_dim", [1, 2, 5])
def test_candidates_share_the_known_alloys_projection(z_dim):
    rng = np.random.default_rng(0)
    known = rng.normal(size=(40, z_dim))
    fig = plot_candidates_latent(known, rng.integers(0, 2, 40), known[:3], ["multi-phase", "single phase"], "t")
    points = [collection.get_offsets() for collection in fig.axes[0].collections]
    # the candidates are copies of three known alloys, so they land exactly on those known points
    known_points = np.vstack(points[:-1])
    assert all(np.isclose(known_points, row).all(1).any() for row in points[-1])

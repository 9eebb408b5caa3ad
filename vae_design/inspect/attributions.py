"""Feature attributions of the head with the ``shap`` library (exact Shapley values).

The explained output is the head's log-odds of a single phase (natural log, posterior-mean coefficients), so
attributions add up: for each alloy, base value + sum of its SHAP values = its log-odds, where the base value is
the mean log-odds over the background alloys (training alloys). Players are the head's descriptors (standardised,
as the head sees them) and, when the head reads the composition (its network h, or the Gaussian process's
composition term), one more player ``composition``: what the composition tells the head beyond the descriptors.
Masked players take the values of background alloys (interventional SHAP, shap's ``Independent`` masker); with at
most ~12 players the Shapley values are exact (``shap.explainers.Exact``), not sampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vae_design.inspect.head import HeadView

COMPOSITION = "composition"


@dataclass
class Attributions:
    """SHAP values (N, P) of the explained alloys over ``players``, with base values (N,) and model outputs (N,)."""

    players: tuple[str, ...]
    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray
    data: np.ndarray  # the players' values per alloy (standardised descriptors; the composition column is an id)

    def mean_abs(self) -> dict[str, float]:
        return {p: float(np.abs(self.values[:, j]).mean()) for j, p in enumerate(self.players)}

    def direction(self) -> dict[str, float]:
        """Correlation between a descriptor's value and its SHAP value: +1 higher favours single phase, -1 the
        opposite (NaN for the composition player or a constant descriptor)."""
        result = {}
        for j, player in enumerate(self.players):
            values, data = self.values[:, j], self.data[:, j]
            if player == COMPOSITION or values.std() < 1e-12 or data.std() < 1e-12:
                result[player] = float("nan")
            else:
                result[player] = float(np.corrcoef(data, values)[0, 1])
        return result


def explain_head(view: HeadView, x_explain: torch.Tensor, x_background: torch.Tensor) -> Attributions:
    """Exact SHAP values of the single-phase log-odds for compositions ``x_explain`` against ``x_background``."""
    import shap

    head = view.vae.head
    # the composition is a player where the head reads it beyond the descriptors: h's input or g's composition term
    with_composition = (head.embedding is not None and head.embedding.sees_composition) or (
        head.process is not None and head.process.n_elements > 0
    )
    players = (*view.descriptors, COMPOSITION) if with_composition else tuple(view.descriptors)
    x_all = torch.cat([x_background, x_explain]).float()
    features = view.features(x_all)
    table = features.numpy().astype(np.float64)
    if with_composition:
        # the composition player is the row id of an alloy whose composition the head's network sees
        table = np.column_stack([table, np.arange(len(x_all), dtype=np.float64)])
    n_background = len(x_background)
    descriptors = len(view.descriptors)

    @torch.no_grad()
    def log_odds(rows: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(rows)
        out = np.empty(len(rows))
        for start in range(0, len(rows), 65536):
            chunk = rows[start : start + 65536]
            f = torch.as_tensor(chunk[:, :descriptors], dtype=torch.float32)
            x = x_all[torch.as_tensor(chunk[:, descriptors], dtype=torch.long)] if with_composition else x_all[:1]
            out[start : start + len(chunk)] = view.log_odds(x.expand(len(f), -1), f).numpy()
        return out

    masker = shap.maskers.Independent(table[:n_background], max_samples=n_background)
    explainer = shap.explainers.Exact(log_odds, masker, feature_names=list(players))
    explanation = explainer(table[n_background:], silent=True)
    return Attributions(
        players,
        np.asarray(explanation.values, dtype=float),
        np.asarray(explanation.base_values, dtype=float).reshape(-1),
        log_odds(table[n_background:]),
        table[n_background:],
    )

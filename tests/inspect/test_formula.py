"""The formula search recovers a planted formula from synthetic labels, and prints what it scores."""

import numpy as np
import pandas as pd
import pytest

from vae_design.inspect.formula import distil_formula


def _alloys(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Random descriptor values in realistic ranges and the planted log-odds 3 - 0.8 delta + 0.02 delta dH_mix."""
    frame = pd.DataFrame(
        {
            "k": rng.normal(150, 30, n),
            "vm": rng.normal(8, 1, n),
            "tm": rng.normal(1800, 300, n),
            "vec": rng.uniform(4, 10, n),
            "delta": rng.uniform(0.5, 10, n),
            "dchi": rng.uniform(0.05, 0.3, n),
            "dS_mix": rng.uniform(8, 15, n),
            "dH_mix": rng.uniform(-30, 5, n),
            "omega": np.exp(rng.uniform(-1, 4, n)),
        }
    )
    log_odds = 3 - 0.8 * frame["delta"] + 0.02 * frame["delta"] * frame["dH_mix"]
    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return frame, labels


def test_formula_search_recovers_a_planted_formula():
    rng = np.random.default_rng(0)
    fit, val, test = _alloys(rng, 1500), _alloys(rng, 500), _alloys(rng, 400)
    formula = distil_formula(*fit, val, test, n_penalties=8, n_bootstrap=3, tolerance=0.005)
    assert sorted(formula.terms) == ["delta", "delta*dH_mix"]
    assert min(formula.selection_frequency[t] for t in formula.terms) >= 0.5  # stable under resampling
    coefficients = formula.expression.as_coefficients_dict()
    by_name = {str(term): float(value) for term, value in coefficients.items()}
    assert by_name["delta"] == pytest.approx(-0.8, abs=0.2)
    assert by_name["dH_mix*delta"] == pytest.approx(0.02, abs=0.008)
    # the reported figures are those of the printed (rounded) expression
    from sklearn.metrics import roc_auc_score

    assert formula.metrics["auc_test"] == pytest.approx(roc_auc_score(test[1], formula.log_odds(test[0])))
    assert formula.metrics["auc_test"] > 0.85 and r"\delta" in formula.latex

"""Distil the head into an explicit, sparse logistic formula over descriptors, their products and ratios.

Candidate terms, from the raw descriptors (units as in ``vae-design featurize``; omega enters as ln(1 + omega),
as in the head, but without the head's cap at 1e4, so that the printed expression is exactly what was fitted):
every descriptor, every product of two (squares included) and every ratio of two descriptors
that are positive on all fitting alloys. Terms are standardised on the fitting alloys, so one L1 penalty treats
them alike. The search:

1. an L1 (lasso) logistic path over a grid of penalties, fitted to the *head's* probabilities on the fitting
   alloys (soft targets: each alloy counted as single phase with weight p and as multi-phase with weight 1 - p);
2. at each point the selected terms are refitted without the sparsity penalty (a tiny ridge keeps it finite), so
   coefficients are not shrunk;
3. backward elimination from the largest support on the path (drop the term whose loss raises the fitting
   deviance least, refit, repeat): the lasso alone keeps correlated stand-ins (vm/delta for 1/delta) that a
   refit does without, which a planted-formula test showed;
4. the formula kept is the sparsest of all these supports whose validation AUC is within ``tolerance`` of the
   best (model selection on validation labels only, never test);
5. the backward elimination repeated on bootstrap resamples of the fitting alloys gives each term's selection
   frequency (how often it is among the chosen number of terms).

The result is a sympy expression for the log-odds of a single phase in raw descriptor units, its LaTeX, and its
accuracy and AUC on validation and test, computed from the printed (rounded) expression itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sympy

# Shown in LaTeX as a metallurgist writes them.
LATEX_NAMES = {
    "k": "K",
    "vm": "V_m",
    "tm": "T_m",
    "vec": r"\mathrm{VEC}",
    "delta": r"\delta",
    "dchi": r"\Delta\chi",
    "dS_mix": r"\Delta S_{\mathrm{mix}}",
    "dH_mix": r"\Delta H_{\mathrm{mix}}",
    "omega": r"\Omega",
}


@dataclass
class Formula:
    """A distilled formula: ``expression`` (sympy, log-odds of a single phase in raw descriptor units)."""

    expression: sympy.Expr
    terms: list[str]
    coefficients: dict[str, float]  # per term, on standardised terms (comparable sizes)
    selection_frequency: dict[str, float]  # bootstrap frequency of every term ever selected
    path: pd.DataFrame  # one row per support searched: n_terms, terms, origin, deviance, auc_val, accuracy_val,
    # and auc_test, accuracy_test when test alloys were given (never used to choose)
    metrics: dict[str, float] = field(default_factory=dict)  # auc_val, accuracy_val, auc_test, accuracy_test

    @property
    def n_terms(self) -> int:
        return len(self.terms)

    @property
    def latex(self) -> str:
        symbols = {sympy.Symbol(name): sympy.Symbol(tex) for name, tex in LATEX_NAMES.items()}
        return sympy.latex(self.expression.xreplace(symbols))

    def log_odds(self, descriptors: pd.DataFrame) -> np.ndarray:
        """The formula evaluated on raw descriptors (a frame with one column per descriptor)."""
        names = sorted(str(s) for s in self.expression.free_symbols)
        function = sympy.lambdify([sympy.Symbol(n) for n in names], self.expression, "numpy")
        values = function(*(descriptors[n].to_numpy(dtype=float) for n in names))
        return np.broadcast_to(np.asarray(values, dtype=float), (len(descriptors),)).copy()


def _symbol(name: str) -> sympy.Expr:
    symbol = sympy.Symbol(name)
    return sympy.log(1 + symbol) if name == "omega" else symbol


def candidate_terms(descriptors: pd.DataFrame, ratios: bool = True) -> dict[str, tuple[sympy.Expr, np.ndarray]]:
    """name -> (sympy expression in raw descriptors, its values on ``descriptors``)."""
    columns = list(descriptors.columns)
    values = {
        name: np.log1p(np.clip(descriptors[name].to_numpy(float), 0, None))
        if name == "omega"
        else descriptors[name].to_numpy(float)
        for name in columns
    }
    terms = {name: (_symbol(name), values[name]) for name in columns}
    for i, a in enumerate(columns):
        for b in columns[i:]:
            terms[f"{a}*{b}"] = (_symbol(a) * _symbol(b), values[a] * values[b])
    if ratios:
        positive = [name for name in columns if (values[name] > 0).all()]
        for i, a in enumerate(positive):
            for b in positive[i + 1 :]:
                terms[f"{a}/{b}"] = (_symbol(a) / _symbol(b), values[a] / values[b])
    return terms


def _soft_fit(design: np.ndarray, target: np.ndarray, c: float):
    """L1-penalised logistic regression on soft targets (each row counted as 1 with weight p, as 0 with 1 - p)."""
    from sklearn.linear_model import LogisticRegression

    n = len(design)
    target = np.clip(np.asarray(target, float), 0, 1)
    stacked = np.vstack([design, design])
    labels = np.r_[np.ones(n), np.zeros(n)]
    model = LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear", max_iter=2000, random_state=0)
    return model.fit(stacked, labels, sample_weight=np.r_[target, 1 - target])


@dataclass
class _Refit:
    """A logistic model refitted on a few terms by Newton's method, with a tiny ridge so that it stays finite."""

    intercept_: np.ndarray
    coef_: np.ndarray

    @classmethod
    def fit(cls, design: np.ndarray, target: np.ndarray, ridge: float = 1e-4, steps: int = 50) -> _Refit:
        augmented = np.column_stack([np.ones(len(design)), design])
        beta = np.zeros(augmented.shape[1])
        penalty = ridge * len(design) * np.eye(len(beta))
        penalty[0, 0] = 0.0
        for _ in range(steps):
            p = 1 / (1 + np.exp(-np.clip(augmented @ beta, -35, 35)))
            gradient = augmented.T @ (p - target) + penalty @ beta
            hessian = augmented.T @ (augmented * (p * (1 - p))[:, None]) + penalty
            step = np.linalg.solve(hessian + 1e-10 * np.eye(len(beta)), gradient)
            beta -= step
            if np.abs(step).max() < 1e-10:
                break
        return cls(np.array([beta[0]]), beta[None, 1:])

    def decision_function(self, design: np.ndarray) -> np.ndarray:
        return self.intercept_[0] + design @ self.coef_[0]


def _scores(y: np.ndarray, log_odds: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=int)
    if len(y) == 0:
        return float("nan"), float("nan")
    accuracy = float(((log_odds > 0).astype(int) == y).mean())
    auc = float(roc_auc_score(y, log_odds)) if len(np.unique(y)) > 1 else float("nan")
    return auc, accuracy


def _deviance(model, design: np.ndarray, target: np.ndarray) -> float:
    """Mean cross-entropy of soft targets under a fitted logistic model."""
    log_odds = model.decision_function(design)
    return float(np.mean(np.logaddexp(0, log_odds) - target * log_odds))


def _backward(design: np.ndarray, target: np.ndarray, start: Sequence[int]) -> list[tuple[int, ...]]:
    """Nested supports from ``start`` down to one term, each dropping the term whose removal raises the fitting
    deviance least (refitted at each step)."""
    support, sequence = tuple(start), [tuple(start)]
    while len(support) > 1:
        costs = []
        for drop in support:
            rest = tuple(i for i in support if i != drop)
            costs.append((_deviance(_Refit.fit(design[:, rest], target), design[:, rest], target), rest))
        support = min(costs)[1]
        sequence.append(support)
    return sequence


def distil_formula(
    fit_descriptors: pd.DataFrame,
    fit_target: np.ndarray,
    val: tuple[pd.DataFrame, np.ndarray],
    test: tuple[pd.DataFrame, np.ndarray] | None = None,
    n_penalties: int = 20,
    max_terms: int = 8,
    tolerance: float = 0.01,
    n_bootstrap: int = 20,
    ratios: bool = True,
    seed: int = 0,
    digits: int = 3,
) -> Formula:
    """Search a sparse logistic formula for ``fit_target`` (probabilities or 0/1 labels on the fitting alloys)
    over raw descriptors ``fit_descriptors``; choose it on ``val`` (descriptors, 0/1 labels), report on ``test``."""
    candidates = candidate_terms(fit_descriptors, ratios)
    names = list(candidates)
    raw = np.column_stack([candidates[n][1] for n in names])
    finite = np.isfinite(raw).all(0) & (raw.std(0) > 1e-12)
    names, raw = [n for n, ok in zip(names, finite, strict=True) if ok], raw[:, finite]
    centre, spread = raw.mean(0), raw.std(0)
    design = (raw - centre) / spread

    def standardised(frame: pd.DataFrame) -> np.ndarray:
        values = candidate_terms(frame, ratios)
        return (np.column_stack([values[n][1] for n in names]) - centre) / spread

    x_val, y_val = standardised(val[0]), np.asarray(val[1], dtype=int)
    x_test, y_test = (None, None) if test is None else (standardised(test[0]), np.asarray(test[1], dtype=int))
    fit_target = np.clip(np.asarray(fit_target, dtype=float), 0, 1)
    lasso = []
    for c in np.logspace(-3.5, 0.5, n_penalties):
        support = tuple(np.flatnonzero(np.abs(_soft_fit(design, fit_target, c).coef_[0]) > 1e-8))
        if support and len(support) <= max_terms and support not in lasso:
            lasso.append(support)
    if not lasso:
        raise ValueError("the L1 path selected no term; is the target constant?")
    start = max(lasso, key=len)
    rows, supports = [], {}
    for origin, candidates_ in (("lasso", lasso), ("backward", _backward(design, fit_target, start))):
        for support in candidates_:
            if support in supports:
                continue
            refit = _Refit.fit(design[:, support], fit_target)
            auc, accuracy = _scores(y_val, refit.decision_function(x_val[:, support]))
            supports[support] = refit
            rows.append({"n_terms": len(support), "terms": [names[i] for i in support], "origin": origin,
                         "deviance": _deviance(refit, design[:, support], fit_target),
                         "auc_val": auc, "accuracy_val": accuracy})  # fmt: skip
            if x_test is not None:  # reported beside, never used to choose
                auc, accuracy = _scores(y_test, refit.decision_function(x_test[:, support]))
                rows[-1].update({"auc_test": auc, "accuracy_test": accuracy})
    path = pd.DataFrame(rows).sort_values(["n_terms", "deviance"], ignore_index=True)
    best = np.nanmax(path["auc_val"]) if path["auc_val"].notna().any() else np.nan
    eligible = path[path["auc_val"] >= best - tolerance] if np.isfinite(best) else path
    chosen = eligible.sort_values(["n_terms", "deviance"]).iloc[0]
    support = next(s for s in supports if [names[i] for i in s] == chosen["terms"])
    refit = supports[support]

    rng = np.random.default_rng(seed)
    counts = np.zeros(len(names))
    for _ in range(n_bootstrap):
        sample = rng.integers(0, len(design), len(design))
        nested = _backward(design[sample], fit_target[sample], start)
        counts[list(next(s for s in nested if len(s) == len(support)))] += 1
    frequency = {names[i]: float(counts[i] / max(n_bootstrap, 1)) for i in np.flatnonzero(counts)}

    # log-odds = b + sum_k a_k (t_k - centre_k) / spread_k, in raw units, rounded for print
    coefficients = refit.coef_[0]
    expression = sympy.Float(refit.intercept_[0])
    for a, i in zip(coefficients, support, strict=True):
        expression += sympy.Float(a / spread[i]) * (candidates[names[i]][0] - sympy.Float(centre[i]))
    expression = sympy.expand(expression)
    rounded = {n: sympy.Float(float(f"{float(n):.{digits}g}")) for n in expression.atoms(sympy.Float)}
    expression = expression.xreplace(rounded)
    formula = Formula(
        expression,
        [names[i] for i in support],
        {names[i]: float(a) for a, i in zip(coefficients, support, strict=True)},
        frequency,
        path,
    )
    auc_val, accuracy_val = _scores(y_val, formula.log_odds(val[0]))
    formula.metrics = {"auc_val": auc_val, "accuracy_val": accuracy_val}
    if test is not None:
        auc_test, accuracy_test = _scores(test[1], formula.log_odds(test[0]))
        formula.metrics.update({"auc_test": auc_test, "accuracy_test": accuracy_test})
    return formula

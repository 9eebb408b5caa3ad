"""An independent judge of designed alloys: a random forest that shares nothing with the generator but the labels.

Features are its own: element fractions over the elements of its training alloys, plus composition-weighted mean
and standard deviation of pymatgen's element properties (atomic number, atomic mass, empirical atomic radius,
Pauling electronegativity, group, row, melting point), the number of elements and the largest fraction. None of
vae-design's descriptor tables, scalers or networks is used, so agreement between the oracle and the generator's
head is evidence, not an echo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np

PROPERTIES = ("Z", "atomic_mass", "atomic_radius", "X", "group", "row", "melting_point")


@cache
def _element_properties(symbol: str) -> np.ndarray:
    from pymatgen.core.periodic_table import Element

    element = Element(symbol)
    values = []
    for name in PROPERTIES:
        value = getattr(element, name, None)
        try:
            values.append(float(value))
        except (TypeError, ValueError):
            values.append(np.nan)
    return np.asarray(values)


class PhaseOracle:
    """``fit(compositions, labels)``; ``predict_proba(compositions)`` -> P(single phase) (N,)."""

    def __init__(self, n_estimators: int = 300, seed: int = 0) -> None:
        self.n_estimators, self.seed = n_estimators, seed
        self.elements: tuple[str, ...] = ()
        self.forest = None

    def features(self, compositions: Sequence[Mapping[str, float]]) -> np.ndarray:
        position = {e: j for j, e in enumerate(self.elements)}
        fractions = np.zeros((len(compositions), len(self.elements)))
        stats = np.zeros((len(compositions), 2 * len(PROPERTIES) + 2))
        for row, composition in enumerate(compositions):
            symbols = list(composition)
            c = np.array([composition[s] for s in symbols], dtype=float)
            c = c / c.sum()
            for s, value in zip(symbols, c, strict=True):
                if s in position:
                    fractions[row, position[s]] = value
            table = np.vstack([_element_properties(s) for s in symbols])
            table = np.where(np.isnan(table), np.nanmean(table, axis=0, keepdims=True), table)
            mean = c @ table
            std = np.sqrt(np.maximum(c @ (table - mean) ** 2, 0.0))
            stats[row] = np.concatenate([mean, std, [len(symbols), c.max()]])
        return np.nan_to_num(np.hstack([fractions, stats]))

    def fit(self, compositions: Sequence[Mapping[str, float]], labels: Sequence[int]) -> PhaseOracle:
        from sklearn.ensemble import RandomForestClassifier

        self.elements = tuple(sorted({e for c in compositions for e in c}))
        self.forest = RandomForestClassifier(n_estimators=self.n_estimators, random_state=self.seed, n_jobs=1)
        self.forest.fit(self.features(compositions), np.asarray(labels, dtype=int))
        return self

    def predict_proba(self, compositions: Sequence[Mapping[str, float]]) -> np.ndarray:
        if not len(compositions):
            return np.zeros(0)
        return self.forest.predict_proba(self.features(compositions))[:, 1]

"""The hea-bench model protocol shared by vae-design and its peers: ``fit(compositions, labels)`` with hea-bench's
label strings, ``predict(compositions)`` returning label strings, plus ``predict_proba`` for AUC.

hea-bench (``hea_bench.benchmark.evaluate``) refits a model from scratch on each fold's training rows and calls
``predict`` on the test rows; compositions are mole-fraction dicts. A row a model cannot featurize (an element
without descriptor data, or outside the model's element vocabulary) gets the training majority class instead of an
exception, and is counted in ``n_fallback``, so a benchmark run never dies on one odd alloy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# hea-bench's single_vs_multi classes; vae-design's single_phase target has 1 = single phase, 0 = multi-phase.
SINGLE, MULTI = "single-phase", "multi-phase"
CLASSES = (MULTI, SINGLE)


def encode_labels(labels: Sequence[str]) -> np.ndarray:
    """hea-bench label strings -> 0 / 1 (1 = single phase); anything else is an error naming it."""
    unknown = sorted({str(label) for label in labels} - set(CLASSES))
    if unknown:
        raise ValueError(f"labels must be {SINGLE!r} or {MULTI!r} (task single_vs_multi), got {unknown[:3]}")
    return np.array([CLASSES.index(str(label)) for label in labels], dtype=int)


def decode_labels(y: np.ndarray) -> list[str]:
    return [CLASSES[int(value)] for value in y]


class PhaseClassifier:
    """Base of the benchmark adapters: label mapping, majority fallback, fresh state on every ``fit``.

    Subclasses implement ``_fit(compositions, y)`` and ``_proba(compositions) -> (p_single, ok)`` where ``ok``
    marks rows the model could score (``p_single`` is ignored elsewhere).
    """

    name = "phase-classifier"

    def __init__(self) -> None:
        self.majority: int | None = None
        self.n_fallback = 0  # test rows answered with the majority class, summed over predict calls since fit
        self.last_proba: np.ndarray | None = None  # what the last predict saw, for scores (AUC) beside its labels

    def fit(self, compositions: Sequence[Mapping[str, float]], labels: Sequence[str]) -> PhaseClassifier:
        y = encode_labels(labels)
        if len(y) != len(compositions):
            raise ValueError(f"{len(compositions)} compositions but {len(y)} labels")
        # Ties go to multi-phase, the conservative answer for a screening question.
        self.majority = int(np.bincount(y, minlength=2).argmax())
        self.n_fallback = 0
        self._fit([dict(c) for c in compositions], y)
        return self

    def predict_proba(self, compositions: Sequence[Mapping[str, float]]) -> np.ndarray:
        """(N, 2) probabilities in ``CLASSES`` order (multi-phase, single-phase)."""
        if self.majority is None:
            raise RuntimeError(f"{self.name}: predict called before fit")
        compositions = [dict(c) for c in compositions]
        p_single, ok = self._proba(compositions) if compositions else (np.zeros(0), np.zeros(0, dtype=bool))
        p_single = np.where(ok, p_single, float(self.majority))
        self.n_fallback += int((~ok).sum())
        self.last_proba = np.column_stack([1.0 - p_single, p_single])
        return self.last_proba

    def predict(self, compositions: Sequence[Mapping[str, float]]) -> list[str]:
        proba = self.predict_proba(compositions)
        return decode_labels((proba[:, 1] > 0.5).astype(int)) if len(proba) else []

    def _fit(self, compositions: list[dict], y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _proba(self, compositions: list[dict]) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

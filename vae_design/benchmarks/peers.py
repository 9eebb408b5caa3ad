"""Peer classifiers on the same inputs as vae-design: element fractions plus the nine physics descriptors.

Fractions use the element vocabulary of the training compositions (an element a test alloy has but no training
alloy had has no column; its effect still reaches the model through the descriptors, which are computed on the
whole composition). Hyper-parameters are fixed, not tuned, so no test data can steer them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from vae_design.benchmarks.protocol import PhaseClassifier
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.features.descriptors import DESCRIPTOR_NAMES, Descriptors

PEERS = {
    "random-forest": "RandomForestClassifier(n_estimators=500)",
    "gradient-boosting": "HistGradientBoostingClassifier()",
    "logistic-regression": "StandardScaler + LogisticRegression(C=1, max_iter=5000)",
    # the supervised twin of the VAE's head: a network on the same inputs, trained on the labels alone
    "mlp": "StandardScaler + MLPClassifier((128, 128), alpha=1e-3, early_stopping on 10 % of the train part)",
}


def _described(fractions: torch.Tensor, module: Descriptors) -> tuple[np.ndarray, np.ndarray]:
    """(N, 9) descriptors of mole fractions (N, E) over ``module``'s elements (float64) and the bool (N,) of rows
    the tables support (others NaN)."""
    values = np.full((len(fractions), len(DESCRIPTOR_NAMES)), np.nan)
    ok = ~module.unsupported(fractions).numpy()
    if ok.any():
        with torch.no_grad():
            values[ok] = module(fractions[torch.as_tensor(ok)]).numpy()
    return values, ok


def descriptor_values(compositions: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 9) descriptors in ``DESCRIPTOR_NAMES`` order and a bool (N,) of rows the tables support (others NaN)."""
    if not compositions:
        return np.full((0, len(DESCRIPTOR_NAMES)), np.nan), np.zeros(0, dtype=bool)
    vocabulary = ElementVocabulary.from_compositions(compositions)
    fractions = vocabulary.to_tensor(list(compositions), dtype=torch.float64)
    return _described(fractions, Descriptors(vocabulary.elements).double())


def feature_matrix(
    compositions: Sequence[Mapping[str, float]], vocabulary: ElementVocabulary
) -> tuple[np.ndarray, np.ndarray]:
    """(N, E + 9): fractions over ``vocabulary`` (other elements dropped) then descriptors; bool (N,) usable rows."""
    if not compositions:
        return np.zeros((0, len(vocabulary) + len(DESCRIPTOR_NAMES))), np.zeros(0, dtype=bool)
    own = ElementVocabulary.from_compositions(compositions)
    fractions = own.to_tensor(list(compositions), dtype=torch.float64)
    return tensor_features(fractions, Descriptors(own.elements).double(), vocabulary)


def tensor_features(
    fractions: torch.Tensor, module: Descriptors, vocabulary: ElementVocabulary
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`feature_matrix` of mole fractions (N, E) over ``module``'s elements (float64): the path for millions
    of alloys, with one descriptor module for every batch."""
    own = list(module.elements)
    columns = np.zeros((len(fractions), len(vocabulary)))
    for j, element in enumerate(vocabulary.elements):
        if element in own:
            columns[:, j] = fractions[:, own.index(element)].numpy()
    descriptors, ok = _described(fractions, module)
    # log1p(omega): omega spans orders of magnitude (it diverges as dH_mix -> 0); trees do not care, LR does.
    descriptors[:, DESCRIPTOR_NAMES.index("omega")] = np.log1p(descriptors[:, DESCRIPTOR_NAMES.index("omega")])
    return np.hstack([columns, descriptors]), ok


def make_estimator(kind: str, seed: int = 0):
    """A fresh scikit-learn classifier of one of ``PEERS`` (fixed hyper-parameters, single-threaded)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "random-forest":
        return RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=1)
    if kind == "gradient-boosting":
        return HistGradientBoostingClassifier(random_state=seed)
    if kind == "logistic-regression":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
    if kind == "mlp":
        from sklearn.neural_network import MLPClassifier

        # early stopping on a tenth of the train part: the peer needs no validation labels beyond its own budget
        network = MLPClassifier((128, 128), alpha=1e-3, early_stopping=True, max_iter=2000, random_state=seed)
        return make_pipeline(StandardScaler(), network)
    raise ValueError(f"unknown peer {kind!r}; choose one of {', '.join(PEERS)}")


class PeerClassifier(PhaseClassifier):
    """A scikit-learn peer in the hea-bench protocol (``fit`` / ``predict`` on compositions, label strings)."""

    def __init__(self, kind: str = "random-forest", seed: int = 0, extra: tuple[str, ...] = ()) -> None:
        super().__init__()
        make_estimator(kind)  # fail on an unknown kind now, not at the first fit
        self.kind, self.seed, self.extra = kind, seed, tuple(extra)
        self.name = kind + (f"+{len(self.extra)} descriptors" if self.extra else "")
        self.vocabulary: ElementVocabulary | None = None
        self.estimator = None
        self.fill: np.ndarray | None = None  # training means of the extra columns, for alloys hea-bench lacks data for

    def _inputs(self, compositions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        x, ok = feature_matrix(compositions, self.vocabulary)
        if not self.extra:
            return x, ok
        from vae_design.features.cheap_targets import descriptor_targets

        extra = descriptor_targets(compositions, self.extra)
        if self.fill is None:
            self.fill = np.nan_to_num(np.nanmean(extra[ok], 0))
        return np.hstack([x, np.where(np.isnan(extra), self.fill, extra)]), ok

    def _fit(self, compositions: list[dict], y: np.ndarray) -> None:
        self.vocabulary, self.fill = ElementVocabulary.from_compositions(compositions), None
        x, ok = self._inputs(compositions)
        self.estimator = make_estimator(self.kind, self.seed).fit(x[ok], y[ok])

    def _proba(self, compositions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        x, ok = self._inputs(compositions)
        p_single = np.zeros(len(compositions))
        classes = list(self.estimator.classes_)
        if ok.any() and 1 in classes:  # a training set of one class leaves P(single) = 0 or 1 by that class
            p_single[ok] = self.estimator.predict_proba(x[ok])[:, classes.index(1)]
        elif ok.any():
            p_single[ok] = 0.0
        return p_single, ok

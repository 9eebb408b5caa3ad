"""Acquisition functions: how much a candidate alloy is worth making next, from posterior draws of the head.

Every function has the signature ``score(samples, target, rng, kappa) -> (N,)`` where ``samples`` (S, N, K) holds
the head's class probabilities p_s(k | x_n) of N candidates under S draws w_s ~ q(w) of its posterior (as
:meth:`~vae_design.api.AlloyVAE.posterior_probabilities` returns them; :func:`vae_design.design.suggest.suggest`
passes them through the measured-neighbour update first), ``target`` is the class wanted, ``rng`` a
:class:`numpy.random.Generator` (used by :func:`thompson` only) and ``kappa`` the exploration weight (used by
:func:`upper_confidence` only). Higher is better. With p_s = p_s(target | x):

* :func:`expected_hits`: mean_s p_s, the expected number of target-class alloys if x is made;
* :func:`upper_confidence` (UCB): mean_s p_s + kappa * std_s p_s;
* :func:`thompson`: p_s* for one draw s* ~ Uniform{1..S} shared by every candidate (a draw of the head, then its
  best alloy);
* :func:`information_gain` (BALD): H[mean_s p_s(. | x)] - mean_s H[p_s(. | x)], in nats, over all K classes.

:data:`ACQUISITIONS` maps the ``suggest.acquisition`` names to them, :data:`REASONS` to the rule that labels a
pick "exploit" (made for its expected probability) or "explore" (made for what it would teach the model).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Acquisition = Callable[[np.ndarray, int, np.random.Generator, float], np.ndarray]
Reason = Callable[[np.ndarray, int, np.ndarray, float], np.ndarray]


def _target(samples: np.ndarray, target: int) -> np.ndarray:
    """p_s(target | x_n) (S, N) from samples (S, N, K)."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 3:
        raise ValueError(f"samples must have shape (S, N, K), got {samples.shape}")
    if not 0 <= int(target) < samples.shape[2]:
        raise ValueError(f"target {target} is not a class index below K={samples.shape[2]}")
    return samples[:, :, int(target)]


def _std(p: np.ndarray) -> np.ndarray:
    """Standard deviation over the draws (axis 0) with ddof=1, as ``predict_proba``'s uncertainty (0 for S=1)."""
    return p.std(0, ddof=1) if len(p) > 1 else np.zeros(p.shape[1:])


def expected_hits(samples: np.ndarray, target: int, rng: np.random.Generator, kappa: float) -> np.ndarray:
    """E_q[p(target | x)] = (1/S) sum_s p_s(target | x): the expected number of target-class hits if x is made
    (summed over a batch, its expected hits). Pure exploitation; ``rng`` and ``kappa`` are not used."""
    return _target(samples, target).mean(0)


def upper_confidence(samples: np.ndarray, target: int, rng: np.random.Generator, kappa: float) -> np.ndarray:
    """UCB: mean_s p_s(target | x) + kappa * std_s p_s(target | x), the standard deviation over the S draws taken
    with ddof=1 (as ``predict_proba``'s uncertainty; 0 for a single draw). kappa=0 is :func:`expected_hits`;
    ``rng`` is not used."""
    p = _target(samples, target)
    return p.mean(0) + kappa * _std(p)


def thompson(samples: np.ndarray, target: int, rng: np.random.Generator, kappa: float) -> np.ndarray:
    """Thompson sampling: p_s*(target | x) for one draw index s* = ``rng.integers(S)``, the same s* for every
    candidate, so one call scores all alloys under one coherent draw w_s* of the head (drawing s per alloy would
    ignore that the alloys share w and reward the widest spread, like a max over noise). Each call draws afresh:
    :func:`~vae_design.design.suggest.select_batch` re-scores with a new draw for every pick of a batch.
    ``kappa`` is not used."""
    p = _target(samples, target)
    return p[int(rng.integers(len(p)))].copy()


def _entropy(p: np.ndarray) -> np.ndarray:
    """-sum_k p_k log p_k over the last axis, in nats (0 log 0 = 0)."""
    safe = np.where(p > 0, p, 1.0)
    return -(np.where(p > 0, p * np.log(safe), 0.0)).sum(-1)


def information_gain(samples: np.ndarray, target: int, rng: np.random.Generator, kappa: float) -> np.ndarray:
    """BALD (Houlsby et al. 2011): the mutual information between x's label y and the head's weights w,

        I[y; w | x] = H[(1/S) sum_s p_s(. | x)] - (1/S) sum_s H[p_s(. | x)],   H[p] = -sum_k p_k ln p_k  (nats),

    the entropy of the posterior-predictive distribution minus the mean entropy of the draws, over all K classes
    (``target`` is only checked). The draws are those of q(w) (the head's coefficients and intercept) with the
    network h that computes the head's features at its point estimate, so this is the information a measurement
    of x gives about w only, not about h or the VAE. Zero when every draw agrees; at most ln K. ``rng`` and
    ``kappa`` are not used."""
    _target(samples, target)
    samples = np.asarray(samples, dtype=float)
    gain = _entropy(samples.mean(0)) - _entropy(samples).mean(0)
    return np.maximum(gain, 0.0)  # float rounding can leave -1e-17 where the draws agree


ACQUISITIONS: dict[str, Acquisition] = {
    "expected_hits": expected_hits,
    "ucb": upper_confidence,
    "thompson": thompson,
    "information_gain": information_gain,
}
# The acquisitions that use ``rng``: :func:`~vae_design.design.suggest.suggest` re-scores with them before each pick.
STOCHASTIC = frozenset({"thompson"})


def _always(word: str) -> Reason:
    def reason(samples: np.ndarray, target: int, values: np.ndarray, kappa: float) -> np.ndarray:
        return np.full(np.asarray(samples).shape[1], word, dtype=object)

    return reason


def _ucb_reason(samples: np.ndarray, target: int, values: np.ndarray, kappa: float) -> np.ndarray:
    """explore where the exploration part of the score, kappa * std, is larger than the exploitation part, mean."""
    p = _target(samples, target)
    return np.where(kappa * _std(p) > p.mean(0), "explore", "exploit").astype(object)


def _thompson_reason(samples: np.ndarray, target: int, values: np.ndarray, kappa: float) -> np.ndarray:
    """explore where the draw the pick was made with (``values``) is above the posterior mean: an optimistic draw
    chose it."""
    return np.where(np.asarray(values) > _target(samples, target).mean(0), "explore", "exploit").astype(object)


# Per acquisition, the rule (samples (S, N, K), target, values (N,) at pick time, kappa) -> (N,) "exploit" or
# "explore" for the picked alloys: expected_hits always exploits, information_gain always explores, ucb explores
# where kappa * std > mean, thompson where its draw is above the mean.
REASONS: dict[str, Reason] = {
    "expected_hits": _always("exploit"),
    "ucb": _ucb_reason,
    "thompson": _thompson_reason,
    "information_gain": _always("explore"),
}

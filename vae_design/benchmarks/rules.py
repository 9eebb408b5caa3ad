"""The empirical single-phase rules shipped in hea-bench, as scored classifiers (nothing fitted).

Each rule gives hea-bench's verdict and, where the rule thresholds one number, a continuous score that rises toward
single phase, so an AUC can be read off (the threshold is then swept, not chosen). The descriptors are
hea-bench's own (its radii and tables), because the thresholds were calibrated on those, not on vae-design's
Miracle radii. A composition hea-bench cannot describe is predicted multi-phase with a NaN score and counted.

==================  ==================================================  =================================
name                verdict (single phase when)                         score
==================  ==================================================  =================================
rule:zhang_delta    delta < 6.5 % (Zhang et al. 2008)                   -delta
rule:yang_omega     Omega > 1.1 (Yang & Zhang 2012)                     log Omega
rule:guo_vec        VEC >= 8 (FCC) or VEC < 6.87 (BCC) (Guo & Liu 2011)  distance outside [6.87, 8)
rule:delta+omega    delta < 6.5 % and Omega > 1.1 (both of the above)   none (a conjunction)
==================  ==================================================  =================================

guo_vec predicts the structure of an alloy assumed single phase; its "mixed" band is read as multi-phase, as
hea-bench's own phase4 baseline does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from vae_design.benchmarks.protocol import MULTI, SINGLE
from vae_design.data.weak_labels import RULE_ERRORS, is_single_phase


def _rules() -> dict[str, Callable[[Mapping[str, float]], tuple[str, float]]]:
    from hea_bench.descriptors import delta, omega, vec
    from hea_bench.rules import guo_vec, yang_omega, zhang_delta

    def zhang(c):
        return zhang_delta.predict(c), -delta(c)

    def yang(c):
        value = omega(c)
        return yang_omega.predict(c), math.log(value) if value > 0 else -math.inf

    def guo(c):
        v = round(vec(c), 6)  # hea-bench rounds before its boundary test; so do we, to match its verdicts
        verdict = SINGLE if is_single_phase(guo_vec.predict(c)) else MULTI
        return verdict, max(v - guo_vec.FCC_THRESHOLD, guo_vec.BCC_THRESHOLD - v)

    def both(c):
        single = zhang_delta.predict(c) == SINGLE and yang_omega.predict(c) == SINGLE
        return (SINGLE if single else MULTI), math.nan

    return {"rule:zhang_delta": zhang, "rule:yang_omega": yang, "rule:guo_vec": guo, "rule:delta+omega": both}


RULE_NAMES = ("rule:zhang_delta", "rule:yang_omega", "rule:guo_vec", "rule:delta+omega")


def score_rule(name: str, compositions: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray, int]:
    """(y_pred 0/1, score (NaN where none), number of compositions hea-bench could not describe)."""
    rule = _rules()[name]
    predicted, scores, failed = np.zeros(len(compositions), dtype=int), np.full(len(compositions), np.nan), 0
    for row, composition in enumerate(compositions):
        try:
            verdict, score = rule(dict(composition))
        except RULE_ERRORS:
            failed += 1
            continue
        predicted[row] = int(verdict == SINGLE)
        scores[row] = score
    return predicted, scores, failed

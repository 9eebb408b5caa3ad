"""Weak single-phase labels for unlabelled alloys from hea-bench's empirical rules, with abstention.

Each rule gives a verdict (1 single phase, 0 not) or none where hea-bench cannot describe the alloy. An alloy gets
a weak label only where every chosen rule describes it and all agree; otherwise it abstains (-1). Alone the rules
are poor classifiers (45-62 % accuracy each on the default labelled alloys), but
where two unrelated rules agree they are right far more often: ``zhang_delta`` + ``ye_phi`` label 43 % of the
default training alloys at 86 % accuracy (measured on the seed-0 random split's training part, the choice of the
default pair; val and test unseen). The labels are then used as a noisy-label term under a robust loss
(:class:`vae_design.models.ssvae.Model`).

==============  ============================================================  =====================
rule            single phase when                                             reference
==============  ============================================================  =====================
zhang_delta     atomic-size mismatch delta < 6.5 %                            Zhang et al. 2008
yang_omega      Omega = Tm dS_mix / |dH_mix| > 1.1                            Yang & Zhang 2012
king_phi        Phi = dG_ss / -|dG_max| > 1                                   King et al. 2016
ye_phi          Phi = (dS_mix - |dH_mix| / Tm) / |S_E| > 20                   Ye et al. 2015
guo_vec         VEC >= 8 (FCC) or < 6.87 (BCC); the band between counts as not  Guo & Liu 2011
==============  ============================================================  =====================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vae_design.errors import InputError

RULES = ("zhang_delta", "yang_omega", "king_phi", "ye_phi", "guo_vec")
# hea-bench's rule outputs that mean one solid-solution phase (the rules use different words)
_SINGLE = {"single-phase", "solid_solution", "FCC", "BCC"}
# what hea-bench raises for an alloy it cannot describe (an element or pair without data)
RULE_ERRORS = (KeyError, ValueError, ZeroDivisionError, TypeError)


@dataclass(frozen=True)
class WeakLabelling:
    """Which rules label the unlabelled pool, and how much their labels weigh (the ``weak`` config group).

    The weak term is ``alpha * n_labelled / n_weak`` times the generalised cross-entropy (Zhang & Sabuncu 2018)
    ``(1 - p_y^q) / q`` summed over weakly labelled alloys: in total it weighs ``alpha`` times as much as the
    labelled alloys (at ``model.label_weight`` 1), however large the pool. q in (0, 1]: 1 is the mean absolute
    error (robust to wrong labels, slow to learn), q -> 0 the cross-entropy (fast, trusts every label).
    """

    # rules to combine (an alloy is labelled where every rule describes it and all agree, else it abstains):
    # zhang_delta (delta < 6.5 %), yang_omega (Omega > 1.1), king_phi (Phi > 1), ye_phi (phi > 20), guo_vec
    # (VEC >= 8 or < 6.87). zhang_delta + ye_phi label 43 % of the default training alloys at 86 % accuracy; any
    # single rule is right 45-62 % of the time.
    rules: tuple[str, ...] = ("zhang_delta", "ye_phi")
    # weight of all weak labels together, relative to all labelled alloys (alpha * n_labelled / n_weak per alloy)
    alpha: float = 0.5
    # q of the generalised cross-entropy (1 - p^q) / q: 1 = mean absolute error (robust), toward 0 = cross-entropy
    q: float = 0.7

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        unknown = [rule for rule in self.rules if rule not in RULES]
        if unknown or not self.rules:
            raise InputError(f"weak.rules must name rules from {', '.join(RULES)}, got {list(self.rules)}")
        if not self.alpha >= 0:
            raise InputError(f"weak.alpha must be >= 0, got {self.alpha}")
        if not 0 < self.q <= 1:
            raise InputError(f"weak.q must be in (0, 1], got {self.q}")


def rule_verdicts(compositions: Sequence[Mapping[str, float]], rules: Sequence[str]) -> np.ndarray:
    """(R, N) int8: 1 single phase, 0 not, -1 where hea-bench cannot describe the alloy (missing element data)."""
    import hea_bench.rules as hea_rules

    verdicts = np.full((len(rules), len(compositions)), -1, dtype=np.int8)
    for r, name in enumerate(rules):
        predict = getattr(hea_rules, name).predict
        for n, composition in enumerate(compositions):
            try:
                verdicts[r, n] = is_single_phase(predict(dict(composition)))
            except RULE_ERRORS:
                continue
    return verdicts


def weak_labels(compositions: Sequence[Mapping[str, float]], rules: Sequence[str]) -> np.ndarray:
    """(N,) int64: the rules' unanimous verdict (1 or 0), else -1 (abstain): where they disagree, or where any rule
    cannot describe the alloy (one rule alone is right only about half the time)."""
    verdicts = rule_verdicts(compositions, rules)
    single, multi = (verdicts == 1).all(0), (verdicts == 0).all(0)
    return np.where(single, 1, np.where(multi, 0, -1)).astype(np.int64)


def is_single_phase(verdict: str) -> bool:
    """Whether one of hea-bench's rule outputs means one solid-solution phase (the rules use different words;
    guo_vec's "mixed" band counts as not, as hea-bench's own phase4 baseline reads it)."""
    return verdict in _SINGLE

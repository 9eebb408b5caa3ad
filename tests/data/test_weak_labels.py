"""Weak labels from the empirical rules: unanimous verdicts, abstention, and hea-bench's own verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from vae_design.data import weak_labels as weak
from vae_design.data.weak_labels import RULES, WeakLabelling, rule_verdicts, weak_labels
from vae_design.errors import InputError

CANTOR = {"Co": 0.2, "Cr": 0.2, "Fe": 0.2, "Mn": 0.2, "Ni": 0.2}
ALLOYS = [CANTOR, {"Al": 0.5, "Ni": 0.5}, {"Al": 0.2, "Co": 0.2, "Cr": 0.2, "Fe": 0.2, "Ni": 0.2}]


def test_verdicts_are_hea_benchs():
    import hea_bench.rules as hea_rules

    verdicts = rule_verdicts(ALLOYS, RULES)
    for r, name in enumerate(RULES):
        for n, alloy in enumerate(ALLOYS):
            said = getattr(hea_rules, name).predict(alloy)
            assert verdicts[r, n] == int(said in ("single-phase", "solid_solution", "FCC", "BCC")), (name, alloy)


def test_an_alloy_is_labelled_only_where_every_describing_rule_agrees(monkeypatch):
    table = np.array(
        [
            [1, 0, 1, 0, -1, -1],  # rule A
            [1, 0, 0, -1, 1, -1],  # rule B
        ],
        dtype=np.int8,
    )
    monkeypatch.setattr(weak, "rule_verdicts", lambda compositions, rules: table)
    labels = weak_labels([{}] * 6, ("zhang_delta", "ye_phi"))
    # agree 1, agree 0, disagree, then one rule or both cannot describe the alloy: no label from one rule alone
    assert labels.tolist() == [1, 0, -1, -1, -1, -1]


def test_undescribed_alloys_abstain():
    unknown = {"Co": 0.5, "Og": 0.5}  # oganesson: no element data anywhere
    assert rule_verdicts([unknown], RULES).tolist() == [[-1]] * len(RULES)
    assert weak_labels([unknown], ("zhang_delta",)).tolist() == [-1]


def test_cantor_alloy_is_weakly_single_phase_under_the_size_rule():
    assert weak_labels([CANTOR], ("zhang_delta",)).tolist() == [1]


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"rules": ("nope",)}, "weak.rules must name rules from"),
        ({"rules": ()}, "weak.rules must name rules from"),
        ({"alpha": -1.0}, "weak.alpha must be >= 0"),
        ({"q": 0.0}, "weak.q must be in (0, 1]"),
    ],
)
def test_bad_settings_are_one_line_errors(settings, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("]", r"\]")):
        WeakLabelling(**settings)


def test_weak_labels_need_the_single_phase_target():
    from vae_design import AlloyVAE

    with pytest.raises(InputError, match="they need target single_phase"):
        AlloyVAE(target="phase", prior="flat", weak={"alpha": 1.0})
    assert AlloyVAE(weak={"alpha": 1.0}).weak == WeakLabelling(alpha=1.0)

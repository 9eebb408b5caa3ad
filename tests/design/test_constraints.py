"""Constraints: decoded fractions become on-grid alloys that meet every bound; impossible settings are refused."""

import itertools

import numpy as np
import pytest
import torch

from vae_design.data.vocabulary import ElementVocabulary
from vae_design.design.constraints import AlloyConstraints
from vae_design.design.screen import _patterns, enumerate_chunks, expand, plan_screen
from vae_design.errors import InputError

VOCABULARY = ElementVocabulary(("Al", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Mo"))


def constraints(**settings) -> AlloyConstraints:
    return AlloyConstraints.from_settings(VOCABULARY, **settings)


@pytest.mark.parametrize("grid", [1.0, 0.5, 5.0])
def test_random_decodings_become_valid_alloys_on_the_grid(grid):
    rule = constraints(forbidden=["Cu"], min_elements=4, max_elements=6, min_fraction=5, max_fraction=35, grid=grid)
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn((2000, len(VOCABULARY)), generator=generator) * 3
    fractions = torch.rand((2000, len(VOCABULARY)), generator=generator) ** 4
    fractions = fractions / fractions.sum(1, keepdim=True)
    counts, valid = rule.apply(scores, fractions)
    assert valid.all()
    assert (counts.sum(1) == rule.steps).all()
    percent = counts.double() * grid
    present = counts > 0
    assert ((percent >= 5) | ~present).all() and (percent <= 35).all()
    n = present.sum(1)
    assert ((n >= 4) & (n <= 6)).all()
    assert not present[:, VOCABULARY.index("Cu")].any()


def test_the_decoders_choice_is_kept_when_it_already_is_practical():
    rule = constraints(min_elements=2, max_elements=5, min_fraction=5, max_fraction=60)
    scores = torch.full((1, len(VOCABULARY)), -5.0)
    fractions = torch.zeros((1, len(VOCABULARY)))
    for element, value in {"Fe": 0.4, "Ni": 0.35, "Cr": 0.25}.items():
        scores[0, VOCABULARY.index(element)] = 5.0
        fractions[0, VOCABULARY.index(element)] = value
    counts, valid = rule.apply(scores, fractions)
    assert valid.all()
    assert {VOCABULARY.elements[j]: int(counts[0, j]) for j in torch.nonzero(counts[0]).flatten()} == {
        "Fe": 40,
        "Ni": 35,
        "Cr": 25,
    }


def test_projection_moves_small_fractions_up_to_the_minimum_and_rounding_keeps_the_sum():
    rule = constraints(min_elements=3, max_elements=3, min_fraction=10, max_fraction=80)
    present = torch.zeros((1, len(VOCABULARY)), dtype=torch.bool)
    fractions = torch.zeros((1, len(VOCABULARY)), dtype=torch.float64)
    for element, value in {"Fe": 0.901, "Ni": 0.066, "Cr": 0.033}.items():
        present[0, VOCABULARY.index(element)] = True
        fractions[0, VOCABULARY.index(element)] = value
    projected = rule.project(fractions, present)
    assert projected.sum().item() == pytest.approx(1.0)
    assert projected[0, VOCABULARY.index("Fe")].item() == pytest.approx(0.8)
    counts = rule.round_to_grid(projected, present)
    assert counts.sum().item() == 100 and counts.max().item() == 80 and counts[present].min().item() == 10


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"allowed": ["Fe"], "forbidden": ["Fe"]}, "allow no element"),
        ({"min_elements": 5, "max_elements": 4}, "min_elements=5 is more than max_elements=4"),
        ({"allowed": ["Fe", "Ni"], "min_elements": 3}, "only 2 element(s) are allowed"),
        ({"grid": 3.0}, "cannot reach exactly 100"),
        ({"grid": 0}, "must be a step in (0, 100]"),
        ({"min_fraction": 30, "max_fraction": 20}, "min_fraction <= max_fraction"),
        ({"min_elements": 4, "max_elements": 4, "max_fraction": 20}, "sums to 100 at.%"),
        ({"allowed": ["W"]}, "element W is not in the model's vocabulary"),
        ({"forbidden": ["Xx"]}, "unknown element symbol"),
        ({"min_elements": 0}, "at least 1"),
    ],
)
def test_impossible_constraints_are_one_line_errors(settings, message):
    with pytest.raises(InputError, match=None) as error:
        constraints(**settings)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_patterns_are_every_bounded_composition_of_the_grid():
    table = _patterns(3, 20, 2, 12)
    brute = {c for c in itertools.product(range(2, 13), repeat=3) if sum(c) == 20}
    assert {tuple(row) for row in table} == brute and len(table) == len(brute)


def test_screen_enumerates_each_palette_alloy_once_within_spread():
    rule = constraints(min_elements=3, max_elements=4, min_fraction=5, max_fraction=35, grid=5)
    plan = plan_screen(rule, ("Fe", "Ni", "Cr", "Co", "Mn"), spread=5.0, limit=10**6)
    rows = expand(plan, torch.cat(list(enumerate_chunks(plan, chunk=7))), len(VOCABULARY))
    assert len(rows) == plan.total
    assert len({tuple(r) for r in rows.tolist()}) == plan.total
    assert rule.valid(rows.long()).all()
    palette = [VOCABULARY.index(e) for e in ("Fe", "Ni", "Cr", "Co", "Mn")]
    assert rows[:, [j for j in range(len(VOCABULARY)) if j not in palette]].eq(0).all()
    # 3 elements: 100/3 = 6.67 steps of 5 at.%, so each in [5.67 - 1, 7.67 + 1] steps -> 5..35 at.% within 5 of 33.3
    percent = rows.double() * 5
    n = (rows > 0).sum(1)
    equal = 100.0 / n.double()
    deviation = (percent - equal[:, None]).abs().where(rows > 0, torch.zeros(()).double())
    assert (deviation <= 5 + 5 - 1e-9).all()  # spread plus less than one grid step of rounding
    assert np.isin(n.numpy(), [3, 4]).all()


def test_a_screen_too_large_or_empty_is_refused_before_any_work():
    rule = constraints(min_elements=4, max_elements=6)
    with pytest.raises(InputError, match="more than screen.limit"):
        plan_screen(rule, VOCABULARY.elements, spread=10.0, limit=1000)
    with pytest.raises(InputError, match="not in the model's vocabulary"):
        plan_screen(rule, ("Fe", "W"), spread=5.0, limit=1000)
    with pytest.raises(InputError, match="enumerates no candidate"):
        plan_screen(rule, ("Fe", "Ni", "Cr"), spread=5.0, limit=1000)


def test_radioactive_and_precious_elements_are_out_unless_asked():
    from vae_design.data.vocabulary import ElementVocabulary
    from vae_design.design.constraints import AlloyConstraints

    vocabulary = ElementVocabulary(("Al", "Co", "Cr", "Fe", "Ni", "Pt", "Tc", "U"))
    assert AlloyConstraints.from_settings(vocabulary).usable == ("Al", "Co", "Cr", "Fe", "Ni")
    assert "Pt" in AlloyConstraints.from_settings(vocabulary, precious=True).usable
    assert {"Tc", "U"} <= set(AlloyConstraints.from_settings(vocabulary, radioactive=True).usable)
    named = AlloyConstraints.from_settings(vocabulary, allowed=["Co", "Cr", "Fe", "Ni", "Pt"])
    assert "Pt" in named.usable  # named in allowed: wanted
    with pytest.raises(InputError, match="constraints.precious must be true or false"):
        AlloyConstraints.from_settings(vocabulary, precious="yes")


def test_alkali_alkaline_earth_and_rare_earth_elements_are_out_unless_named_or_flagged():
    """Issue 29: a model trained on Ba-Ca-Sr-Yb binaries proposed Ba30Ca23Sr24Yb23 and Ho25Lu25Tb25Tm25."""
    from vae_design.data.vocabulary import ElementVocabulary
    from vae_design.design.constraints import AlloyConstraints

    vocabulary = ElementVocabulary(("Al", "Ba", "Ca", "Co", "Cr", "Fe", "Ho", "Li", "Mg", "Ni", "Sr", "Y", "Yb"))
    assert AlloyConstraints.from_settings(vocabulary).usable == ("Al", "Co", "Cr", "Fe", "Ni")
    assert {"Li"} == set(AlloyConstraints.from_settings(vocabulary, alkali=True).usable) - {
        "Al",
        "Co",
        "Cr",
        "Fe",
        "Ni",
    }
    earths = set(AlloyConstraints.from_settings(vocabulary, alkaline_earth=True).usable)
    assert {"Ba", "Ca", "Mg", "Sr"} <= earths and "Yb" not in earths
    assert {"Ho", "Y", "Yb"} <= set(AlloyConstraints.from_settings(vocabulary, rare_earth=True).usable)
    named = AlloyConstraints.from_settings(vocabulary, allowed=["Al", "Li", "Mg", "Fe"])
    assert named.usable == ("Al", "Fe", "Li", "Mg")  # named in allowed: wanted
    with pytest.raises(InputError, match="constraints.rare_earth must be true or false"):
        AlloyConstraints.from_settings(vocabulary, rare_earth="yes")
    with pytest.raises(InputError, match="alkaline-earth"):
        AlloyConstraints.from_settings(ElementVocabulary(("Ba", "Ca", "Sr", "Yb")))

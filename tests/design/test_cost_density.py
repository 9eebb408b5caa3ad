"""Raw-material cost and ideal-mixing density of alloys, and the constraints' ceilings on them (issue 18, item 9)."""

import pytest
import torch

from vae_design.data.vocabulary import ElementVocabulary
from vae_design.design.constraints import AlloyConstraints
from vae_design.design.properties import alloy_cost, alloy_density, element_prices
from vae_design.errors import InputError

CANTOR = ("Co", "Cr", "Fe", "Mn", "Ni")


def test_cost_is_the_mass_weighted_price_and_density_the_rule_of_mixtures():
    # pymatgen's 2013 table, US$/kg; atomic masses g/mol; solid densities g/cm^3 (by hand, not by the module)
    prices = {"Co": 36.0896294, "Cr": 2.68081792, "Fe": 0.029696231, "Mn": element_prices()["Mn"], "Ni": 22.8839556}
    masses = {"Co": 58.933195, "Cr": 51.9961, "Fe": 55.845, "Mn": 54.938045, "Ni": 58.6934}
    densities = {"Co": 8.9, "Cr": 7.14, "Fe": 7.874, "Mn": 7.47, "Ni": 8.908}
    total = sum(masses.values())
    expected_cost = sum(masses[e] / total * prices[e] for e in CANTOR)
    expected_density = 1 / sum(masses[e] / total / densities[e] for e in CANTOR)
    equiatomic = torch.full((1, 5), 20)  # grid steps or fractions: only the proportions count
    assert alloy_cost(equiatomic, CANTOR).item() == pytest.approx(expected_cost, rel=1e-4)
    assert alloy_density(equiatomic, CANTOR).item() == pytest.approx(expected_density, rel=1e-3)
    assert 7.9 < expected_density < 8.1  # CoCrFeMnNi is measured at about 8.0 g/cm^3
    iron = torch.tensor([[0, 0, 100, 0, 0]])
    assert alloy_cost(iron, CANTOR).item() == pytest.approx(0.029696231)
    assert alloy_density(iron, CANTOR).item() == pytest.approx(7.874)


def test_an_alloy_with_an_unpriced_element_has_no_cost_and_fails_a_ceiling():
    elements = ("Fe", "Ni", "U")  # uranium is not in the price table
    counts = torch.tensor([[50, 50, 0], [40, 40, 20]])
    cost = alloy_cost(counts, elements)
    assert torch.isfinite(cost[0]) and torch.isnan(cost[1])
    rule = AlloyConstraints(min_elements=1, max_fraction=100, radioactive=True, max_cost=1e9, elements=elements)
    assert rule.within_ceilings(counts).tolist() == [True, False]


def test_ceilings_reject_alloys_over_them_and_leave_out_unpriced_elements():
    vocabulary = ElementVocabulary(("Al", "Cr", "Mn", "Fe", "Co", "Ni", "U"))
    counts = torch.zeros((2, 7), dtype=torch.long)
    counts[0, [0, 1, 2, 3]] = 25  # AlCrFeMn: a few US$/kg
    counts[1, [1, 3, 4, 5]] = 25  # CoCrFeNi: Co and Ni make it about 16 US$/kg
    free = AlloyConstraints.from_settings(vocabulary, min_elements=4)
    assert free.valid(counts).all()
    cheap = AlloyConstraints.from_settings(vocabulary, min_elements=4, max_cost=10.0)
    assert cheap.valid(counts).tolist() == [True, False]
    light = AlloyConstraints.from_settings(vocabulary, min_elements=4, max_density=7.5)
    assert light.valid(counts).tolist() == [True, False]
    uranium = AlloyConstraints.from_settings(vocabulary, radioactive=True, max_cost=10.0)
    assert "U" not in uranium.usable  # no price: cannot be checked against the ceiling
    assert "U" in AlloyConstraints.from_settings(vocabulary, radioactive=True).usable


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_cost": -5}, "constraints.max_cost must be a positive number of US$/kg or null, got -5"),
        ({"max_cost": "abc"}, "constraints.max_cost must be a positive number of US$/kg or null, got 'abc'"),
        ({"max_cost": True}, "constraints.max_cost must be a positive number"),
        ({"max_density": 0}, "constraints.max_density must be a positive number of g/cm^3 or null, got 0"),
        ({"max_cost": 0.01}, "below every allowed element (the lowest, Fe, has 0.0297 US$/kg)"),
        ({"max_density": 2}, "below every allowed element (the lowest, Al, has 2.7 g/cm^3)"),
        ({"allowed": ["Fe", "Ni", "U"], "max_cost": 50}, "U (in allowed) has no price"),
    ],
)
def test_bad_ceilings_are_one_line_errors(settings, message):
    vocabulary = ElementVocabulary(("Al", "Cr", "Fe", "Co", "Ni", "U"))
    with pytest.raises(InputError) as error:
        AlloyConstraints.from_settings(vocabulary, min_elements=2, **settings)
    assert message in str(error.value) and "\n" not in str(error.value)

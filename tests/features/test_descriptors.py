"""Descriptors against golden values and matminer's own featurizers (YangSolidSolution, WenAlloys)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from pymatgen.core import Composition, Element

from vae_design.errors import InputError
from vae_design.features import DESCRIPTOR_NAMES, DESCRIPTOR_UNITS, Descriptors, element_table
from vae_design.features import elements as element_data
from vae_design.features.descriptors import GAS_CONSTANT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from matminer.featurizers.composition import WenAlloys, YangSolidSolution

# Common HEA elements, all with every table value and every pair enthalpy (asserted below).
POOL = "Al Co Cr Cu Fe Mn Ni Ti V Zr Nb Mo Hf Ta W Si C B Zn Sn Mg Li Re Ru Pd Pt Y Sc Ga Ge Ag Au Ir Rh Os".split()  # noqa: SIM905
NAMED_ALLOYS = ("CoCrFeMnNi", "AlCoCrFeNi", "CoCrFeNi", "HfNbTaTiZr", "Al0.5CoCrCuFeNi", "MoNbTaW", "Ti2ZrHf0.5")
COLUMN = {name: index for index, name in enumerate(DESCRIPTOR_NAMES)}
# Every element up to Pu with all six table values (74, lanthanides included); some of their pairs lack an
# enthalpy, and the alloys built from them below avoid those pairs.
WIDE = [
    symbol
    for symbol in (Element.from_Z(z).symbol for z in range(1, 95))
    if symbol not in element_data.missing_properties([symbol])
]
MISSING_PAIRS = {frozenset(pair) for pair in element_data.missing_pairs(WIDE)}
RADIUS = element_table(WIDE)["radius"].to_dict()
# Pairs whose Miracle radii are equal (Fe-Co, Zr-Hf, Dy-Er-Tm-Lu, ...) or 1 pm apart, with a pair enthalpy:
# their true delta is 0 or tiny, where E[r^2] - E[r]^2 cancels catastrophically.
EQUAL_RADIUS_PAIRS = [
    (a, b) for a, b in itertools.combinations(WIDE, 2) if RADIUS[a] == RADIUS[b] and {a, b} not in MISSING_PAIRS
]
NEAR_RADIUS_PAIRS = [
    (a, b)
    for a, b in itertools.combinations(WIDE, 2)
    if abs(RADIUS[a] - RADIUS[b]) == 1 and {a, b} not in MISSING_PAIRS
]


@pytest.fixture(scope="module")
def descriptors() -> Descriptors:
    return Descriptors(POOL)


@pytest.fixture(scope="module")
def yang() -> YangSolidSolution:
    return YangSolidSolution()


@pytest.fixture(scope="module")
def wen() -> WenAlloys:
    with warnings.catch_warnings():  # pandas FutureWarning from matminer's own fillna
        warnings.simplefilter("ignore", FutureWarning)
        return WenAlloys()  # slow to build (reads every data file) and to run (~80 ms per alloy): use sparingly


def fractions_of(formulas, elements=POOL, dtype=torch.float64) -> torch.Tensor:
    """(N, E) mole fractions of pymatgen-parsed formulas over ``elements``."""
    rows = np.zeros((len(formulas), len(elements)))
    for row, formula in enumerate(formulas):
        for element, fraction in Composition(formula).fractional_composition.get_el_amt_dict().items():
            rows[row, elements.index(element)] = fraction
    return torch.tensor(rows, dtype=dtype)


def describe(module: Descriptors, formulas) -> dict[str, np.ndarray]:
    values = module(fractions_of(list(formulas), list(module.elements))).numpy()
    return {name: values[:, COLUMN[name]] for name in DESCRIPTOR_NAMES}


def random_alloys(count: int, elements, seed: int, max_elements: int = 6) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    alloys = []
    for _ in range(count):
        chosen = rng.choice(elements, size=rng.integers(2, max_elements + 1), replace=False)
        amounts = rng.uniform(0.05, 1.0, size=len(chosen))
        alloys.append(dict(zip(chosen.tolist(), (amounts / amounts.sum()).tolist(), strict=True)))
    return alloys


def has_missing_pair(symbols) -> bool:
    return any(frozenset(pair) in MISSING_PAIRS for pair in itertools.combinations(symbols, 2))


def fractions_from_dicts(alloys, elements) -> torch.Tensor:
    fractions = torch.zeros(len(alloys), len(elements), dtype=torch.float64)
    for row, alloy in enumerate(alloys):
        for element, fraction in alloy.items():
            fractions[row, elements.index(element)] = fraction
    return fractions


def assert_match_yang(module: Descriptors, yang: YangSolidSolution, alloys) -> np.ndarray:
    """delta / 100 and omega against YangSolidSolution at rel 1e-6; returns our delta (%).

    The only absolute tolerance, 1e-12, is for exact zeros: where all radii are equal our delta is exactly 0,
    while matminer's sum of (1 - r_i / rbar)^2 may keep ~1e-16 of round-off from rbar.
    """
    out = module(fractions_from_dicts(alloys, list(module.elements))).numpy()
    expected = np.array([yang.featurize(Composition(alloy)) for alloy in alloys], dtype=float)
    np.testing.assert_allclose(out[:, COLUMN["omega"]], expected[:, 0], rtol=1e-6, atol=0)
    ours, theirs = out[:, COLUMN["delta"]] / 100, expected[:, 1]
    zero = (ours == 0) | (theirs == 0)
    np.testing.assert_allclose(ours[~zero], theirs[~zero], rtol=1e-6, atol=0)
    assert np.abs(ours[zero] - theirs[zero]).max(initial=0.0) <= 1e-12
    return out[:, COLUMN["delta"]]


def near_zero_mismatch_alloys(rng: np.random.Generator, count: int) -> list[dict[str, float]]:
    """Alloys with a tiny or zero true delta: equal-radius binaries, 1 pm binaries, equal pairs plus a trace.

    Fractions go down to 1e-7 (pymatgen's Composition drops amounts below 1e-8).
    """
    alloys = []
    for _ in range(count):
        kind = rng.integers(3)
        pairs = NEAR_RADIUS_PAIRS if kind == 1 else EQUAL_RADIUS_PAIRS
        a, b = (str(symbol) for symbol in pairs[rng.integers(len(pairs))])
        small = 10 ** rng.uniform(-7, np.log10(0.5))
        if kind < 2:
            alloys.append({a: 1 - small, b: small})
            continue
        others = [symbol for symbol in WIDE if symbol not in (a, b) and not has_missing_pair((a, b, symbol))]
        trace = str(others[rng.integers(len(others))])
        share = rng.uniform(0.05, 0.95)
        alloys.append({a: share * (1 - small), b: (1 - share) * (1 - small), trace: small})
    return alloys


@pytest.fixture(scope="module")
def wide() -> Descriptors:
    return Descriptors(WIDE)


def test_names_units_and_shape(descriptors):
    assert len(DESCRIPTOR_NAMES) == 9 and set(DESCRIPTOR_UNITS) == set(DESCRIPTOR_NAMES)
    out = descriptors(fractions_of(NAMED_ALLOYS))
    assert out.shape == (len(NAMED_ALLOYS), 9) and out.dtype == torch.float64
    assert torch.isfinite(out).all()


def test_pool_has_complete_data():
    assert element_data.missing_properties(POOL) == {}
    assert element_data.missing_pairs(POOL) == []


def test_golden_values_of_named_alloys(descriptors):
    values = describe(descriptors, ["CoCrFeMnNi", "AlCoCrFeNi", "CoCrFeNi", "HfNbTaTiZr"])
    assert values["dS_mix"][0] == pytest.approx(13.38, abs=1e-2)
    assert values["dS_mix"][0] == pytest.approx(GAS_CONSTANT * math.log(5), rel=1e-12)
    # Guo's VEC: Al 3, Co 9, Cr 6, Fe 8, Ni 10, Mn 7; Hf 4, Nb 5, Ta 5, Ti 4, Zr 4 (magpie NValence has Hf 18).
    np.testing.assert_allclose(values["vec"], [8.0, 7.2, 8.25, 4.4], rtol=1e-12)
    # Takeuchi & Inoue pair enthalpies give the textbook -4.16 kJ/mol for the Cantor alloy.
    np.testing.assert_allclose(values["dH_mix"][[0, 2]], [-4.16, -3.75], rtol=1e-12)
    assert values["tm"][2] == pytest.approx((1768 + 2180 + 1811 + 1728) / 4, rel=1e-12)


def test_named_alloys_match_yang_solid_solution(descriptors, yang):
    values = describe(descriptors, NAMED_ALLOYS)
    expected = np.array([yang.featurize(Composition(formula)) for formula in NAMED_ALLOYS], dtype=float)
    np.testing.assert_allclose(values["omega"], expected[:, 0], rtol=1e-6)
    np.testing.assert_allclose(values["delta"] / 100, expected[:, 1], rtol=1e-6)


def test_named_alloys_match_wen_alloys_where_definitions_agree(descriptors, wen):
    formulas = ["CoCrFeMnNi", "Al0.5CoCrCuFeNi", "HfNbTaTiZr"]
    values = describe(descriptors, formulas)
    labels = wen.feature_labels()
    rows = [dict(zip(labels, wen.featurize(Composition(formula)), strict=True)) for formula in formulas]
    expected = {label: np.array([row[label] for row in rows], dtype=float) for label in labels[2:]}
    np.testing.assert_allclose(values["delta"] / 100, expected["Yang delta"], rtol=1e-6)
    np.testing.assert_allclose(values["omega"], expected["Yang omega"], rtol=1e-6)
    # Wen's entropy is sum c ln c * R in kJ/(mol K), i.e. minus ours over 1000.
    np.testing.assert_allclose(values["dS_mix"], -1000 * expected["Configuration entropy"], rtol=1e-6)
    # Wen reports max(|dH|, 1e-6): the same enthalpy without its sign.
    np.testing.assert_allclose(np.abs(values["dH_mix"]), expected["Mixing enthalpy"], rtol=1e-6)
    np.testing.assert_allclose(values["vec"], expected["VEC mean"], rtol=1e-6)


def test_vec_table_is_wen_valence_outside_the_f_block():
    # WenAlloys averages the valence column of matminer's Miedema.csv (read raw: Wen imputes absent elements).
    miedema = pd.read_csv(element_data.data_dir() / "Miedema.csv", index_col="element")["valence_electrons"]
    symbols = [symbol for symbol in miedema.index if symbol not in element_data.F_BLOCK]
    assert len(symbols) == 55
    table = element_table(symbols, allow_missing=True)  # H and N lack a bulk modulus, not a group
    np.testing.assert_array_equal(table["vec"].to_numpy(), miedema.loc[symbols].to_numpy(dtype=float))


@pytest.mark.parametrize("reverse", [False, True], ids=["wide", "wide-reversed"])
def test_equal_radius_alloys_match_yang_solid_solution(wide, yang, reverse):
    # Fe and Co share the Miracle radius 125 pm: the one-pass E[r^2] - E[r]^2 gave delta = 2.7e-7 % for
    # Fe0.34514812Co0.65485188 where matminer gives 0. Which equal pairs it hit depended on the fractions and
    # on the column order (the summation order), so both orders are run.
    module = Descriptors(WIDE[::-1]) if reverse else wide
    assert ("Fe", "Co") in EQUAL_RADIUS_PAIRS and len(EQUAL_RADIUS_PAIRS) >= 20
    fractions = (0.34514812, 0.5, 0.1234567, 0.7777, 0.9, 0.01, 1e-6)
    equal = [{a: f, b: 1 - f} for a, b in EQUAL_RADIUS_PAIRS for f in fractions]
    equal += [{"Dy": 0.1, "Er": 0.2, "Tm": 0.3, "Lu": 0.4}, {"In": 0.3, "Sn": 0.3, "Sb": 0.4}, {"Zr": 1, "Hf": 2}]
    delta = assert_match_yang(module, yang, equal)
    assert (delta == 0).all()  # exactly, not merely small

    # Tiny but nonzero mismatches must keep their relative precision, not round to 0 or to noise.
    tiny = [{"Fe": 0.345, "Co": 0.655 - trace, "Ni": trace} for trace in (1e-7, 1e-6, 1e-4, 1e-2)]
    tiny += [{a: 1 - f, b: f} for a, b in NEAR_RADIUS_PAIRS for f in (1e-7, 1e-5, 0.5)]
    delta = assert_match_yang(module, yang, tiny)
    assert (delta > 0).all()


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_random_alloys_match_yang_solid_solution(wide, yang, seed):
    rng = np.random.default_rng(seed)
    alloys = []
    while len(alloys) < 350:
        chosen = rng.choice(WIDE, size=rng.integers(2, 8), replace=False).tolist()
        if not has_missing_pair(chosen):
            amounts = rng.uniform(0.05, 1.0, size=len(chosen))
            alloys.append(dict(zip(chosen, (amounts / amounts.sum()).tolist(), strict=True)))
    alloys += near_zero_mismatch_alloys(rng, 150)
    assert len(alloys) == 500
    assert_match_yang(wide, yang, alloys)


def test_random_pool_alloys_match_yang_solid_solution(descriptors, yang):
    assert_match_yang(descriptors, yang, random_alloys(100, POOL, seed=7))


def test_pure_elements_give_their_table_values_and_zero_mixing_terms(descriptors):
    fractions = torch.eye(len(POOL), dtype=torch.float64, requires_grad=True)
    out = descriptors(fractions)
    table = element_table(POOL)
    for name in ("k", "vm", "tm", "vec"):
        np.testing.assert_allclose(out[:, COLUMN[name]].detach().numpy(), table[name].to_numpy(), rtol=1e-12)
    for name in ("delta", "dchi", "dS_mix", "dH_mix", "omega"):
        assert (out[:, COLUMN[name]] == 0).all(), name
    out.sum().backward()
    assert torch.isfinite(fractions.grad).all()


def test_zero_mismatch_is_exact_with_finite_gradients_in_both_dtypes():
    module = Descriptors(["Fe", "Co", "Ni", "Zr", "Hf"])  # Fe, Co 125 pm; Zr, Hf 158 pm
    rows = [
        [0.345, 0.655, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 3.0, 7.0],  # amounts, not fractions
        [0.7, 0.0, 0.0, 0.0, 0.0],  # a pure element given as an amount below 1
        [0.0, 0.0, 0.0, 0.0, 3.3],
    ]
    for dtype in (torch.float64, torch.float32):
        fractions = torch.tensor(rows, dtype=dtype, requires_grad=True)
        out = module(fractions)
        assert (out[:, COLUMN["delta"]] == 0).all(), dtype
        assert (out[2:, COLUMN["dchi"]] == 0).all(), dtype
        out.sum().backward()
        assert torch.isfinite(fractions.grad).all(), dtype


def test_gradcheck_through_the_two_pass_rows():
    # Fe/Co with traces of Ni and Cr: radius variances of 0.003 and 0.013 pm^2, below the two-pass threshold
    # (1e-6 x 128^2 = 0.016 pm^2); the last row is ordinary. Traces stay far above gradcheck's step of 1e-6.
    module = Descriptors(["Fe", "Co", "Ni", "Cr"])
    fractions = torch.tensor(
        [[0.345, 0.655 - 2e-4, 1e-4, 1e-4], [0.5, 0.5 - 1e-3, 5e-4, 5e-4], [0.3, 0.3, 0.2, 0.2]],
        dtype=torch.float64,
        requires_grad=True,
    )
    assert torch.autograd.gradcheck(module, (fractions,))
    equal = torch.tensor([[0.345, 0.655], [0.9, 0.1]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Descriptors(["Fe", "Co"]), (equal,))  # delta is exactly 0 there


def test_gradcheck_on_dense_fractions():
    elements = ["Al", "Co", "Cr", "Fe", "Ni", "Ti"]
    module = Descriptors(elements)
    generator = torch.Generator().manual_seed(0)
    fractions = torch.rand(4, len(elements), dtype=torch.float64, generator=generator) + 0.05
    fractions = (fractions / fractions.sum(dim=1, keepdim=True)).requires_grad_()
    assert torch.autograd.gradcheck(module, (fractions,))


def test_gradients_are_finite_with_zero_fractions(descriptors):
    fractions = fractions_of(NAMED_ALLOYS).requires_grad_()
    assert (fractions == 0).any()
    descriptors(fractions).sum().backward()
    assert torch.isfinite(fractions.grad).all()


def test_float32_works_and_agrees_with_float64(descriptors):
    alloys = list(NAMED_ALLOYS)
    double = descriptors(fractions_of(alloys))
    single = descriptors(fractions_of(alloys, dtype=torch.float32))
    assert single.dtype == torch.float32 and torch.isfinite(single).all()
    np.testing.assert_allclose(single.double().numpy(), double.numpy(), rtol=1e-4, atol=1e-4)
    pure = descriptors(torch.eye(len(POOL), dtype=torch.float32))
    assert (pure[:, COLUMN["delta"] :] == 0).all()  # no round-off mismatch for a pure element


def test_amounts_are_normalised_and_columns_can_be_permuted(descriptors):
    fractions = fractions_of(NAMED_ALLOYS)
    expected = descriptors(fractions)
    scale = torch.tensor([[1.0], [3.0], [0.25], [7.0], [1.0], [2.0], [0.5]], dtype=torch.float64)
    torch.testing.assert_close(descriptors(fractions * scale), expected, rtol=1e-12, atol=1e-12)
    order = torch.randperm(len(POOL), generator=torch.Generator().manual_seed(1))
    permuted = Descriptors([POOL[i] for i in order.tolist()])
    torch.testing.assert_close(permuted(fractions[:, order]), expected, rtol=1e-12, atol=1e-12)


def test_unknown_or_repeated_element_is_an_input_error():
    with pytest.raises(InputError, match="'Xx'"):
        Descriptors(["Fe", "Xx"])
    with pytest.raises(InputError, match="'Fe'"):
        Descriptors(["Fe", "Ni", "Fe"])
    with pytest.raises(InputError, match="'Xx'"):
        element_table(["Xx"])


def test_element_without_data_fails_only_in_alloys_that_contain_it():
    module = Descriptors(["Fe", "Ni", "N"])  # magpie has no bulk modulus for nitrogen
    assert module.missing_properties == {"N": ("k",)}
    fractions = torch.tensor([[0.5, 0.5, 0.0], [0.4, 0.4, 0.2]], dtype=torch.float64)
    assert module.unsupported(fractions).tolist() == [False, True]
    assert torch.isfinite(module(fractions[:1])).all()
    with pytest.raises(InputError, match=r"row 1 of 2 alloys: no bulk modulus for element 'N' in matminer"):
        module(fractions)
    assert module.unsupported_reasons(fractions) == {1: element_data.missing_message("N", "k")}
    with pytest.raises(InputError, match="no bulk modulus for element 'N'"):
        element_table(["Fe", "N"])
    assert element_table(["Fe", "N"], allow_missing=True)["k"].isna().tolist() == [False, True]


def test_missing_pair_fails_only_when_both_elements_are_present():
    module = Descriptors(["Fe", "Th", "U"])  # the pair table has Th-Fe and U-Fe but no Th-U
    assert module.missing_pairs == (("Th", "U"),)
    fractions = torch.tensor(
        [[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5], [0.2, 0.4, 0.4], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    assert module.unsupported(fractions).tolist() == [False, False, True, True, False]
    supported = fractions[~module.unsupported(fractions)]
    assert torch.isfinite(module(supported)).all()
    with pytest.raises(InputError, match=r"row 2 of 5 alloys: no mixing enthalpy for the pair 'Th'-'U'"):
        module(fractions)
    assert set(module.unsupported_reasons(fractions)) == {2, 3}


def test_unsupported_matches_a_row_by_row_reference_on_a_gappy_vocabulary():
    # N and O lack a bulk modulus; S and Te have no pair enthalpy at all; Th-U is a single missing pair.
    elements = ["Fe", "Ni", "Cr", "N", "O", "S", "Te", "Th", "U"]
    module = Descriptors(elements)
    missing_pairs = {frozenset(pair) for pair in element_data.missing_pairs(elements)}
    rng = np.random.default_rng(3)
    fractions = torch.tensor(rng.uniform(0.1, 1.0, (400, len(elements))) * (rng.random((400, len(elements))) < 0.3))
    fractions[0] = 0.0
    fractions[1, :] = 0.0
    fractions[1, elements.index("S")] = 0.7  # a pure pairless element is fine

    def refused(row: np.ndarray) -> bool:
        present = [symbol for symbol, fraction in zip(elements, row, strict=True) if fraction > 0]
        return (
            not present
            or any(symbol in module.missing_properties for symbol in present)
            or any(frozenset((a, b)) in missing_pairs for i, a in enumerate(present) for b in present[i + 1 :])
        )

    expected = [refused(row) for row in fractions.numpy()]
    assert 50 < sum(expected) < 350  # both kinds of row are exercised
    assert module.unsupported(fractions).tolist() == expected
    assert sorted(module.unsupported_reasons(fractions)) == [i for i, bad in enumerate(expected) if bad]
    supported = fractions[~module.unsupported(fractions)]
    assert torch.isfinite(module(supported)).all()


def test_rows_without_a_positive_total_are_refused(descriptors):
    fractions = fractions_of(["CoCrFeNi"]).repeat(3, 1)
    fractions[1] = 0.0
    fractions[2, 0] = float("nan")
    assert descriptors.unsupported(fractions).tolist() == [False, True, True]
    with pytest.raises(InputError, match="row 1 of 3 alloys"):
        descriptors(fractions)


def test_wrong_shape_is_a_programming_error(descriptors):
    with pytest.raises(ValueError, match="shape"):
        descriptors(torch.zeros(2, 3, dtype=torch.float64))


def test_tables_are_read_once():
    Descriptors(POOL[:10])
    before = element_data._magpie_values.cache_info().misses, element_data._pair_enthalpies.cache_info().misses
    Descriptors(POOL[::-1])  # a new vocabulary: new rows, but no file is read again
    after = element_data._magpie_values.cache_info().misses, element_data._pair_enthalpies.cache_info().misses
    assert before == after


def test_module_moves_with_to_and_double(descriptors):
    state = descriptors.state_dict()
    assert state["weights"].dtype == torch.float64
    assert Descriptors(POOL).double().weights.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(descriptors):
    fractions = fractions_of([*NAMED_ALLOYS, "Fe0.34514812Co0.65485188", "Ni"])  # last two: recomputed rows
    on_gpu = Descriptors(POOL).to("cuda")
    out = on_gpu(fractions.cuda())
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), descriptors(fractions), rtol=1e-10, atol=1e-10)
    module = Descriptors(["Fe", "Th", "U"]).to("cuda")
    bad = torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64, device="cuda")
    assert module.unsupported(bad).tolist() == [True]
    with pytest.raises(InputError, match="'Th'-'U'"):
        module(bad)

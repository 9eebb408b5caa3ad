import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_design.data.composition import (
    atomic_number,
    canonical_formula,
    element_set,
    element_symbols,
    family_of,
    normalise,
    parse_formula,
)
from vae_design.errors import InputError


def approx_equal(a: dict, b: dict, tol: float = 1e-12) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= tol for k in a)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("AlCoCrFeNi", {e: 0.2 for e in ("Al", "Co", "Cr", "Fe", "Ni")}),
        ("Al0.5CoCrCuFeNi", {"Al": 0.5 / 5.5, **{e: 1 / 5.5 for e in ("Co", "Cr", "Cu", "Fe", "Ni")}}),
        ("Ti20Zr20Hf20Nb20Ta20", {e: 0.2 for e in ("Hf", "Nb", "Ta", "Ti", "Zr")}),
        # metallurgical group notation: 10 at.% Al, not pymatgen's 10/370
        ("(CoCrFeNi)90Al10", {"Al": 0.1, "Co": 0.225, "Cr": 0.225, "Fe": 0.225, "Ni": 0.225}),
        ("Al0.25 Co1 Fe1 Ni1", {"Al": 0.25 / 3.25, "Co": 1 / 3.25, "Fe": 1 / 3.25, "Ni": 1 / 3.25}),
        ("CoCrFeNiNi", {"Co": 0.2, "Cr": 0.2, "Fe": 0.2, "Ni": 0.4}),
        ("((FeNi)Co)2Cr", {"Co": 1 / 3, "Cr": 1 / 3, "Fe": 1 / 6, "Ni": 1 / 6}),
        ("Fe.5Ni", {"Fe": 1 / 3, "Ni": 2 / 3}),
        ("W", {"W": 1.0}),
        ("Na", {"Na": 1.0}),
        ("Fe50\tNi50", {"Fe": 0.5, "Ni": 0.5}),
        ("Ag1.0Er1.0", {"Ag": 0.5, "Er": 0.5}),
    ],
)
def test_parse_formula_reads_what_metallurgists_write(formula, expected):
    assert approx_equal(parse_formula(formula), expected)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("alcocrfeni", "capital letter, found 'al' at position 1 (did you mean 'Al'?)"),
        ("AlcoCrFeNi", "found 'co' at position 3 (did you mean 'Co'?)"),
        ("ALCOCRFENI", "'AL' at position 1 is not an element symbol"),
        ("FEcr", "did you mean 'Fe'?"),
        ("CoCrFeNI", "'NI' at position 7 is ambiguous: write 'Ni'"),
        ("Xx2Fe", "unknown element symbol 'Xx'"),
        ("FeD", "unknown element symbol 'D'"),
        ("Fe-20Cr", "'-' at position 3 is not formula syntax"),
        ("Fe0Ni0", "amount of Fe is zero"),
        ("Fe20Ni0", "amount of Ni is zero"),
        ("Fe1e400Ni", "exponent notation"),
        ("Fe1E5Ni", "exponent notation"),
        ("(FeNi", "unclosed '('"),
        ("FeNi)", "unmatched ')'"),
        ("()Fe", "empty group"),
        ("Ta_Th", "unexpected character '_'"),
        ("Fe0.5.3Ni", "malformed number"),
        ("", "empty formula"),
        ("   ", "empty formula"),
        ("Fe" + "9" * 400, "too large"),
        ("Fe20%Ni", "unexpected character '%'"),
        ("NaN", "missing formula ('NaN' is a spreadsheet's mark for an empty cell)"),
        ("#N/A", "missing formula"),
        ("(" * 500 + "Fe" + ")" * 500, "nested more than 10 deep"),
        ("Fe\nNi", r"unexpected character '\n' at position 3"),
        ("Fe 50Ni50", "amount '50' at position 4 has no element symbol before it"),
    ],
)
def test_bad_formulas_get_one_line_errors(formula, message):
    with pytest.raises(InputError) as error:
        parse_formula(formula)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_case_mistakes_are_reported_not_guessed():
    # pymatgen would silently read "NI" as nitrogen + iodine
    with pytest.raises(InputError, match="ambiguous"):
        parse_formula("FeCoNI")
    assert parse_formula("FeCoN1I1").keys() == {"Co", "Fe", "I", "N"}


def test_canonical_formula_and_family():
    composition = parse_formula("Al0.5CoCrCuFeNi")
    assert canonical_formula(composition) == "Al9.09Co18.18Cr18.18Cu18.18Fe18.18Ni18.18"
    assert canonical_formula(parse_formula("NiFeCrCoMn")) == "Co20Cr20Fe20Mn20Ni20"
    assert family_of(composition) == "Al-Co-Cr-Cu-Fe-Ni"
    assert family_of(parse_formula("Al0.3CoCrCuFeNi")) == family_of(composition)
    assert element_set(parse_formula("NbTaTiV")) == ("Nb", "Ta", "Ti", "V")
    assert canonical_formula(parse_formula("Fe99.999Ni0.001")) == "Fe100"


def test_normalise_rejects_bad_amounts():
    with pytest.raises(InputError, match="sum to a positive"):
        normalise({"Fe": 0.0})
    with pytest.raises(InputError, match="finite non-negative"):
        normalise({"Fe": math.nan, "Ni": 1.0})
    with pytest.raises(InputError, match="unknown element"):
        normalise({"Xx": 1.0})


METALS = sorted(s for s in element_symbols() if atomic_number(s) <= 83)
amounts = st.floats(min_value=0.001, max_value=1000, allow_nan=False, allow_infinity=False)
compositions = st.dictionaries(st.sampled_from(METALS), amounts, min_size=1, max_size=8)


def write_formula(amounts: dict[str, float]) -> str:
    return "".join(f"{element}{amount!r}" for element, amount in amounts.items())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_parser_never_raises_anything_but_its_own_error(text):
    try:
        composition = parse_formula(text)
    except InputError as error:
        assert "\n" not in str(error)
    else:
        assert abs(sum(composition.values()) - 1) < 1e-9
        assert all(f > 0 for f in composition.values())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="()AlCoCrFeNiTiNb0123456789. eE-", max_size=30))
def test_parser_on_formula_like_text(text):
    with contextlib.suppress(InputError):
        parse_formula(text)


@settings(max_examples=300, deadline=None)
@given(compositions)
def test_formula_fractions_formula_round_trip(amounts):
    composition = parse_formula(write_formula(amounts))
    expected = normalise(amounts)
    assert approx_equal(composition, expected, tol=1e-9)
    # canonical formula -> fractions agrees to its 0.005 at.% rounding (plus renormalising the rounded parts)
    canonical = canonical_formula(composition)
    reparsed = parse_formula(canonical)
    tolerance = 5e-5 * (len(composition) + 1)
    assert all(abs(reparsed.get(e, 0) - f) < tolerance for e, f in composition.items())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(METALS), st.integers(1, 50), min_size=1, max_size=6))
def test_canonical_formula_is_a_fixed_point_on_whole_percentages(parts):
    percentages = {e: 100 * p / sum(parts.values()) for e, p in parts.items()}
    whole = {e: round(p) for e, p in percentages.items() if round(p) > 0}
    if not whole or sum(whole.values()) != 100:
        return
    formula = canonical_formula(parse_formula(write_formula(whole)))
    assert canonical_formula(parse_formula(formula)) == formula
    assert formula == "".join(f"{e}{whole[e]}" for e in sorted(whole))


def test_weight_percent_is_converted_with_atomic_masses():
    from vae_design.data.composition import canonical_formula

    assert canonical_formula(parse_formula("Fe70Cr18Ni12wt%")) == "Cr19.19Fe69.48Ni11.33"
    for written in ("Fe70Cr18Ni12 wt.%", "Fe70Cr18Ni12 WT %", "Fe70Cr18Ni12wtpct"):
        assert canonical_formula(parse_formula(written)) == "Cr19.19Fe69.48Ni11.33"
    assert canonical_formula(parse_formula("Fe70Cr18Ni12at%")) == "Cr18Fe70Ni12"  # atomic, the default, said
    assert parse_formula("Fe70Cr18Ni12mol%") == parse_formula("Fe70Cr18Ni12")

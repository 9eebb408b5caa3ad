"""Errors that users see.

``InputError`` is the one exception type for bad user input (files, formulas, config values).
The CLI turns it into a single line on stderr and exit code 2; everything else is a bug.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input, reported as one line naming file, row, column and the problem.

    The message must be a single sentence without newlines, e.g.
    ``alloys.csv, row 4, column 'formula': unknown element symbol 'Xx' in 'Xx2Fe'``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def where(file: str | None = None, row: int | None = None, column: str | None = None) -> str:
    """``file, row R, column 'C'`` (rows are spreadsheet rows: the header is row 1); parts left out if None."""
    parts = (file, None if row is None else f"row {row}", None if column is None else f"column '{column}'")
    return ", ".join(part for part in parts if part)


def located(problem: str, file: str | None = None, row: int | None = None, column: str | None = None) -> str:
    """Prefix ``problem`` with where it happened."""
    place = where(file, row, column)
    return f"{place}: {problem}" if place else problem


class NumericalError(InputError):
    """Training became numerically unstable (a NaN or infinite loss or gradient).

    Reported like bad input (one line, exit code 2): the remedy is a setting (a lower learning rate) or the data,
    and the message names the last good checkpoint that ``resume=true`` continues from.
    """

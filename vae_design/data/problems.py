"""Problems in users' data files, collected into a report instead of stopping at the first one.

``data.on_problem`` decides what a problem does:

* ``exclude`` (the default) applies the shipped data's rules and records each problem: conflicting labels for one
  alloy leave the labelled set (the composition stays, unlabelled; labels are never voted), an alloy in a training
  file and an evaluation file is removed from training (never from test; from val when it is also in test), an
  evaluation alloy is removed from the unlabelled pool, and an alloy whose elements lack descriptor data (or lie
  outside ``data.elements``) is dropped;
* ``error`` stops at the first problem with one line naming file, row and column (exit code 2).

Near-duplicates (two rows within 0.1 at.% in every element: one nominal alloy rounded two ways) are merged as one
alloy under either policy and reported. Malformed input (a bad formula or label, an unreadable file) is an error
under either policy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple, dataclass, field

import pandas as pd

from vae_design.errors import InputError

POLICIES = ("exclude", "error")
# kind -> (what it is, the metrics.json key counting it)
KINDS = {
    "conflicting_labels": ("the same alloy with different labels", "n/excluded_conflicts"),
    "in_two_parts": ("the same alloy in two of training / val / test", "n/excluded_overlap"),
    "evaluation_in_pool": ("a val / test alloy in the unlabelled pool", "n/excluded_pool"),
    "no_descriptor_data": ("elements without descriptor data", "n/excluded_descriptors"),
    "outside_elements": ("elements outside data.elements", "n/excluded_elements"),
    "near_duplicate": ("within 0.1 at.% of another row (merged as one alloy)", "n/merged_near_duplicates"),
}
COLUMNS = ("kind", "file", "row", "formula", "problem", "action")


@dataclass(frozen=True)
class DataProblem:
    kind: str
    file: str
    row: int | None
    formula: str
    problem: str
    action: str


@dataclass
class ProblemLog:
    """The problems met while reading a user's files, under one policy."""

    policy: str = "exclude"
    problems: list[DataProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise InputError(f"data.on_problem must be one of {', '.join(POLICIES)}, got '{self.policy}'")

    @property
    def strict(self) -> bool:
        return self.policy == "error"

    def add(self, kind: str, file: str, row: int | None, formula: str, problem: str, action: str, error: str):
        """Record a problem; under ``error`` raise ``error`` (the one-line message) instead."""
        if self.strict and kind != "near_duplicate":
            raise InputError(error)
        self.problems.append(DataProblem(kind, str(file), row, formula, problem, action))


def problems_frame(problems) -> pd.DataFrame:
    return pd.DataFrame([astuple(p) for p in problems], columns=list(COLUMNS)).astype({"row": "Int64"})


def problem_counts(problems) -> dict[str, float]:
    """metrics.json figures: how many rows of each kind were excluded or merged (every kind, zeros included)."""
    counts = Counter(p.kind for p in problems)
    return {key: float(counts.get(kind, 0)) for kind, (_, key) in KINDS.items()}


def describe(problems, first: int = 3) -> list[str]:
    """One line per kind with its count, then its first few rows (file:row, formula, what was done)."""
    lines = []
    by_kind: dict[str, list[DataProblem]] = {}
    for problem in problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    for kind, rows in by_kind.items():
        lines.append(f"{KINDS[kind][0]}: {len(rows)} rows ({kind})")
        for p in rows[:first]:
            place = f"{p.file}:{p.row}" if p.row is not None else p.file
            lines.append(f"  {place}  {p.formula}: {p.problem}; {p.action}")
        if 0 < first < len(rows):
            lines.append(f"  ... and {len(rows) - first} more")
    return lines

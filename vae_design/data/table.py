"""The alloy table: one row per unique composition, labelled or not.

Columns of ``AlloyTable.alloys``:

========== ==================================================================================
formula    canonical formula (``Al20Co20Cr20Fe20Ni20``), the de-duplication key
composition dict element -> mole fraction
family     element set joined by '-' (``Al-Co-Cr-Fe-Ni``), the key of family-grouped splits
n_elements number of elements present
label      target class as an integer (pandas Int64); <NA> for unlabelled alloys
phase      canonical phase BCC / FCC / HCP / multi-phase where a source gave one, else <NA>
source     where the row came from (dataset names joined by '+', or a file name and row)
part       '' or the split part a user's files assign: 'train', 'val', 'test'
========== ==================================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from vae_design.data.composition import canonical_formula, family_of
from vae_design.data.problems import DataProblem
from vae_design.errors import InputError

PHASES = ("BCC", "FCC", "HCP", "multi-phase")
SINGLE_PHASES = frozenset({"BCC", "FCC", "HCP"})
# target name -> class names in label order
TARGETS = {
    "single_phase": ("multi-phase", "single phase"),  # 0 = not a single solid solution, 1 = single phase
    "phase": PHASES,  # 4-class: 0 BCC, 1 FCC, 2 HCP, 3 multi-phase
}
COLUMNS = ("formula", "composition", "family", "n_elements", "label", "phase", "source", "part")
# Two compositions of one family that differ by at most this mole fraction in every element are the same alloy:
# sources round the same nominal alloy differently (Al27.27 vs Al27.26 at.%), well inside what a chemical
# analysis can tell apart, and treating them as two alloys would hide label conflicts and put twins into train
# and test.
SAME_ALLOY_TOLERANCE = 1e-3


class SameAlloy:
    """Maps each composition to the first composition seen within ``SAME_ALLOY_TOLERANCE`` in its family."""

    def __init__(self, tolerance: float = SAME_ALLOY_TOLERANCE) -> None:
        self.tolerance = tolerance
        self._seen: dict[str, dict] = {}  # canonical formula -> representative row (exact repeats are common)
        # family -> [element order, representatives' fractions (rows beyond the count are spare), count, rows]
        self._families: dict[str, list] = {}

    def __call__(self, row: dict) -> dict:
        """``row`` with formula and composition replaced by its representative's (or itself, if new)."""
        representative = self._seen.get(row["formula"])
        if representative is None:
            representative = self._nearest(row)
            self._seen[row["formula"]] = representative
        if representative is row:
            return row
        return {**row, "formula": representative["formula"], "composition": representative["composition"]}

    def _nearest(self, row: dict) -> dict:
        family = self._families.get(row["family"])
        if family is None:
            order = tuple(sorted(row["composition"]))
            family = self._families[row["family"]] = [order, np.empty((8, len(order))), 0, []]
        order, matrix, count, rows = family
        vector = np.array([row["composition"][element] for element in order])
        if count:
            distance = np.abs(matrix[:count] - vector).max(axis=1)
            nearest = int(distance.argmin())
            if distance[nearest] <= self.tolerance:
                return rows[nearest]
        if count == len(matrix):  # grow by doubling: appends stay O(1) amortised
            matrix = family[1] = np.concatenate([matrix, np.empty_like(matrix)])
        matrix[count] = vector
        family[2] = count + 1
        rows.append(row)
        return row


def check_target(target: str) -> tuple[str, ...]:
    """Class names of a target; InputError for an unknown target."""
    if target not in TARGETS:
        raise InputError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}")
    return TARGETS[target]


def label_of_phase(phase: str, target: str) -> int:
    """Integer label of a canonical phase under ``target`` (single_phase: BCC/FCC/HCP -> 1, else 0)."""
    if target == "single_phase":
        return int(phase in SINGLE_PHASES)
    return PHASES.index(phase)


@dataclass(frozen=True)
class AlloyTable:
    """Unique alloys with labels (or <NA>), the label conflicts that were excluded, and where they came from."""

    alloys: pd.DataFrame
    target: str
    name: str
    conflicts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["formula", "labels"]))
    notes: tuple[str, ...] = ()
    # A user's own files: an alloy that cannot be used is recorded in ``problems`` and dropped (on_problem
    # 'exclude') or an error naming its row ('error'), never silently dropped.
    from_user_files: bool = False
    problems: tuple = ()  # vae_design.data.problems.DataProblem, in the order met
    on_problem: str = "exclude"

    @property
    def labelled(self) -> pd.DataFrame:
        return self.alloys[self.alloys["label"].notna()]

    @property
    def unlabelled(self) -> pd.DataFrame:
        return self.alloys[self.alloys["label"].isna()]

    @property
    def class_names(self) -> tuple[str, ...]:
        return TARGETS[self.target]

    def drop_alloys(self, positions: Sequence[int], reason: Callable[[int], str], note: str, kind: str) -> AlloyTable:
        """The table without the alloys at ``positions`` (row positions), with ``note`` added.

        From a user's files each dropped alloy is also a problem of ``kind`` with ``reason(position)`` saying
        why; under ``on_problem='error'`` the first is instead an InputError naming its file and row.
        """
        if len(positions) == 0:
            return self
        problems = self.problems
        if self.from_user_files:
            first = self.alloys.iloc[positions[0]]
            if self.on_problem == "error":
                place = str(first["source"]).replace(":", ", row ")  # user rows come as "file.csv:row"
                raise InputError(f"{place}: {first['formula']}: {reason(positions[0])}")
            dropped = []
            for position in positions:
                alloy = self.alloys.iloc[position]
                file, _, row = str(alloy["source"]).partition(":")
                row = int(row) if row.isdigit() else None
                dropped.append(DataProblem(kind, file, row, alloy["formula"], reason(position), "dropped"))
            problems = (*problems, *dropped)
        keep = np.ones(len(self.alloys), dtype=bool)
        keep[list(positions)] = False
        alloys = self.alloys[keep].reset_index(drop=True)
        return replace(self, alloys=alloys, notes=(*self.notes, note), problems=problems)


def alloy_row(
    composition: Mapping[str, float], label: int | None, phase: str | None, source: str, part: str = ""
) -> dict:
    """One row of the alloy table for a parsed composition."""
    return {
        "formula": canonical_formula(composition),
        "composition": composition,
        "family": family_of(composition),
        "n_elements": len(composition),
        "label": label,
        "phase": phase,
        "source": source,
        "part": part,
    }


def make_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """DataFrame with the table's columns and dtypes (nullable integer labels)."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    frame["label"] = frame["label"].astype("Int64")
    frame["n_elements"] = frame["n_elements"].astype(int)
    frame["phase"] = frame["phase"].astype("string")
    return frame.reset_index(drop=True)


def merge_sources(labelled: Iterable[dict], unlabelled: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """De-duplicate rows by canonical formula (after ``SameAlloy``) and exclude label conflicts.

    Labelled rows that agree are merged (their sources joined). Rows whose labels disagree under ``target``
    are excluded from the labelled set, never voted, and returned as conflicts; their composition joins the
    unlabelled pool, since it is a real alloy whose label is unreliable. Unlabelled rows already present in
    the labelled set are dropped. Returns (alloys, conflicts).
    """
    by_formula: dict[str, list[dict]] = {}
    for row in labelled:
        by_formula.setdefault(row["formula"], []).append(row)
    kept, conflicts, pool = [], [], {}
    for formula, rows in by_formula.items():
        labels = {row["label"] for row in rows}
        sources = "+".join(sorted({row["source"] for row in rows}))
        if len(labels) > 1:
            reported: dict[str, list[str]] = {}
            for row in rows:
                names = reported.setdefault(row["source"], [])
                name = str(row["phase"] or row["label"])
                if name not in names:
                    names.append(name)
            conflicts.append(
                {"formula": formula, "labels": "; ".join(f"{src}: {', '.join(n)}" for src, n in reported.items())}
            )
            pool[formula] = {**rows[0], "label": None, "phase": None, "source": sources}
            continue
        phases = {row["phase"] for row in rows}
        # Sources can agree on the binary label but name different phases (BCC vs FCC); keep the phase only
        # when it is unambiguous.
        kept.append({**rows[0], "source": sources, "phase": phases.pop() if len(phases) == 1 else None})
    for row in unlabelled:
        if row["formula"] in by_formula:
            continue
        if row["formula"] in pool:
            merged = pool[row["formula"]]
            merged["source"] = "+".join(sorted(set(merged["source"].split("+")) | {row["source"]}))
        else:
            pool[row["formula"]] = {**row, "label": None, "phase": None}
    alloys = make_frame([*kept, *pool.values()])
    return alloys, pd.DataFrame(conflicts, columns=["formula", "labels"])

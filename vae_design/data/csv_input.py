"""Users' CSV files: strict reading with one-line errors (file, row, column, problem).

Rows are numbered as a spreadsheet shows them: the header is row 1, the first alloy row 2.

Problems in the data themselves (conflicting labels, an alloy in two parts, evaluation alloys in the pool) are
collected by a :class:`~vae_design.data.problems.ProblemLog` and handled by its policy (``data.on_problem``).

Files have a formula column and a label column (``formula,label`` by default; ``data.formula_col`` and
``data.label_col`` rename them). Under the ``single_phase`` target a label is 1 (single solid-solution phase),
0 (anything else) or empty (unlabelled); under the ``phase`` target it is BCC, FCC, HCP, multi-phase or empty.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from vae_design.data.composition import Composition, parse_formula
from vae_design.data.problems import ProblemLog
from vae_design.data.table import (
    PHASES,
    AlloyTable,
    SameAlloy,
    alloy_row,
    check_target,
    label_of_phase,
    make_frame,
)
from vae_design.errors import InputError, located, where

# 0 / 1, also as spreadsheets export them (1.0, 1.00); nothing else, so "yes" or "nan" is an error, not a guess.
_BINARY = re.compile(r"([01])(?:\.0*)?")
_PHASE_NAMES = {name.lower(): name for name in PHASES} | {"multi": "multi-phase", "multiphase": "multi-phase"}


def read_table(
    path: str | Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file as (spreadsheet row number, {column: stripped text}) for the named columns.

    Blank lines are skipped; a header separated by ';' (and no comma) makes ';' the delimiter. Any problem
    (missing file, non-UTF-8 bytes, NUL bytes, no header, a missing required column, a short row, no data rows)
    is an InputError naming the file and row.
    """
    name = str(path)
    path = Path(path)
    if not name.strip():
        raise InputError("no input file given")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not a CSV file")
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if not path.is_file():
        raise InputError(f"{name}: not a regular file (give the path of a CSV file)")
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(f"{name}: the file is UTF-16 text; save it as UTF-8 (CSV UTF-8 in a spreadsheet program)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise InputError(
            located(
                f"byte 0x{data[error.start]:02x} is not UTF-8 text; save the file as UTF-8 "
                "(CSV UTF-8 in a spreadsheet program)",
                name,
                row,
            )
        ) from None
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        raise InputError(located("NUL byte: this looks like a binary file, not CSV text", name, row))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=_delimiter(text))
    records = []
    try:
        # Spreadsheet rows: one per record (a quoted cell may span lines), blank rows included.
        for row, record in enumerate(reader, start=1):
            records.append((row, record))
    except csv.Error as error:
        raise InputError(located(f"malformed CSV ({error})", name, len(records) + 1)) from None
    records = [(row, record) for row, record in records if any(cell.strip() for cell in record)]
    if not records:
        raise InputError(f"{name}: the file is empty (expected a header row naming column '{required[0]}')")
    header_row, header = records[0]
    header = [cell.strip() for cell in header]
    missing = [column for column in required if column not in header]
    if missing:
        raise InputError(
            located(f"missing column '{missing[0]}' (the header has: {', '.join(header)})", name, header_row)
        )
    used = [column for column in (*required, *optional) if column in header]
    repeated = [column for column in used if header.count(column) > 1]
    if repeated:
        raise InputError(located(f"column '{repeated[0]}' appears more than once in the header", name, header_row))
    positions = {column: header.index(column) for column in used}
    rows = []
    for row, record in records[1:]:
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
            raise InputError(
                located(
                    f"{len(record)} fields but the header has {len(header)} (a decimal comma such as 'Al0,5'? "
                    "use a dot, or quote the cell)",
                    name,
                    row,
                )
            )
        if max(positions.values()) >= len(record):
            raise InputError(located(f"expected {len(header)} fields, found {len(record)}", name, row))
        rows.append((row, {column: record[j].strip() for column, j in positions.items()}))
    if not rows:
        raise InputError(f"{name}: the file has a header but no data rows")
    return rows


def _delimiter(text: str) -> str:
    """',' unless the header row is separated by ';' and has no comma (CSV from a spreadsheet set to a European
    locale, where the comma is the decimal mark)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if ";" in header and "," not in header else ","


def parse_formula_cell(text: str, file: str, row: int, column: str) -> Composition:
    """The composition in one formula cell; problems are InputErrors naming file, row and column."""
    if not text:
        raise InputError(located("empty formula", file, row, column))
    try:
        return parse_formula(text)
    except InputError as error:
        raise InputError(located(str(error), file, row, column)) from None


def read_formulas(path: str, column: str) -> tuple[list, list[Composition]]:
    """The rows of a CSV file (:func:`read_table`) and the composition of each one's ``column``; a bad cell is a
    one-line error naming file, row and column."""
    rows = read_table(path, (column,))
    return rows, [parse_formula_cell(cells[column], path, row, column) for row, cells in rows]


def read_labelled_formulas(
    path: str, formula_col: str, label_col: str, target: str, missing: str
) -> tuple[list, list[Composition], list[int]]:
    """Rows, compositions and labels of a CSV file in which every row must carry a label of ``target`` (``missing``:
    the message for a row without one, e.g. "a test alloy needs a label")."""
    rows = read_table(path, (formula_col, label_col))
    compositions, labels = [], []
    for row, cells in rows:
        compositions.append(parse_formula_cell(cells[formula_col], path, row, formula_col))
        label, _ = parse_label(cells[label_col], target, path, row, label_col)
        if label is None:
            raise InputError(located(missing, path, row, label_col))
        labels.append(label)
    return rows, compositions, labels


def parse_label(text: str, target: str, file: str, row: int, column: str) -> tuple[int | None, str | None]:
    """(label, phase) from a label cell; empty means unlabelled."""
    if text == "":
        return None, None
    if target == "single_phase":
        match = _BINARY.fullmatch(text)
        if match:
            return int(match.group(1)), None
        raise InputError(located(f"label must be 0, 1 or empty (unlabelled), got '{text}'", file, row, column))
    phase = _PHASE_NAMES.get(text.lower())
    if phase is None:
        raise InputError(located(f"label must be one of {', '.join(PHASES)} or empty, got '{text}'", file, row, column))
    return label_of_phase(phase, target), phase


PARTS = {"": "training", "train": "training", "val": "val", "test": "test"}
# an alloy in two parts stays in the later one: test over val over training
PRIORITY = {"": 0, "train": 0, "val": 1, "test": 2}


def read_alloy_csv(
    path: str | Path,
    formula_col: str,
    label_col: str,
    target: str,
    labels: str,
    part: str = "",
    split_col: str | None = None,
    same_alloy: SameAlloy | None = None,
    problems: ProblemLog | None = None,
) -> list[dict]:
    """Alloy rows of one file, de-duplicated by canonical formula.

    ``labels`` is 'required' (every row labelled), 'forbidden' (an unlabelled pool) or 'optional'. Repeated
    compositions with the same label are merged; with different labels they are a problem for ``problems``
    (excluded: the alloy stays, unlabelled and in no evaluation part). ``split_col`` (one-file variant) names a
    column whose values train / val / test / empty set each row's part. ``same_alloy`` (shared across a user's
    files) decides which compositions are one alloy.
    """
    same_alloy = same_alloy or SameAlloy()
    problems = problems or ProblemLog("error")
    check_target(target)
    name = str(path)
    optional = tuple(c for c in (label_col if labels != "required" else None, split_col) if c)
    required = (formula_col, label_col) if labels == "required" else (formula_col,)
    seen: dict[str, dict] = {}
    for row, cells in read_table(path, required, optional):
        composition = parse_formula_cell(cells[formula_col], name, row, formula_col)
        label, phase = parse_label(cells.get(label_col, ""), target, name, row, label_col)
        if labels == "required" and label is None:
            raise InputError(located("empty label in a file of labelled alloys", name, row, label_col))
        if labels == "forbidden" and label is not None:
            raise InputError(
                located(
                    f"the unlabelled file must not carry labels (got '{cells[label_col]}'); "
                    "move the row to the labelled file",
                    name,
                    row,
                    label_col,
                )
            )
        row_part = part
        if split_col and cells.get(split_col, ""):
            row_part = cells[split_col].lower()
            if row_part not in ("train", "val", "test"):
                raise InputError(
                    located(
                        f"split must be train, val, test or empty, got '{cells[split_col]}'",
                        name,
                        row,
                        split_col,
                    )
                )
        entry = alloy_row(composition, label, phase, f"{Path(name).name}:{row}", row_part)
        written = entry["formula"]
        entry = same_alloy({**entry, "file": name, "row": row})
        if entry["formula"] != written:
            problems.add("near_duplicate", name, row, written, f"within 0.1 at.% of {entry['formula']}", "merged", "")
        previous = seen.get(entry["formula"])
        if previous is None:
            seen[entry["formula"]] = entry
            continue
        conflicting = label is not None and (
            previous.get("conflict") or (previous["label"] is not None and previous["label"] != label)
        )
        if conflicting:
            first = previous.get("first_label", previous["label"])
            error = located(
                f"conflicting labels for {entry['formula']}: {label} here, {first} in row {previous['row']}",
                name,
                row,
                label_col,
            )
            action = "label dropped: the composition stays, unlabelled"
            if not previous.get("conflict"):
                problems.add(
                    "conflicting_labels", name, previous["row"], entry["formula"], f"labelled {first}", action, error
                )
            problems.add("conflicting_labels", name, row, written, f"labelled {label}", action, error)
            seen[entry["formula"]] = {
                **previous,
                "label": None,
                "phase": None,
                "part": "",
                "conflict": True,
                "first_label": first,
            }
            continue
        if previous.get("conflict"):
            continue
        if previous["part"] != row_part:
            error = located(
                f"{entry['formula']} is in part '{row_part}' here and '{previous['part']}' in row {previous['row']}",
                name,
                row,
                split_col,
            )
            keep, drop = (entry, previous) if PRIORITY[row_part] > PRIORITY[previous["part"]] else (previous, entry)
            problems.add(
                "in_two_parts",
                name,
                drop["row"],
                drop["formula"],
                f"also in part '{keep['part']}' (row {keep['row']})",
                f"removed from '{drop['part']}'",
                error,
            )
            seen[entry["formula"]] = keep
            continue
        if previous["label"] is None and label is not None:
            seen[entry["formula"]] = {**entry, "source": previous["source"], "row": previous["row"]}
    return list(seen.values())


def load_csv(
    path: str | None = None,
    labelled: str | None = None,
    unlabelled: str | None = None,
    val: str | None = None,
    test: str | None = None,
    formula_col: str = "formula",
    label_col: str = "label",
    split_col: str = "split",
    target: str = "single_phase",
    on_problem: str = "exclude",
) -> AlloyTable:
    """A user's data: one file (``path``, optional split column) or explicit files per part.

    Explicit val/test files fix those parts; a part not given is carved out of the labelled rows by the
    configured split. A composition may not appear in two parts (that would leak labels into evaluation) and an
    evaluation alloy may not be in the pool: under ``on_problem='exclude'`` the later part keeps it (test over
    val over training) and the pool loses it, each recorded in the table's ``problems``; under 'error' the first
    is an InputError. An unlabelled composition that is also labelled is simply the labelled alloy.
    """
    problems = ProblemLog(on_problem)
    if path and any((labelled, unlabelled, val, test)):
        raise InputError(
            "give either data.path (one file) or data.labelled / data.unlabelled / data.val / "
            "data.test (split files), not both"
        )
    if path:
        rows = read_alloy_csv(path, formula_col, label_col, target, "optional", split_col=split_col, problems=problems)
        for row in rows:
            if row["part"] in ("val", "test") and row["label"] is None:
                raise InputError(located(f"a {row['part']} alloy must be labelled", path, row["row"], label_col))
        return user_table(rows, target, str(path), problems)
    if not labelled:
        raise InputError("data=csv needs data.path=FILE (one file) or data.labelled=FILE (split files)")
    parts = [("", labelled), ("val", val), ("test", test)]  # '' = training, or carved by the split
    by_formula: dict[str, dict] = {}
    same_alloy = SameAlloy()  # shared by all files, so a near-identical alloy in two files is caught as overlap
    for part, file in parts:
        if not file:
            continue
        rows = read_alloy_csv(
            file, formula_col, label_col, target, "required", part, same_alloy=same_alloy, problems=problems
        )
        for row in rows:
            other = by_formula.get(row["formula"])
            if other is None or other["label"] is None or row["label"] is None:
                # new, or one side lost its label to a conflict: the labelled record stands
                if other is None or other["label"] is None:
                    by_formula[row["formula"]] = row
                continue
            error = (
                f"{where(row['file'], row['row'])}: {row['formula']} also appears in "
                f"{where(other['file'], other['row'])}; a composition may be in only one of the labelled, val and "
                "test files"
            )
            keep, drop = (row, other) if PRIORITY[row["part"]] > PRIORITY[other["part"]] else (other, row)
            problems.add(
                "in_two_parts",
                drop["file"],
                drop["row"],
                drop["formula"],
                f"also in the {PARTS[keep['part']]} file ({where(keep['file'], keep['row'])})",
                f"removed from {PARTS[drop['part']]}",
                error,
            )
            by_formula[row["formula"]] = keep
    if unlabelled:
        pool = read_alloy_csv(
            unlabelled, formula_col, label_col, target, "forbidden", same_alloy=same_alloy, problems=problems
        )
        for row in pool:
            other = by_formula.get(row["formula"])
            if other is not None and other["part"] in ("val", "test") and other["label"] is not None:
                problems.add(
                    "evaluation_in_pool",
                    row["file"],
                    row["row"],
                    row["formula"],
                    f"a {other['part']} alloy ({where(other['file'], other['row'])})",
                    "removed from the pool",
                    f"{where(row['file'], row['row'])}: {row['formula']} is a {other['part']} alloy "
                    f"({where(other['file'], other['row'])}); evaluation alloys must not be in the training pool",
                )
                continue
            by_formula.setdefault(row["formula"], row)
    name = ", ".join(
        f"{part}={file}"
        for part, file in [("labelled", labelled), ("unlabelled", unlabelled), ("val", val), ("test", test)]
        if file
    )
    return user_table(by_formula.values(), target, name, problems)


def user_table(rows, target: str, name: str, problems: ProblemLog) -> AlloyTable:
    return AlloyTable(
        alloys=make_frame(rows),
        target=target,
        name=name,
        from_user_files=True,
        problems=tuple(problems.problems),
        on_problem=problems.policy,
    )

"""Users' CSV files: strict reading with one-line errors (file, row, column, problem).

Rows are numbered as a spreadsheet shows them: the header is row 1, the first alloy row 2.

Files have a formula column and a label column (``formula,label`` by default; ``data.formula_col`` and
``data.label_col`` rename them). Under the ``single_phase`` target a label is 1 (single solid-solution phase),
0 (anything else) or empty (unlabelled); under the ``phase`` target it is BCC, FCC, HCP, multi-phase or empty.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from vae_design.data.composition import parse_formula
from vae_design.data.table import PHASES, AlloyTable, alloy_row, check_target, label_of_phase, make_frame
from vae_design.errors import InputError, located

_BINARY = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}
_PHASE_NAMES = {name.lower(): name for name in PHASES} | {"multi": "multi-phase", "multiphase": "multi-phase"}


def read_table(
    path: str | Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file as (spreadsheet row number, {column: stripped text}) for the named columns.

    Blank lines are skipped. Any problem (missing file, non-UTF-8 bytes, NUL bytes, no header, a missing
    required column, a short row, no data rows) is an InputError naming the file and row.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    data = path.read_bytes()
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
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as error:
        raise InputError(located(f"malformed CSV ({error})", name, reader.line_num)) from None
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
    positions = {column: header.index(column) for column in (*required, *optional) if column in header}
    rows = []
    for row, record in records[1:]:
        if len(record) < len(header) and max(positions.values()) >= len(record):
            raise InputError(located(f"expected {len(header)} fields, found {len(record)}", name, row))
        rows.append((row, {column: record[j].strip() for column, j in positions.items()}))
    if not rows:
        raise InputError(f"{name}: the file has a header but no data rows")
    return rows


def parse_label(text: str, target: str, file: str, row: int, column: str) -> tuple[int | None, str | None]:
    """(label, phase) from a label cell; empty means unlabelled."""
    if text == "":
        return None, None
    if target == "single_phase":
        if text in _BINARY:
            return _BINARY[text], None
        raise InputError(located(f"label must be 0, 1 or empty (unlabelled), got '{text}'", file, row, column))
    phase = _PHASE_NAMES.get(text.lower())
    if phase is None:
        raise InputError(located(f"label must be one of {', '.join(PHASES)} or empty, got '{text}'", file, row, column))
    return label_of_phase(phase, target), phase


def _where(entry: dict) -> str:
    return f"{entry['file']}, row {entry['row']}"


def read_alloy_csv(
    path: str | Path,
    formula_col: str,
    label_col: str,
    target: str,
    labels: str,
    part: str = "",
    split_col: str | None = None,
) -> list[dict]:
    """Alloy rows of one file, de-duplicated by canonical formula.

    ``labels`` is 'required' (every row labelled), 'forbidden' (an unlabelled pool) or 'optional'. Repeated
    compositions with the same label are merged; with different labels they are an error naming both rows.
    ``split_col`` (one-file variant) names a column whose values train / val / test / empty set each row's part.
    """
    check_target(target)
    name = str(path)
    optional = tuple(c for c in (label_col if labels != "required" else None, split_col) if c)
    required = (formula_col, label_col) if labels == "required" else (formula_col,)
    seen: dict[str, dict] = {}
    for row, cells in read_table(path, required, optional):
        formula_text = cells[formula_col]
        if not formula_text:
            raise InputError(located("empty formula", name, row, formula_col))
        try:
            composition = parse_formula(formula_text)
        except InputError as error:
            raise InputError(located(str(error), name, row, formula_col)) from None
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
        entry = {
            **alloy_row(composition, label, phase, f"{Path(name).name}:{row}", row_part),
            "file": name,
            "row": row,
        }
        previous = seen.get(entry["formula"])
        if previous is None:
            seen[entry["formula"]] = entry
            continue
        if previous["label"] is not None and label is not None and previous["label"] != label:
            raise InputError(
                located(
                    f"conflicting labels for {entry['formula']}: {label} here, "
                    f"{previous['label']} in row {previous['row']}",
                    name,
                    row,
                    label_col,
                )
            )
        if previous["part"] != row_part:
            raise InputError(
                located(
                    f"{entry['formula']} is in part '{row_part}' here and '{previous['part']}' "
                    f"in row {previous['row']}",
                    name,
                    row,
                    split_col,
                )
            )
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
) -> AlloyTable:
    """A user's data: one file (``path``, optional split column) or explicit files per part.

    Explicit val/test files fix those parts; a part not given is carved out of the labelled rows by the
    configured split. A composition may not appear in two parts (that would leak labels into evaluation);
    an unlabelled composition that is also labelled is simply the labelled alloy.
    """
    if path and any((labelled, unlabelled, val, test)):
        raise InputError(
            "give either data.path (one file) or data.labelled / data.unlabelled / data.val / "
            "data.test (split files), not both"
        )
    if path:
        rows = read_alloy_csv(path, formula_col, label_col, target, "optional", split_col=split_col)
        for row in rows:
            if row["part"] in ("val", "test") and row["label"] is None:
                raise InputError(located(f"a {row['part']} alloy must be labelled", path, row["row"], label_col))
        return AlloyTable(alloys=make_frame(rows), target=target, name=str(path))
    if not labelled:
        raise InputError("data=csv needs data.path=FILE (one file) or data.labelled=FILE (split files)")
    parts = [("train", labelled, "required"), ("val", val, "required"), ("test", test, "required")]
    by_formula: dict[str, dict] = {}
    for part, file, labels in parts:
        if not file:
            continue
        for row in read_alloy_csv(file, formula_col, label_col, target, labels, part="" if part == "train" else part):
            other = by_formula.get(row["formula"])
            if other is not None:
                raise InputError(
                    f"{_where(row)}: {row['formula']} also appears in {_where(other)}; a "
                    "composition may be in only one of the labelled, val and test files"
                )
            by_formula[row["formula"]] = row
    if unlabelled:
        for row in read_alloy_csv(unlabelled, formula_col, label_col, target, "forbidden"):
            other = by_formula.get(row["formula"])
            if other is not None and other["part"] in ("val", "test"):
                raise InputError(
                    f"{_where(row)}: {row['formula']} is a {other['part']} alloy "
                    f"({_where(other)}); evaluation alloys must not be in the training pool"
                )
            by_formula.setdefault(row["formula"], row)
    name = ", ".join(
        f"{part}={file}"
        for part, file in [("labelled", labelled), ("unlabelled", unlabelled), ("val", val), ("test", test)]
        if file
    )
    return AlloyTable(alloys=make_frame(by_formula.values()), target=target, name=name)

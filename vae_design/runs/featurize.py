"""``vae-design featurize`` as a plain function: the physics descriptors of every alloy in a CSV file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vae_design.errors import InputError
from vae_design.outputs import progress_bar
from vae_design.runs import Record, staged_run


@dataclass(frozen=True)
class FeaturizeRun:
    """The settings of ``vae-design featurize``."""

    input: str = "???"  # the CSV file (required; "???" is OmegaConf's mark for a value that must be given)
    formula_col: str = "formula"  # its formula column
    # rows per batch through the descriptor module (bounded memory for large files); Any, not int, because
    # featurize_compositions checks it with its own message ("a positive integer"), which users' scripts match
    batch_size: Any = 100_000

    def __post_init__(self) -> None:
        if str(self.input).strip() in ("", "???"):
            raise InputError("input=FILE.csv is required: the CSV file of formulas to featurize")


SETTINGS = FeaturizeRun  # the root schema of configs/featurize.yaml (registered by the CLI as featurize_schema)


def featurize_file(path: str, column: str, batch_size: int, progress: Callable[[int, int], None] | None = None):
    """The descriptors of every formula in ``column`` of the CSV file ``path``, ``formula`` (as written) first."""
    from vae_design.data.csv_input import read_formulas
    from vae_design.errors import where
    from vae_design.features.featurize import featurize_compositions

    rows, compositions = read_formulas(path, column)
    table = featurize_compositions(
        compositions,
        batch_size=batch_size,
        locate=lambda i: where(path, rows[i][0], column),
        progress=(lambda done: progress(done, len(rows))) if progress else None,
    )
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    return table


def featurize(run: FeaturizeRun, out: Path, record: Record | None = None) -> str:
    """``vae-design featurize``: ``out/descriptors.csv`` for the alloys of ``run.input``; returns what to print."""
    with progress_bar("featurizing", at_least=200_000) as report:  # a bar only for files large enough to wait for
        table = featurize_file(run.input, run.formula_col, run.batch_size, report)
    out = Path(out)
    with staged_run(out, record) as staging:
        table.to_csv(staging / "descriptors.csv", index=False, float_format="%.10g")
    return f"wrote {len(table)} alloys x {table.shape[1] - 1} descriptors to {out / 'descriptors.csv'}"

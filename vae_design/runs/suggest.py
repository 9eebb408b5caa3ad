"""``vae-design suggest`` as a plain function: the batch of alloys to make next, from ``candidates=FILE.csv`` or
from a generate run's candidates (:mod:`vae_design.design.suggest` ranks and picks them)."""

from __future__ import annotations

from pathlib import Path

from vae_design.design.settings import GenerateSettings
from vae_design.design.suggest import SuggestRun
from vae_design.errors import InputError
from vae_design.outputs import progress_bar
from vae_design.runs import Record, staged_run, trained_model

SETTINGS = SuggestRun  # the root schema of configs/suggest.yaml (registered by the CLI as suggest_schema)


def _candidates(model, path: str, column: str) -> list[str]:
    """The formulas (as written) of ``column`` of the CSV file ``path``; a bad row is a one-line error."""
    from vae_design.data.csv_input import read_formulas

    rows, compositions = read_formulas(path, column)
    model.check_usable(compositions, path, [row for row, _ in rows], column)
    return [cells[column] for _, cells in rows]


def suggest(
    run: SuggestRun, out: Path, record: Record | None = None, *, bundle: str | None, generate: GenerateSettings
) -> str:
    """Rank the candidates with the model of ``bundle`` and write the batch into ``out``; ``generate`` configures
    the candidates' generate run when ``run.candidates`` is None. Every input is checked before any work; returns
    what to print."""
    from vae_design.design.generate import plan_generation, run_generation
    from vae_design.design.scoring import KnownAlloys
    from vae_design.design.suggest import candidate_settings, summary_text, write_suggestions
    from vae_design.design.suggest import suggest as rank
    from vae_design.design.workflows import target_index

    if not isinstance(generate, GenerateSettings):
        raise InputError("generate is a group of settings: set its keys (generate.KEY=VALUE)")
    generate = candidate_settings(run, generate)
    model = trained_model(bundle)
    target_index(model, run.target)
    if run.candidates is not None:
        compositions = _candidates(model, str(run.candidates), str(run.formula_col))
        plan = None
    else:
        plan = plan_generation(model, generate)  # checked against the model before any work
    known = KnownAlloys.build(model, shipped=generate.scoring.shipped_datasets)
    if plan is not None:
        with progress_bar(f"candidates ({generate.workflow})") as report:
            compositions = list(run_generation(plan, known, progress=report).table["formula"])
    table, figures = rank(model, compositions, known, run, run.target, generate.scoring)
    out = Path(out).absolute()
    with staged_run(out, record) as staging:
        figures = write_suggestions(table, figures, known, staging, model.classes)
    return summary_text(table, figures, run, out)

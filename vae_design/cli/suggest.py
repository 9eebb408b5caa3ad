"""``vae-design suggest``: the batch of alloys to make next. The root keys are
:class:`~vae_design.design.suggest.SuggestRun`; the candidates come from ``candidates=FILE.csv`` or from a generate
run under ``generate.*`` (the whole generate schema); every input is checked before anything is written."""

from __future__ import annotations

from dataclasses import fields

from omegaconf import DictConfig, OmegaConf

from vae_design.cli.commands import load_model, run_dir, save_config
from vae_design.errors import InputError
from vae_design.outputs import progress_bar, staged_run_dir


def _settings(cfg: DictConfig):
    """(SuggestRun, GenerateSettings) of the config; a generate error is prefixed with ``generate:``."""
    from vae_design.design.settings import GenerateSettings
    from vae_design.design.suggest import SuggestRun, candidate_settings

    names = [f.name for f in fields(SuggestRun)]
    run = SuggestRun(**OmegaConf.to_container(OmegaConf.masked_copy(cfg, names), resolve=True))
    try:
        generate = GenerateSettings.of(**OmegaConf.to_container(cfg.generate, resolve=True))
    except InputError as error:
        raise InputError(f"generate: {error}") from None
    return run, candidate_settings(run, generate)


def _candidates(model, path: str, column: str) -> list[str]:
    """The formulas (as written) of ``column`` of the CSV file ``path``; a bad row is a one-line error."""
    from vae_design.data.csv_input import read_formulas

    rows, compositions = read_formulas(path, column)
    model.check_usable(compositions, path, [row for row, _ in rows], column)
    return [cells[column] for _, cells in rows]


def run_suggest(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.design.generate import plan_generation, run_generation
    from vae_design.design.scoring import KnownAlloys
    from vae_design.design.suggest import suggest, summary_text, write_suggestions
    from vae_design.design.workflows import target_index

    run, generate = _settings(cfg)
    model = load_model(cfg, overrides)
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
    table, figures = suggest(model, compositions, known, run, run.target)
    out = run_dir(cfg).absolute()
    with staged_run_dir(out) as staging:
        figures = write_suggestions(table, figures, known, staging, model.classes)
        save_config(cfg, overrides, staging)
    print(summary_text(table, figures, run, out))
    return 0

"""Plain functions behind the sub-commands: config in, files and printed text out."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from vae_design.errors import InputError, where
from vae_design.outputs import staged_run_dir


def run_dir(cfg: DictConfig) -> Path:
    return Path(str(cfg.hydra.run.dir))


def save_config(cfg: DictConfig, overrides: list[str], folder: Path) -> None:
    """Hydra's record of a run: .hydra/config.yaml and .hydra/overrides.yaml inside ``folder``."""
    plain = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    (folder / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(plain), encoding="utf-8")
    (folder / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(list(overrides)), encoding="utf-8")


def options(cfg: DictConfig, key: str, function: Callable, extra: tuple[str, ...] = ()) -> dict:
    """``cfg[key]`` as keyword arguments of ``function``; a key it does not take is a one-line error."""
    values = OmegaConf.to_container(cfg[key], resolve=True)
    if not isinstance(values, dict):
        raise InputError(f"{key} must be a group of settings, got {values!r}")
    known = [*inspect.signature(function).parameters, *extra]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown setting {key}.{unknown[0]} (known: {', '.join(known)})")
    return values


def load_dataset(cfg: DictConfig):
    """The alloy table and split a run's ``data`` and ``split`` configs describe (one way, for every command)."""
    from vae_design.data import load_table, make_split
    from vae_design.features.coverage import drop_without_descriptors

    data = options(cfg, "data", load_table, extra=("drop_without_descriptors",))
    drop = data.pop("drop_without_descriptors", True)
    table = load_table(**data)
    if drop:
        table = drop_without_descriptors(table)
    return table, make_split(table, **options(cfg, "split", make_split))


def run_data_summary(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data.summary import summarise

    table, split = load_dataset(cfg)
    print(summarise(table, split))
    return 0


def run_featurize(cfg: DictConfig, overrides: list[str]) -> int:
    from rich.progress import Progress

    from vae_design.data.csv_input import parse_formula_cell, read_table
    from vae_design.features.featurize import featurize_compositions

    path, column = str(cfg.input), str(cfg.formula_col)
    rows = read_table(path, (column,))
    compositions = [parse_formula_cell(cells[column], path, row, column) for row, cells in rows]
    with Progress(transient=True, disable=len(rows) < 200_000) as progress:
        task = progress.add_task("featurizing", total=len(rows))
        table = featurize_compositions(
            compositions,
            batch_size=cfg.batch_size,
            locate=lambda i: where(path, rows[i][0], column),
            progress=lambda done: progress.update(task, completed=done),
        )
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    out = run_dir(cfg)
    with staged_run_dir(out) as staging:
        table.to_csv(staging / "descriptors.csv", index=False, float_format="%.10g")
        save_config(cfg, overrides, staging)
    print(f"wrote {len(table)} alloys x {table.shape[1] - 1} descriptors to {out / 'descriptors.csv'}")
    return 0

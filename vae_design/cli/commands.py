"""Plain functions behind the sub-commands: config in, files and printed text out."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from vae_design.errors import InputError, located
from vae_design.outputs import write_atomic, write_text_atomic


def run_dir(cfg: DictConfig) -> Path:
    return Path(str(cfg.hydra.run.dir))


def save_config(cfg: DictConfig, overrides: list[str]) -> None:
    """Hydra's record of a run (.hydra/config.yaml, overrides.yaml), written once the run has succeeded."""
    folder = run_dir(cfg) / ".hydra"
    plain = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    write_text_atomic(folder / "config.yaml", OmegaConf.to_yaml(plain))
    write_text_atomic(folder / "overrides.yaml", OmegaConf.to_yaml(list(overrides)))


def data_options(cfg: DictConfig) -> dict:
    """The data config as keyword arguments of ``load_table`` (lists as lists, nothing Hydra-specific)."""
    return OmegaConf.to_container(cfg.data, resolve=True)


def split_options(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg.split, resolve=True)


def run_data_summary(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data import load_table, make_split
    from vae_design.data.summary import summarise

    table = load_table(**data_options(cfg))
    print(summarise(table, make_split(table, **split_options(cfg))))
    return 0


def run_featurize(cfg: DictConfig, overrides: list[str]) -> int:
    from rich.progress import Progress

    from vae_design.data.composition import parse_formula
    from vae_design.data.csv_input import read_table
    from vae_design.features.featurize import featurize_compositions

    path, column = str(cfg.input), str(cfg.formula_col)
    rows = read_table(path, (column,))
    compositions = []
    for row, cells in rows:
        if not cells[column]:
            raise InputError(located("empty formula", path, row, column))
        try:
            compositions.append(parse_formula(cells[column]))
        except InputError as error:
            raise InputError(located(str(error), path, row, column)) from None
    with Progress(transient=True, disable=len(rows) < 200_000) as progress:
        task = progress.add_task("featurizing", total=len(rows))
        table = featurize_compositions(
            compositions,
            batch_size=int(cfg.batch_size),
            locate=lambda i: located("", path, rows[i][0], column).rstrip(": "),
            progress=lambda done: progress.update(task, completed=done),
        )
    table.insert(0, "formula", [cells[column] for _, cells in rows])
    out = run_dir(cfg) / "descriptors.csv"
    write_atomic(out, lambda tmp: table.to_csv(tmp, index=False, float_format="%.10g"))
    save_config(cfg, overrides)
    print(f"wrote {len(table)} alloys x {table.shape[1] - 1} descriptors to {out}")
    return 0

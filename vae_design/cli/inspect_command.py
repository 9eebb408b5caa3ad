"""``vae-design inspect``: the report on a trained model's head and latent space, or one alloy explained. The
``inspect`` group is :class:`~vae_design.inspect.settings.InspectSettings` (types checked by Hydra, ranges by it)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from vae_design.cli.commands import load_model, run_dir, save_config
from vae_design.cli.settings import settings
from vae_design.errors import InputError
from vae_design.outputs import staged_run_dir


def held_out_alloys(cfg: DictConfig, model, model_path: Path):
    """(compositions, labels) of the test alloys: from test=FILE.csv, else the training run's test part stored in
    the bundle (``known_alloys.csv``, part 'test'); None when neither is available."""
    from vae_design.inspect.held_out import bundle_held_out, read_held_out

    if cfg.test is not None:
        return read_held_out(str(cfg.test), str(cfg.formula_col), str(cfg.label_col), model)
    test = bundle_held_out(model)
    if test is None:
        print(f"note: {model_path / 'known_alloys.csv'} lists no test alloys; pass test=FILE.csv to add them")
    return test


def run_inspect(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data.csv_input import setting_composition
    from vae_design.inspect.explain import explain_one
    from vae_design.inspect.inspection import InspectionData, inspect_model
    from vae_design.inspect.report import write_report

    chosen = settings(cfg, "inspect")
    model = load_model(cfg, overrides)
    model_path = Path(str(cfg.bundle))
    data = InspectionData.from_bundle(model)
    if len(data.train[0]) == 0 or len(data.val[0]) == 0:
        raise InputError(f"{model_path / 'known_alloys.csv'}: the bundle lists no training or validation alloys")
    if cfg.alloy is not None:
        print(explain_one(model, data, setting_composition(model, "alloy", str(cfg.alloy)), str(cfg.alloy), chosen))
        return 0
    data.test = held_out_alloys(cfg, model, model_path)
    inspection = inspect_model(model, data, chosen)
    out = run_dir(cfg)
    with staged_run_dir(out) as staging:
        written = write_report(inspection, staging, str(model_path))
        save_config(cfg, overrides, staging)
    print(f"{inspection.headline()}\nwrote {out}: {', '.join(written)}")
    return 0

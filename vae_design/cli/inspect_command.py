"""``vae-design inspect``: the report on a trained model's head and latent space, or one alloy explained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from vae_design.cli.commands import (
    _checked,
    _locate_unusable,
    load_model,
    options,
    run_dir,
    save_config,
)
from vae_design.errors import InputError, located
from vae_design.outputs import staged_run_dir


def inspect_settings(cfg: DictConfig):
    from vae_design.inspect.inspection import InspectSettings

    values = _checked("inspect", options(cfg, "inspect", InspectSettings), InspectSettings)
    if not 0 < values.get("level", 0.9) < 1:
        raise InputError(f"inspect.level must be between 0 and 1, got {values['level']}")
    axes = values.get("traversal_axes")
    if axes is not None and (isinstance(axes, bool) or not isinstance(axes, int) or axes < 1):
        raise InputError(f"inspect.traversal_axes must be a whole number of at least 1 or null, got {axes!r}")
    for key in ("shap_background", "shap_alloys", "formula_max_terms", "latent_alloys"):
        if key in values and values[key] < 1:
            raise InputError(f"inspect.{key} must be at least 1, got {values[key]}")
    return InspectSettings(**values)


def held_out_alloys(cfg: DictConfig, model, model_path: Path):
    """(compositions, labels) of the test alloys: from test=FILE.csv, else the training run's test part stored in
    the bundle (``known_alloys.csv``, part 'test'); None when neither is available."""
    from vae_design.data.csv_input import parse_formula_cell, parse_label, read_table

    if cfg.test is not None:
        path, formula_col, label_col = str(cfg.test), str(cfg.formula_col), str(cfg.label_col)
        rows = read_table(path, (formula_col, label_col))
        compositions, labels = [], []
        for row, cells in rows:
            label, _ = parse_label(cells[label_col], model.target, path, row, label_col)
            if label is None:
                raise InputError(located("a test alloy needs a label", path, row, label_col))
            compositions.append(parse_formula_cell(cells[formula_col], path, row, formula_col))
            labels.append(label)
        _locate_unusable(model, compositions, path, [row for row, _ in rows], formula_col)
        return compositions, np.asarray(labels, dtype=int)
    from vae_design.data.composition import parse_formula

    known = model.known_alloys
    rows = known[known["part"] == "test"] if known is not None else None
    if rows is None or not len(rows):
        print(f"note: {model_path / 'known_alloys.csv'} lists no test alloys; pass test=FILE.csv to add them")
        return None
    return [parse_formula(f) for f in rows["formula"]], rows["label"].to_numpy(dtype=int)


def run_inspect(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data.composition import parse_formula
    from vae_design.inspect.inspection import InspectionData, inspect_model

    settings = inspect_settings(cfg)
    model = load_model(cfg)
    model_path = Path(str(cfg.model))
    data = InspectionData.from_bundle(model)
    if len(data.train[0]) == 0 or len(data.val[0]) == 0:
        raise InputError(f"{model_path / 'known_alloys.csv'}: the bundle lists no training or validation alloys")
    if cfg.alloy is not None:
        text = str(cfg.alloy)
        try:
            composition = parse_formula(text)
        except InputError as error:
            raise InputError(f"alloy={text}: {error}") from None
        _locate_unusable(model, [composition], f"alloy={text}", [None], None)
        print(explain_one(model, data, composition, text, settings))
        return 0
    data.test = held_out_alloys(cfg, model, model_path)
    inspection = inspect_model(model, data, settings)
    from vae_design.inspect.report import write_report

    out = run_dir(cfg)
    with staged_run_dir(out) as staging:
        written = write_report(inspection, staging, str(model_path))
        save_config(cfg, overrides, staging)
    summary = inspection.summary
    formula = summary["formula"]
    print(f"formula ({formula['n_terms']} terms): logit P(single phase) = {formula['expression']}")
    print(
        f"validation AUC: head {summary['comparison']['head'].get('auc_val', float('nan')):.3f}, formula "
        f"{formula['auc_val']:.3f}; effective parameters {summary['fim']['effective_dimension']:.2f}"
    )
    print(f"wrote {out}: {', '.join(written)}")
    return 0


def explain_one(model, data, composition, text: str, settings) -> str:
    """P(single phase) of one alloy with each descriptor's SHAP contribution and value in its unit."""
    from vae_design.features.descriptors import DESCRIPTOR_UNITS
    from vae_design.inspect.attributions import explain_head
    from vae_design.inspect.head import HeadView
    from vae_design.inspect.inspection import raw_descriptors

    view = HeadView(model.vae)
    x_train = model.vocabulary.to_tensor(data.train[0])
    rng = np.random.default_rng(settings.seed)
    background = np.sort(rng.choice(len(x_train), size=min(settings.shap_background, len(x_train)), replace=False))
    x = model.vocabulary.to_tensor([composition])
    result = explain_head(view, x, x_train[background])
    values = raw_descriptors(view, x).iloc[0]
    mean, std = model.predict_proba([composition], return_std=True)
    multi = model.classes.index("multi-phase")
    log_odds = result.outputs[0]
    lines = [
        f"{text}: P(single phase) {1 - mean[0, multi]:.3f} +- {std[0, multi]:.3f} "
        f"(head alone at its posterior mean: {1 / (1 + np.exp(-log_odds)):.3f})",
        f"log-odds {log_odds:+.3f} = average over training alloys {result.base_values[0]:+.3f} + contributions:",
    ]
    for j in np.argsort(-np.abs(result.values[0])):
        player = result.players[j]
        value = f"= {values[player]:.4g} {DESCRIPTOR_UNITS.get(player, '')}" if player in values.index else ""
        lines.append(f"  {player:<12} {result.values[0, j]:+.3f}   {value}".rstrip())
    return "\n".join(lines)

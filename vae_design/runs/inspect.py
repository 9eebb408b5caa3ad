"""``vae-design inspect`` as a plain function: the report on a trained model's head and latent space
(:mod:`vae_design.inspect`), or one alloy explained."""

from __future__ import annotations

from pathlib import Path

from vae_design.errors import InputError
from vae_design.inspect.settings import InspectRun
from vae_design.runs import Record, setting_composition, staged_run, trained_model

SETTINGS = InspectRun  # the root schema of configs/inspect.yaml (registered by the CLI as inspect_schema)


def held_out_alloys(run: InspectRun, model, bundle: Path):
    """(compositions, labels) of the test alloys: from ``run.test`` (a CSV file), else the training run's test part
    stored in the bundle (``known_alloys.csv``, part 'test'); None when neither is available."""
    from vae_design.inspect.held_out import bundle_held_out, read_held_out

    if run.test is not None:
        return read_held_out(str(run.test), str(run.formula_col), str(run.label_col), model)
    test = bundle_held_out(model)
    if test is None:
        print(f"note: {Path(bundle) / 'known_alloys.csv'} lists no test alloys; pass test=FILE.csv to add them")
    return test


def inspect(run: InspectRun, out: Path, record: Record | None = None, *, bundle: str | None) -> str:
    """The explanation of ``run.alloy`` (nothing written), or the report on the model of ``bundle`` written into
    ``out``; returns what to print."""
    from vae_design.inspect.explain import explain_one
    from vae_design.inspect.inspection import InspectionData, inspect_model
    from vae_design.inspect.report import write_report

    model = trained_model(bundle)
    data = InspectionData.from_bundle(model)
    if len(data.train[0]) == 0 or len(data.val[0]) == 0:
        raise InputError(f"{Path(bundle) / 'known_alloys.csv'}: the bundle lists no training or validation alloys")
    if run.alloy is not None:
        return explain_one(model, data, setting_composition(model, "alloy", str(run.alloy)), run.alloy, run.inspect)
    data.test = held_out_alloys(run, model, Path(bundle))
    inspection = inspect_model(model, data, run.inspect)
    out = Path(out)
    with staged_run(out, record) as staging:
        written = write_report(inspection, staging, str(bundle))
    return f"{inspection.headline()}\nwrote {out}: {', '.join(written)}"

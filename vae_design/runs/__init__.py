"""The jobs behind the ``vae-design`` commands as plain functions, one module per command: typed settings and an
output folder in, files written (staged: all or nothing) and the text to print out. No Hydra here: ``vae_design/cli``
composes the settings, calls one of these and prints what it returns.

Each job is ``command(settings, out, record=None, **keys)``: ``settings`` is the command's root dataclass (its
top-level keys, named by the module's ``SETTINGS``), ``keys`` are the config's other keys (train's groups as their
dataclasses, ``bundle``, suggest's ``generate``), and ``record(folder)`` writes the caller's record of the settings
into the staged folder (the CLI's ``.hydra/``). Notes that matter while long work runs (a resumed run without a
checkpoint, the data problems found) are printed as they happen; the summary is returned.

| command | function |
|---|---|
| train, data summary | :func:`vae_design.runs.train.train`, :func:`vae_design.runs.train.data_summary` |
| predict | :func:`vae_design.runs.predict.predict` |
| featurize | :func:`vae_design.runs.featurize.featurize` |
| generate | :func:`vae_design.runs.generate.generate` |
| suggest | :func:`vae_design.runs.suggest.suggest` |
| inspect | :func:`vae_design.runs.inspect.inspect` |
| update | :func:`vae_design.runs.update.update` |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vae_design.errors import InputError
from vae_design.outputs import staged_run_dir

Record = Callable[[Path], None]  # writes the caller's record of the settings into a staged run folder


def bundle_folder(path: str | Path | None) -> Path:
    """``path`` as the folder of a model bundle (a training run's ``model/``); none given, or no such folder, is a
    one-line error naming ``bundle=``."""
    if not isinstance(path, (str, Path, type(None))):
        raise InputError(f"bundle must be a folder path, got {path!r}")
    if path is None or not str(path).strip():
        raise InputError("bundle=PATH is required: the model/ folder of a training run (RUN_DIR/model)")
    if not Path(path).is_dir():
        raise InputError(f"bundle={path}: no such folder (pass the model/ folder of a training run)")
    return Path(path)


def trained_model(bundle: str | Path | None):
    """The :class:`~vae_design.api.AlloyVAE` saved in the model bundle ``bundle`` (checked by :func:`bundle_folder`)."""
    from vae_design.api import AlloyVAE

    return AlloyVAE.load(bundle_folder(bundle))


@contextmanager
def staged_run(out: str | Path, record: Record | None) -> Iterator[Path]:
    """:func:`~vae_design.outputs.staged_run_dir` for a command's run folder ``out``, with the caller's ``record``
    written into the staged folder after the command's own files."""
    with staged_run_dir(Path(out)) as staging:
        yield staging
        if record is not None:
            record(staging)


def setting_composition(model, setting: str, text: str):
    """The composition of a formula given as a setting (``formula=``, ``alloy=``), one ``model`` can score;
    otherwise a one-line error naming the setting."""
    from vae_design.data.composition import parse_formula

    try:
        composition = parse_formula(text)
    except InputError as error:
        raise InputError(f"{setting}={text}: {error}") from None
    model.check_usable([composition], f"{setting}={text}", [None], None)
    return composition

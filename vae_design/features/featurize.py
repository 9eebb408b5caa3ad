"""Descriptors for a list of compositions, in batches, as a table (the `vae-design featurize` workhorse)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from vae_design.data.composition import Composition
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError
from vae_design.features.descriptors import DESCRIPTOR_NAMES, Descriptors


def featurize_compositions(
    compositions: Sequence[Composition],
    batch_size: int = 100_000,
    locate: Callable[[int], str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One row per composition, columns ``DESCRIPTOR_NAMES`` (float64; units in ``DESCRIPTOR_UNITS``).

    An alloy with an element or element pair that the descriptor tables lack is an InputError; ``locate(i)``
    turns the alloy's position into a place for the message (e.g. "alloys.csv, row 7, column 'formula'").
    ``progress(n)`` is called after each batch with the number of alloys done.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size}")
    vocabulary = ElementVocabulary.from_compositions(compositions)
    descriptors = Descriptors(vocabulary.elements).double()
    values = np.empty((len(compositions), len(DESCRIPTOR_NAMES)))
    with torch.no_grad():
        for start in range(0, len(compositions), batch_size):
            batch = vocabulary.to_tensor(compositions[start : start + batch_size], dtype=torch.float64)
            reasons = descriptors.unsupported_reasons(batch)
            if reasons:
                first, reason = next(iter(reasons.items()))
                place = locate(start + first) if locate else f"alloy {start + first + 1}"
                raise InputError(f"{place}: {reason}")
            values[start : start + len(batch)] = descriptors(batch).numpy()
            if progress is not None:
                progress(start + len(batch))
    return pd.DataFrame(values, columns=list(DESCRIPTOR_NAMES))

"""Keep only alloys whose descriptors can be computed, before any split is drawn.

A few shipped alloys contain elements without tabulated data (N, O, H have no bulk modulus; S, Se, Te, Pu have no
pair enthalpies). Dropping them once, here, keeps seeded splits identical for every later step that needs
descriptors.
"""

from __future__ import annotations

from collections import Counter

import torch

from vae_design.data.table import AlloyTable
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError
from vae_design.features.descriptors import Descriptors


def drop_without_descriptors(table: AlloyTable, strict: bool = False) -> AlloyTable:
    """The table without alloys the descriptor tables cannot describe, with a note counting them by reason.

    ``strict`` (a user's own file) makes the first such alloy an error naming its row instead.
    """
    alloys = table.alloys
    vocabulary = ElementVocabulary.from_compositions(alloys["composition"])
    descriptors = Descriptors(vocabulary.elements)
    fractions = vocabulary.to_tensor(list(alloys["composition"]), dtype=torch.float64)
    reasons = descriptors.unsupported_reasons(fractions)
    if not reasons:
        return table
    if strict:
        position, reason = next(iter(reasons.items()))
        place = str(alloys["source"].iloc[position]).replace(":", ", row ")
        raise InputError(f"{place}: {alloys['formula'].iloc[position]}: {reason}")
    counts = Counter(reasons.values()).most_common(3)
    note = (
        f"{len(reasons)} alloys ({int(alloys['label'].iloc[list(reasons)].notna().sum())} labelled) were dropped "
        f"because descriptor data are missing, mostly: " + "; ".join(f"{reason} ({n})" for reason, n in counts)
    )
    keep = ~alloys.index.isin(alloys.index[list(reasons)])
    return AlloyTable(
        alloys=alloys[keep].reset_index(drop=True),
        target=table.target,
        name=table.name,
        conflicts=table.conflicts,
        notes=(*table.notes, note),
    )

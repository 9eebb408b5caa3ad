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
from vae_design.features.descriptors import Descriptors


def drop_without_descriptors(table: AlloyTable) -> AlloyTable:
    """The table without alloys the descriptor tables cannot describe, with a note counting them by reason.

    In a user's own files each is also recorded in ``table.problems``, or under ``data.on_problem=error`` the first
    is an error naming its row.
    """
    alloys = table.alloys
    vocabulary = ElementVocabulary.from_compositions(alloys["composition"])
    descriptors = Descriptors(vocabulary.elements)
    fractions = vocabulary.to_tensor(list(alloys["composition"]), dtype=torch.float64)
    reasons = descriptors.unsupported_reasons(fractions)
    positions = sorted(reasons)
    counts = Counter(reasons.values()).most_common(3)
    note = (
        f"{len(reasons)} alloys ({int(alloys['label'].iloc[positions].notna().sum())} labelled) were dropped "
        f"because descriptor data are missing, mostly: " + "; ".join(f"{reason} ({n})" for reason, n in counts)
    )
    return table.drop_alloys(positions, reasons.__getitem__, note, "no_descriptor_data")

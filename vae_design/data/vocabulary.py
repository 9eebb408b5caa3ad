"""Element vocabulary: the fixed column order of the N x E composition matrix.

The vocabulary is part of a trained model (saved in its bundle): a composition tensor only means something
together with the element order it was built with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from vae_design.data.composition import Composition, atomic_number, element_symbols
from vae_design.errors import InputError


@dataclass(frozen=True)
class ElementVocabulary:
    """An ordered tuple of element symbols; column j of a composition matrix is ``elements[j]``."""

    elements: tuple[str, ...]

    def __post_init__(self) -> None:
        # The one check of element lists: the descriptor tables and the model rely on it too.
        unknown = [repr(e) for e in self.elements if not isinstance(e, str) or e not in element_symbols()]
        if unknown:
            raise InputError(f"element vocabulary has unknown element symbol(s) {', '.join(unknown)}")
        repeated = sorted({repr(e) for e in self.elements if self.elements.count(e) > 1})
        if repeated:
            raise InputError(f"element vocabulary lists {', '.join(repeated)} more than once")
        if not self.elements:
            raise InputError("element vocabulary is empty")

    @classmethod
    def from_compositions(cls, compositions: Iterable[Mapping[str, float]]) -> ElementVocabulary:
        """Every element present in the data, ordered by atomic number (H first)."""
        present = {element for composition in compositions for element in composition}
        return cls(tuple(sorted(present, key=atomic_number)))

    @classmethod
    def from_config(
        cls, elements: Sequence[str] | str | None, compositions: Iterable[Mapping[str, float]]
    ) -> ElementVocabulary:
        """The configured element list in its given order (one name: a one-item list, as ``data.elements=Fe``),
        or (when None) the elements of the data."""
        if elements is None:
            return cls.from_compositions(compositions)
        return cls((str(elements),) if isinstance(elements, str) else tuple(str(e) for e in elements))

    def __len__(self) -> int:
        return len(self.elements)

    def index(self, element: str) -> int:
        try:
            return self._positions[element]
        except KeyError:
            raise InputError(
                f"element '{element}' is not in the model's element vocabulary "
                f"({len(self)} elements: {', '.join(self.elements)})"
            ) from None

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {element: j for j, element in enumerate(self.elements)}

    def outside(self, composition: Mapping[str, float]) -> list[str]:
        """Elements of ``composition`` that the vocabulary lacks."""
        return [element for element in composition if element not in self._positions]

    def to_array(self, compositions: Sequence[Mapping[str, float]], dtype: type = np.float64) -> np.ndarray:
        """(N, E) matrix of mole fractions; an element outside the vocabulary is an InputError."""
        matrix = np.zeros((len(compositions), len(self)), dtype=dtype)
        for row, composition in enumerate(compositions):
            for element, fraction in composition.items():
                matrix[row, self.index(element)] = fraction
        return matrix

    def to_tensor(self, compositions: Sequence[Mapping[str, float]], dtype=None, device=None):
        """(N, E) torch tensor of mole fractions (float32 unless ``dtype`` says otherwise)."""
        import torch  # data/ stays importable without torch loaded, which keeps `data summary` fast

        array = self.to_array(compositions)
        return torch.as_tensor(array, dtype=dtype or torch.float32, device=device)

    def to_compositions(self, fractions, min_fraction: float = 0.0) -> list[Composition]:
        """Rows of an (N, E) array or tensor back to compositions.

        Fractions at or below ``min_fraction`` are dropped and the rest renormalised, so a decoder's tiny
        leftovers do not become trace elements.
        """
        matrix = fractions.detach().cpu().numpy() if hasattr(fractions, "detach") else np.asarray(fractions)
        if matrix.ndim != 2 or matrix.shape[1] != len(self):
            raise InputError(f"expected an (N, {len(self)}) fraction matrix, got shape {tuple(matrix.shape)}")
        compositions = []
        for row, values in enumerate(matrix):
            keep = values > min_fraction
            total = float(values[keep].sum())
            if not np.isfinite(values).all() or total <= 0:
                raise InputError(f"row {row} of the fraction matrix has no positive finite fraction")
            compositions.append(
                {
                    self.elements[j]: float(values[j]) / total
                    for j in sorted(np.flatnonzero(keep), key=lambda j: self.elements[j])
                }
            )
        return compositions

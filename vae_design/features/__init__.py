"""Physics descriptors of alloy compositions, vectorised in torch, with element data from matminer's files."""

from vae_design.features.descriptors import DESCRIPTOR_NAMES, DESCRIPTOR_UNITS, Descriptors
from vae_design.features.elements import element_table, mixing_enthalpy_matrix

__all__ = ["DESCRIPTOR_NAMES", "DESCRIPTOR_UNITS", "Descriptors", "element_table", "mixing_enthalpy_matrix"]

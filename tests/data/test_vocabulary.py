import numpy as np
import pytest
import torch

from vae_design.data.composition import parse_formula
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.errors import InputError


def test_vocabulary_from_data_orders_by_atomic_number():
    vocabulary = ElementVocabulary.from_compositions([parse_formula("NiAl"), parse_formula("TiFeW")])
    assert vocabulary.elements == ("Al", "Ti", "Fe", "Ni", "W")


def test_tensor_round_trip():
    compositions = [parse_formula("AlCoCrFeNi"), parse_formula("Fe80Cr20")]
    vocabulary = ElementVocabulary(("Fe", "Cr", "Ni", "Co", "Al"))
    tensor = vocabulary.to_tensor(compositions, dtype=torch.float64)
    assert tensor.shape == (2, 5)
    assert torch.allclose(tensor.sum(1), torch.ones(2, dtype=torch.float64))
    assert tensor[1, 0] == pytest.approx(0.8)
    back = vocabulary.to_compositions(tensor)
    assert back[0] == pytest.approx(compositions[0]) and back[1] == pytest.approx(compositions[1])


def test_to_compositions_drops_leftovers_and_renormalises():
    vocabulary = ElementVocabulary(("Fe", "Ni", "Cr"))
    back = vocabulary.to_compositions(np.array([[0.495, 0.495, 0.01]]), min_fraction=0.02)
    assert back == [pytest.approx({"Fe": 0.5, "Ni": 0.5})]


def test_vocabulary_errors():
    with pytest.raises(InputError, match="more than once"):
        ElementVocabulary(("Fe", "Fe"))
    with pytest.raises(InputError, match="unknown element"):
        ElementVocabulary(("Fe", "Qq"))
    with pytest.raises(InputError, match="'Ti' is not in the model's element vocabulary"):
        ElementVocabulary(("Fe", "Ni")).to_array([parse_formula("FeTi")])
    with pytest.raises(InputError, match=r"\(N, 2\)"):
        ElementVocabulary(("Fe", "Ni")).to_compositions(np.ones((3, 3)))

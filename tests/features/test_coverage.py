import dataclasses

import pytest

from vae_design.data import load_table, make_split
from vae_design.data.csv_input import load_csv
from vae_design.errors import InputError
from vae_design.features.coverage import drop_without_descriptors


def test_shipped_alloys_without_element_data_are_dropped_before_splitting():
    table = load_table()
    covered = drop_without_descriptors(table)
    dropped = set(table.alloys["formula"]) - set(covered.alloys["formula"])
    assert 50 < len(dropped) < 400
    assert any(
        "N" in composition for composition in table.alloys.set_index("formula").loc[list(dropped)]["composition"]
    )
    assert "dropped because descriptor data are missing" in covered.notes[-1]
    assert drop_without_descriptors(covered) is covered  # nothing left to drop
    # splits are drawn on the covered table, so they never shift when descriptors are needed later
    split = make_split(covered, seed=0)
    assert set(covered.alloys["formula"].to_numpy()[split.test]).isdisjoint(dropped)


def test_a_users_alloy_without_element_data_is_reported_or_an_error_naming_its_row(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("formula,label\nCoCrFeNi,1\nFe80N20,0\n")
    with pytest.raises(InputError, match=r"mine.csv, row 3: Fe80N20: no bulk modulus for element 'N'"):
        drop_without_descriptors(load_csv(path=str(path), on_problem="error"))
    table = load_csv(path=str(path))  # the default policy: dropped and reported
    kept = drop_without_descriptors(table)
    assert len(kept.alloys) == 1 and [(p.kind, p.row, p.formula) for p in kept.problems] == [
        ("no_descriptor_data", 3, "Fe80N20")
    ]
    assert "no bulk modulus for element 'N'" in kept.problems[0].problem
    shipped = dataclasses.replace(table, from_user_files=False)  # shipped data: dropped with a note, no report
    assert len(drop_without_descriptors(shipped).alloys) == 1 and not drop_without_descriptors(shipped).problems

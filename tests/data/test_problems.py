"""A literature-style dataset with every kind of data problem: one report, a default policy, the strict mode."""

from pathlib import Path

import pandas as pd
import pytest

from vae_design.data import load_table
from vae_design.data.problems import problem_counts, problems_frame
from vae_design.errors import InputError
from vae_design.features.coverage import drop_without_descriptors

LABELLED = """formula,label
Al0.2CoCrFeMnNi,1
AlCoCrFeNi,0
CoCrFeNi,1
Al3.9Co19.2Cr19.2Fe19.2Mn19.2Ni19.3,0
CoFeNiS,1
FeNi,1
CoCrNi,1
CoFeNi,1
CrFeNi,1
AlCrFeNi,0
AlCoFeNi,0
AlCoCrNi,0
CoCrFeMnNi,1
Al0.5CoCrFeNi,0
CoCrMn,1
FeMnNi,1
AlCoCrFeMnNi,0
CoCrFeMn,1
"""
TEST = """formula,label
CoCuFeNiTi,1
CrNi,1
Co1Cu1Fe1Ni1Ti1,0
AlCoCrFeNi,0
"""
UNLABELLED = """formula
FeCo
CrNi
Al1Co1Cr1Fe1Ni1
"""


def literature_files(folder: Path) -> dict[str, str]:
    files = {"labelled": LABELLED, "test": TEST, "unlabelled": UNLABELLED}
    for part, text in files.items():
        (folder / f"{part}.csv").write_text(text)
    return {part: str(folder / f"{part}.csv") for part in files}


def test_the_default_policy_excludes_every_problem_and_reports_each_row(tmp_path):
    files = literature_files(tmp_path)
    table = drop_without_descriptors(load_table(source="csv", **files))
    report = problems_frame(table.problems)
    where = {(Path(f).name, r, k) for f, r, k in zip(report["file"], report["row"], report["kind"], strict=True)}
    assert where == {
        ("labelled.csv", 5, "near_duplicate"),  # Al0.2CoCrFeMnNi rounded to 0.1 at.%
        ("labelled.csv", 2, "conflicting_labels"),
        ("labelled.csv", 5, "conflicting_labels"),
        ("test.csv", 2, "conflicting_labels"),  # CoCuFeNiTi written two ways
        ("test.csv", 4, "conflicting_labels"),
        ("labelled.csv", 3, "in_two_parts"),  # AlCoCrFeNi: leaves training, stays in test
        ("unlabelled.csv", 3, "evaluation_in_pool"),  # CrNi
        ("unlabelled.csv", 4, "evaluation_in_pool"),  # AlCoCrFeNi
        ("labelled.csv", 6, "no_descriptor_data"),  # S has no pair enthalpies
    }
    alloys = table.alloys.set_index("formula")
    assert alloys.loc["Al20Co20Cr20Fe20Ni20", "part"] == "test" and alloys.loc["Al20Co20Cr20Fe20Ni20", "label"] == 0
    assert alloys.loc["Cr50Ni50", "part"] == "test"
    for conflicted in ("Al3.85Co19.23Cr19.23Fe19.23Mn19.23Ni19.23", "Co20Cu20Fe20Ni20Ti20"):
        assert alloys.loc[conflicted, "label"] is pd.NA  # kept as an unlabelled composition
        assert alloys.loc[conflicted, "part"] == ""
    assert not any("S" in c for c in table.alloys["composition"])
    assert problem_counts(table.problems) == {
        "n/excluded_conflicts": 4.0,
        "n/excluded_overlap": 1.0,
        "n/excluded_pool": 2.0,
        "n/excluded_descriptors": 1.0,
        "n/excluded_elements": 0.0,
        "n/merged_near_duplicates": 1.0,
    }


def test_the_error_policy_stops_at_the_first_problem_with_one_line(tmp_path):
    files = literature_files(tmp_path)
    with pytest.raises(InputError) as error:
        load_table(source="csv", on_problem="error", **files)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{files['labelled']}, row 5, column 'label': conflicting labels for Al3.85Co19.23")
    with pytest.raises(InputError, match="data.on_problem must be one of exclude, error"):
        load_table(source="csv", on_problem="vote", **files)


def test_one_file_parts_and_outside_elements_are_problems_too(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("formula,label,split\nFeNi,1,train\nNiFe,1,test\nCoNi,0,\nCoNiTi,0,\n")
    table = load_table(source="csv", path=str(path), elements=["Co", "Fe", "Ni"])
    kinds = sorted(p.kind for p in table.problems)
    assert kinds == ["in_two_parts", "outside_elements"]
    assert table.alloys.set_index("formula").loc["Fe50Ni50", "part"] == "test"
    with pytest.raises(InputError, match="is in part 'test' here and 'train' in row 2"):
        load_table(source="csv", path=str(path), on_problem="error")

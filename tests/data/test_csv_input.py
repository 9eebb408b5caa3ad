from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vae_design.data import load_table, make_split
from vae_design.data.csv_input import load_csv, read_alloy_csv
from vae_design.errors import InputError


def write(path: Path, text: str | bytes) -> str:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def test_one_file_with_labelled_and_unlabelled_rows(tmp_path):
    path = write(tmp_path / "a.csv", "formula,label\nAlCoCrFeNi,0\nCoCrFeMnNi,1\nNbTaTiV,\nNiFeCrCoMn,1\n\nFe80Cr20,\n")
    table = load_csv(path=path)
    assert len(table.alloys) == 4  # the Cantor alloy written twice is one alloy
    assert len(table.labelled) == 2 and len(table.unlabelled) == 2
    cantor = table.alloys.set_index("formula").loc["Co20Cr20Fe20Mn20Ni20"]
    assert cantor["label"] == 1 and cantor["source"] == "a.csv:3"


def test_near_identical_compositions_are_one_alloy(tmp_path):
    # the same nominal alloy rounded two ways: a conflict if labels differ, an overlap across files
    path = write(tmp_path / "a.csv", "formula,label\nAl0.3CoCrFeNi,1\nAl6.98Co23.26Cr23.26Fe23.26Ni23.25,0\n")
    with pytest.raises(InputError, match="row 3, column 'label': conflicting labels"):
        load_csv(path=path, on_problem="error")
    labelled = write(tmp_path / "l.csv", "formula,label\nAl0.3CoCrFeNi,1\nFeNi,0\n")
    test = write(tmp_path / "t.csv", "formula,label\nAl6.98Co23.26Cr23.26Fe23.26Ni23.25,1\n")
    with pytest.raises(InputError, match="also appears in"):
        load_csv(labelled=labelled, test=test, on_problem="error")
    distinct = write(tmp_path / "d.csv", "formula,label\nAl0.3CoCrFeNi,1\nAl7.2Co23.2Cr23.2Fe23.2Ni23.2,0\n")
    assert len(load_csv(path=distinct).alloys) == 2  # 0.2 at.% apart: two alloys


def test_renamed_columns_and_utf8_bom(tmp_path):
    path = write(tmp_path / "a.csv", "\ufeffalloy;x,phase_ok\nAlCoCrFeNi,1\n".replace(";x", ""))
    table = load_csv(path=path, formula_col="alloy", label_col="phase_ok")
    assert table.alloys["label"].tolist() == [1]


def test_phase_target_reads_phase_names(tmp_path):
    path = write(tmp_path / "a.csv", "formula,label\nAlCoCrFeNi,bcc\nCoCrFeMnNi,FCC\nAlCuFe,multi-phase\n")
    table = load_csv(path=path, target="phase")
    assert table.alloys["phase"].tolist() == ["BCC", "FCC", "multi-phase"]
    assert table.alloys["label"].tolist() == [0, 1, 3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "a.csv: the file is empty"),
        (",,\n , \n", "a.csv: the file is empty"),
        ("formula,label\n", "a.csv: the file has a header but no data rows"),
        ("alloy,label\nFeNi,1\n", "a.csv, row 1: missing column 'formula' (the header has: alloy, label)"),
        ("formula,label\nFeNi,1\nFeQq,0\n", "a.csv, row 3, column 'formula': unknown element symbol 'Qq'"),
        ("formula,label\nFeNi,2\n", "a.csv, row 2, column 'label': label must be 0, 1 or empty"),
        (
            "formula,label\nFeNi,nan\n",
            "a.csv, row 2, column 'label': label must be 0, 1 or empty (unlabelled), got 'nan'",
        ),
        ("formula,label\nFeNi,1\nFe0Ni,1\n", "a.csv, row 3, column 'formula': amount of Fe is zero"),
        ("formula,label\n,1\n", "a.csv, row 2, column 'formula': empty formula"),
        (
            "formula,label\nFeNi,1\nFe50Ni50,0\n",
            "a.csv, row 3, column 'label': conflicting labels for Fe50Ni50: 0 here, 1 in row 2",
        ),
        (
            "formula,label\nFeNi,1\nfeni,0\n",
            "a.csv, row 3, column 'formula': element symbols start with a capital",
        ),
        ('formula,label\nFeNi,1\n"CoNi,0\n', "a.csv, row 3: malformed CSV"),
        ("formula,label\nAl0,5CoCrFeNi,1\n", "a.csv, row 2: 3 fields but the header has 2 (a decimal comma"),
        ("formula,formula,label\nFeNi,CoNi,1\n", "a.csv, row 1: column 'formula' appears more than once"),
        ('formula,label\n"Fe\nNi",1\n', r"a.csv, row 2, column 'formula': unexpected character '\n'"),
        ('formula,label,note\nFeNi,1,"two\nlines"\nCoNi,x,\n', "a.csv, row 3, column 'label'"),  # sheet rows
        (b"\xff\xfef\x00o\x00", "a.csv: the file is UTF-16 text"),
        ("formula,label\nFeNi,yes\n", "got 'yes'"),
        (b"formula,label\nFeNi,1\nCo\xffNi,0\n", "a.csv, row 3: byte 0xff is not UTF-8 text"),
        (b"formula,label\nFeNi,1\x00\n", "a.csv, row 2: NUL byte"),
        (
            "formula,label,split\nFeNi,1,train\nCoNi,0,holdout\n",
            "a.csv, row 3, column 'split': split must be",
        ),
        (
            "formula,label,split\nFeNi,1,train\nCoNi,,test\n",
            "a.csv, row 3, column 'label': a test alloy must be labelled",
        ),
    ],
)
def test_bad_files_get_one_line_errors(tmp_path, content, message):
    path = write(tmp_path / "a.csv", content)
    with pytest.raises(InputError) as error:
        load_csv(path=path, on_problem="error")  # malformed input is an error under either policy: see below
    text = str(error.value)
    assert text.startswith(str(tmp_path / "a.csv")) or text.startswith("a.csv")
    assert message.replace("a.csv", str(tmp_path / "a.csv")) in text or message in text, text
    assert "\n" not in text


def test_missing_file_and_folders(tmp_path):
    with pytest.raises(InputError, match="nope.csv: no such file"):
        load_csv(path="nope.csv")
    with pytest.raises(InputError, match="is a folder, not a CSV file"):
        load_csv(path=str(tmp_path))


def test_trailing_commas_and_spreadsheet_labels_are_fine(tmp_path):
    path = write(tmp_path / "a.csv", "formula,label\r\nFeNi,1.00,\r\nCoNi , 0 \r\n")
    assert load_csv(path=path).alloys["label"].tolist() == [1, 0]


def test_explicit_split_files(tmp_path):
    labelled = write(
        tmp_path / "l.csv",
        "formula,label\n" + "".join(f"Fe{x}Ni{100 - x},{x % 2}\n" for x in range(5, 95, 5)),
    )
    unlabelled = write(tmp_path / "u.csv", "formula\nCoCrFeMnNi\nFe10Ni90\n")
    val = write(tmp_path / "v.csv", "formula,label\nAlCoCrFeNi,0\nCoCrFeNi,1\n")
    test = write(tmp_path / "t.csv", "formula,label\nNbTaTiV,1\nAlCuFe,0\n")
    table = load_table(source="csv", labelled=labelled, unlabelled=unlabelled, val=val, test=test)
    split = make_split(table)
    alloys = table.alloys
    assert set(alloys["formula"].to_numpy()[split.test]) == {"Nb25Ta25Ti25V25", "Al33.33Cu33.33Fe33.33"}
    assert set(alloys["formula"].to_numpy()[split.val]) == {"Al20Co20Cr20Fe20Ni20", "Co25Cr25Fe25Ni25"}
    assert len(split.train) == 18
    # Fe10Ni90 is labelled in l.csv, so the unlabelled copy adds nothing
    assert list(alloys["formula"].to_numpy()[split.unlabelled]) == ["Co20Cr20Fe20Mn20Ni20"]


def test_split_files_must_not_overlap(tmp_path):
    labelled = write(tmp_path / "l.csv", "formula,label\nFeNi,1\nCoNi,0\n")
    test = write(tmp_path / "t.csv", "formula,label\nNiCo,0\n")
    with pytest.raises(InputError, match=r"t.csv, row 2: Co50Ni50 also appears in .*l.csv, row 3"):
        load_csv(labelled=labelled, test=test, on_problem="error")
    unlabelled = write(tmp_path / "u.csv", "formula\nCo1Ni1\n")
    with pytest.raises(InputError, match="is a test alloy"):
        load_csv(
            labelled=write(tmp_path / "l2.csv", "formula,label\nFeNi,1\n"),
            test=test,
            unlabelled=unlabelled,
            on_problem="error",
        )


def test_file_roles_are_enforced(tmp_path):
    with pytest.raises(InputError, match="l.csv, row 3, column 'label': empty label in a file of labelled"):
        load_csv(labelled=write(tmp_path / "l.csv", "formula,label\nFeNi,1\nCoNi,\n"))
    with pytest.raises(InputError, match="the unlabelled file must not carry labels"):
        load_csv(
            labelled=write(tmp_path / "l2.csv", "formula,label\nFeNi,1\n"),
            unlabelled=write(tmp_path / "u.csv", "formula,label\nCoNi,1\n"),
        )
    with pytest.raises(InputError, match="either data.path"):
        load_csv(path="a.csv", labelled="b.csv")
    with pytest.raises(InputError, match="needs data.path"):
        load_csv()
    with pytest.raises(InputError, match="missing column 'label'"):
        read_alloy_csv(write(tmp_path / "x.csv", "formula\nFeNi\n"), "formula", "label", "single_phase", "required")


def test_elements_outside_the_vocabulary_are_an_error_for_user_files(tmp_path):
    path = write(tmp_path / "a.csv", "formula,label\nFeNi,1\nFeNiTi,0\n")
    with pytest.raises(InputError, match=r"a.csv, row 3: Fe33.33Ni33.33Ti33.33: element\(s\) Ti outside data.elements"):
        load_table(source="csv", path=path, elements=["Fe", "Ni"], on_problem="error")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(alphabet='formula,bel\n01 FeNiCo()."\r\x00é', max_size=120))
def test_csv_loader_never_raises_anything_but_its_own_error(tmp_path, content):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    try:
        table = load_csv(path=str(path))
    except InputError as error:
        assert "\n" not in str(error) and str(path) in str(error)
    else:
        assert table.alloys["formula"].is_unique


def test_semicolon_separated_files_from_european_spreadsheets(tmp_path):
    path = write(tmp_path / "eu.csv", "formula;label\nFeNi;1\nAl0.5CoCrFeNi;0\n")
    assert load_csv(path=path).alloys["label"].tolist() == [1, 0]
    decimal_comma = write(tmp_path / "eu2.csv", "formula;label\nAl0,5CoCrFeNi;0\n")
    with pytest.raises(InputError, match="eu2.csv, row 2, column 'formula'"):
        load_csv(path=decimal_comma)

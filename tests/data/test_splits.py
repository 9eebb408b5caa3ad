import numpy as np
import pytest

from vae_design.data import load_table, make_split
from vae_design.errors import InputError


@pytest.fixture(scope="module")
def table():
    return load_table()


def parts(split):
    return [split.train, split.unlabelled, split.val, split.test]


@pytest.mark.parametrize("scheme", ["random", "grouped"])
def test_parts_are_disjoint_and_labelled_where_needed(table, scheme):
    split = make_split(table, scheme=scheme, seed=3)
    everything = np.concatenate(parts(split))
    assert len(everything) == len(set(everything))
    labels = table.alloys["label"]
    for part in (split.train, split.val, split.test):
        assert labels.iloc[part].notna().all()
    assert 0.08 < len(split.test) / len(table.labelled) < 0.12


def test_random_split_is_stratified_and_seeded(table):
    a, b, c = (make_split(table, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(x, y) for x, y in zip(parts(a), parts(b), strict=True))
    assert not np.array_equal(a.test, c.test)
    labels = table.alloys["label"].to_numpy(dtype=float, na_value=np.nan)
    assert abs(np.nanmean(labels[a.test]) - np.nanmean(labels[a.train])) < 0.02


def test_grouped_split_keeps_families_on_one_side(table):
    split = make_split(table, scheme="grouped", seed=0)
    families = table.alloys["family"].to_numpy()
    train, val, test = (set(families[p]) for p in (split.train, split.val, split.test))
    assert not train & test and not train & val and not val & test
    assert not set(families[split.unlabelled]) & (test | val)  # pool alloys of evaluation systems stay out


def test_label_budget_edge_cases(table):
    full = make_split(table, seed=0)
    assert len(make_split(table, seed=0, label_budget=len(full.train) - 1).train) == len(full.train) - 1
    assert len(make_split(table, seed=0, label_budget=0.999).train) == round(0.999 * len(full.train))
    assert len(make_split(table, seed=0, label_budget=2).train) == 2


def test_label_budget_moves_labels_to_the_pool_without_touching_val_and_test(table):
    full = make_split(table, seed=0)
    for budget in (50, 0.25):
        small = make_split(table, seed=0, label_budget=budget)
        assert np.array_equal(small.test, full.test) and np.array_equal(small.val, full.val)
        expected = 50 if budget == 50 else round(0.25 * len(full.train))
        assert len(small.train) == expected
        assert set(small.train) <= set(full.train)
        assert len(small.unlabelled) == len(full.unlabelled) + len(full.train) - expected
    labels = table.alloys["label"].to_numpy(dtype=float, na_value=np.nan)
    assert 0.3 < labels[make_split(table, seed=0, label_budget=50).train].mean() < 0.55


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scheme": "kfold"}, "unknown split scheme"),
        ({"val_fraction": 0}, "val_fraction must be a fraction"),
        ({"test_fraction": 1.5}, "test_fraction must be a fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "must be below 1"),
        ({"label_budget": 10**6}, "asks for 1000000 labelled training alloys"),
        ({"label_budget": 1.5}, r"as a fraction must be in \(0, 1\]"),
        ({"label_budget": "many"}, "must be a count"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"seed": "abc"}, "seed must be a whole number"),
    ],
)
def test_split_errors(table, options, message):
    with pytest.raises(InputError, match=message):
        make_split(table, **options)


@pytest.mark.parametrize("n", [5, 10])
def test_a_file_too_small_to_stratify_is_a_one_line_error_saying_what_works(tmp_path, n):
    elements = ["Al", "Co", "Cr", "Fe", "Ni", "Mn", "Ti"]
    rows = [f"{a}{b},{k % 2}" for k, (a, b) in enumerate((a, b) for a in elements for b in elements if a < b)][:n]
    path = tmp_path / "small.csv"
    path.write_text("formula,label\n" + "\n".join(rows) + "\n")
    table = load_table(source="csv", path=str(path))
    with pytest.raises(InputError, match="too few for each of the 2 classes; give a test file .* at least 11") as error:
        make_split(table)
    assert "\n" not in str(error.value)
    rows = [f"{a}{b},{k % 2}" for k, (a, b) in enumerate((a, b) for a in elements for b in elements if a < b)][:20]
    path.write_text("formula,label\n" + "\n".join(rows) + "\n")
    assert make_split(load_table(source="csv", path=str(path))).sizes()["test"] == 2

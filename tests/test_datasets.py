"""The sample data registry: every data set exists, loads, and has its documented shape;
the simulated schools data match their truth file and regenerate identically."""

from __future__ import annotations

import csv
import importlib.util
import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest

from hiermod import datasets
from hiermod.data import ColumnMap, DataKind, GroupedData
from hiermod.errors import DataError

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "sample_data"

# name -> (n_groups, n_rows, kind, likelihood), as documented in sample_data/README.md
EXPECTED = {
    "eight_schools": (8, 8, DataKind.SUMMARY, "normal_known_se"),
    "efron_morris": (18, 18, DataKind.BINOMIAL, "binomial"),
    "rat_tumors": (71, 71, DataKind.BINOMIAL, "binomial"),
    "surgical": (12, 12, DataKind.BINOMIAL, "binomial"),
    "radon": (85, 919, DataKind.GAUSSIAN, "normal"),
    "simulated_schools": (30, 975, DataKind.GAUSSIAN, "normal"),
}

SHARED_COPIES = {
    "eight_schools.csv",
    "efron_morris_1975.csv",
    "rat_tumors.csv",
    "surgical.csv",
    "radon_mn.csv",
}


def _load_generator():
    path = SAMPLE_DIR / "make_simulated_schools.py"
    spec = importlib.util.spec_from_file_location("make_simulated_schools", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def loaded() -> dict[str, GroupedData]:
    return {name: datasets.load_dataset(name) for name in EXPECTED}


def test_registry_names_and_order():
    assert [d.name for d in datasets.list_datasets()] == list(EXPECTED)
    assert datasets.dataset_names() == list(EXPECTED)


def test_sample_dir_is_repo_sample_data():
    assert datasets.SAMPLE_DIR == SAMPLE_DIR
    assert SAMPLE_DIR.is_dir()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_entry_is_complete(name):
    info = datasets.dataset_info(name)
    assert isinstance(info, datasets.DatasetInfo)
    assert isinstance(info.columns, ColumnMap)
    n_groups, n_rows, kind, likelihood = EXPECTED[name]
    assert info.columns.kind == kind
    assert info.likelihood == likelihood
    assert (info.n_groups, info.n_rows) == (n_groups, n_rows)
    for text in (info.title, info.description, info.source, info.licence):
        assert isinstance(text, str) and text.strip()
    assert datasets.dataset_path(name) == SAMPLE_DIR / info.filename
    assert datasets.dataset_path(name).is_file()
    with pytest.raises(FrozenInstanceError):
        info.name = "other"  # type: ignore[misc]


def test_likelihoods_are_valid_spec_values():
    from hiermod.spec import Likelihood

    for info in datasets.list_datasets():
        assert Likelihood(info.likelihood).value == info.likelihood


@pytest.mark.parametrize("name", list(EXPECTED))
def test_mapped_columns_exist_in_file(name):
    info = datasets.dataset_info(name)
    with datasets.dataset_path(name).open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    cm = info.columns
    wanted = [cm.group, cm.y, cm.se, cm.trials, cm.exposure, *cm.covariates]
    wanted += list(info.available_covariates)
    if info.holdout:
        wanted += list(info.holdout)
    for column in wanted:
        if column is not None:
            assert column in header, f"{name}: column {column!r} not in {header}"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_loads_with_documented_shape(name, loaded):
    data = loaded[name]
    n_groups, n_rows, kind, _ = EXPECTED[name]
    assert isinstance(data, GroupedData)
    assert data.kind == kind
    assert data.n_groups == n_groups
    assert len(data.labels) == n_groups
    assert data.n_rows == n_rows
    assert int(np.sum(data.group_sizes)) == n_rows
    assert np.all(np.isfinite(data.y))
    if kind == DataKind.BINOMIAL:
        assert data.trials is not None
        assert np.all((data.y >= 0) & (data.y <= data.trials))
    if kind == DataKind.SUMMARY:
        assert data.se is not None and np.all(data.se > 0)
    assert data.X.shape == (n_rows, 0)  # no covariate by default


def test_known_values(loaded):
    es = loaded["eight_schools"]
    assert es.labels == tuple("ABCDEFGH")
    np.testing.assert_array_equal(es.y, [28, 8, -3, 7, -1, 1, 18, 12])
    np.testing.assert_array_equal(es.se, [15, 10, 16, 11, 9, 11, 10, 18])
    rats = loaded["rat_tumors"]
    assert (rats.y.sum(), rats.trials.sum()) == (267, 1739)
    assert rats.labels[-1] == "71" and (rats.y[-1], rats.trials[-1]) == (4, 14)
    em = loaded["efron_morris"]
    assert em.labels[0] == "Roberto Clemente" and em.y[0] == 18
    assert np.all(em.trials == 45)
    radon = loaded["radon"]
    assert (int(radon.group_sizes.min()), int(radon.group_sizes.max())) == (1, 116)


def test_efron_morris_holdout_note():
    info = datasets.dataset_info("efron_morris")
    assert info.holdout == ("remaining_hits", "remaining_at_bats")
    assert "remaining_hits" in info.notes and "remaining_at_bats" in info.notes
    assert "floor" in datasets.dataset_info("radon").available_covariates


def test_shared_copies_unchanged(shared_data):
    shared = shared_data
    for filename in SHARED_COPIES:
        assert (SAMPLE_DIR / filename).read_bytes() == (shared / filename).read_bytes()


def test_unknown_name_lists_names():
    with pytest.raises(DataError) as excinfo:
        datasets.dataset_info("nine_schools")
    message = str(excinfo.value)
    assert "nine_schools" in message
    for name in EXPECTED:
        assert name in message
    with pytest.raises(DataError):
        datasets.load_dataset("nope")
    assert datasets.dataset_info(" Eight_Schools ").name == "eight_schools"


def test_simulated_truth_matches_csv(loaded):
    truth = datasets.simulated_truth()
    assert (truth["mu"], truth["tau"], truth["sigma"]) == (50.0, 5.0, 12.0)
    labels = [f"S{j:02d}" for j in range(1, 31)]
    assert list(truth["theta"]) == labels
    assert list(truth["sizes"]) == labels
    assert truth["n_schools"] == 30
    assert truth["n_students"] == sum(truth["sizes"].values()) == 975
    sizes = list(truth["sizes"].values())
    assert min(sizes) >= 3 and max(sizes) <= 60 and len(set(sizes)) > 10

    data = loaded["simulated_schools"]
    assert list(data.labels) == labels
    np.testing.assert_array_equal(data.group_sizes, sizes)

    thetas = np.array(list(truth["theta"].values()))
    assert truth["realised_theta_mean"] == pytest.approx(thetas.mean(), abs=1e-4)
    assert truth["realised_theta_sd"] == pytest.approx(thetas.std(ddof=1), abs=1e-4)
    # each school's sample mean lies within 5 standard errors of its true mean
    means = np.bincount(data.group_idx, weights=data.y) / data.group_sizes
    z = (means - thetas) / (truth["sigma"] / np.sqrt(sizes))
    assert np.all(np.abs(z) < 5)


def test_simulation_is_deterministic_and_matches_committed_files():
    gen = _load_generator()
    rows_a, truth_a = gen.simulate()
    rows_b, truth_b = gen.simulate()
    assert rows_a == rows_b
    assert truth_a == truth_b
    assert truth_a["seed"] == gen.SEED
    # the committed outputs are exactly what the script produces
    assert gen.csv_text(rows_a) == (SAMPLE_DIR / gen.CSV_NAME).read_text(encoding="utf-8")
    assert gen.truth_text(truth_a) == (SAMPLE_DIR / gen.TRUTH_NAME).read_text(encoding="utf-8")
    assert json.loads(gen.truth_text(truth_a)) == datasets.simulated_truth()
    # a different seed gives different data
    rows_c, _ = gen.simulate(seed=gen.SEED + 1)
    assert rows_c != rows_a


def test_generator_writes_files(tmp_path):
    gen = _load_generator()
    csv_path, json_path = gen.write(tmp_path)
    assert csv_path.read_bytes() == (SAMPLE_DIR / gen.CSV_NAME).read_bytes()
    assert json_path.read_bytes() == (SAMPLE_DIR / gen.TRUTH_NAME).read_bytes()

"""The sample data registry: every data set exists, loads, and has its documented shape;
the simulated schools data match their truth file and regenerate identically."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
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
    "simulated_nested": (33, 571, DataKind.GAUSSIAN, "normal"),
    "simulated_slopes": (20, 463, DataKind.GAUSSIAN, "normal"),
    "simulated_rates": (25, 25, DataKind.POISSON, "poisson"),
}
HIERARCHIES = {"nested": "simulated_nested", "slopes": "simulated_slopes", "rates": "simulated_rates"}

SHARED_COPIES = {
    "eight_schools.csv",
    "efron_morris_1975.csv",
    "rat_tumors.csv",
    "surgical.csv",
    "radon_mn.csv",
}


def _load_generator(script: str = "make_simulated_schools"):
    path = SAMPLE_DIR / f"{script}.py"
    spec = importlib.util.spec_from_file_location(script, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(script, module)  # dataclasses look their module up there
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
    wanted = [*cm.group_columns, cm.y, cm.se, cm.trials, cm.exposure, *cm.covariates]
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
    info = datasets.dataset_info(name)
    assert data.X.shape == (n_rows, len(info.columns.covariates))  # only the registered ones
    assert data.group_columns == info.columns.group_columns
    assert set(info.slopes) <= set(info.columns.covariates)


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


# ------------------------------------------------------- nested, slopes and rates (simulated)


def test_simulated_nested_matches_truth(loaded):
    truth = datasets.simulated_truth("simulated_nested")
    data = loaded["simulated_nested"]
    assert (truth["mu"], truth["tau_school"], truth["tau_class"], truth["sigma"]) == (60, 6, 3, 10)
    assert data.levels[0].labels == tuple(truth["theta_school"]) == tuple("ABCDEFGH")
    assert data.labels == tuple(truth["theta_class"]) == tuple(truth["sizes"])
    np.testing.assert_array_equal(data.group_sizes, list(truth["sizes"].values()))
    parents = [data.levels[0].labels[j] for j in data.levels[1].parent]
    assert parents == [path.split("/")[0] for path in data.labels]
    classes_per_school = np.bincount(data.levels[1].parent)
    assert classes_per_school.min() >= 3 and classes_per_school.max() <= 5
    assert data.group_sizes.min() >= 10 and data.group_sizes.max() <= 25
    # class labels restart in every school: the report says they are different classes
    assert data.report[0].startswith("Label '1' in column 'class' appears under 8 different "
                                     "'school' groups (A, B, C and 5 more)")
    means = np.bincount(data.group_idx, weights=data.y) / data.group_sizes
    z = (means - np.array(list(truth["theta_class"].values()))) / (10 / np.sqrt(data.group_sizes))
    assert np.all(np.abs(z) < 5)


def test_simulated_slopes_match_truth(loaded):
    truth = datasets.simulated_truth("simulated_slopes")
    data = loaded["simulated_slopes"]
    assert truth["beta"] == {"hours": 2.0} and truth["rho_hours"] == -0.5
    assert data.covariate_names == ("hours",) and datasets.dataset_info("simulated_slopes").slopes == ("hours",)
    assert data.labels == tuple(truth["theta"]) == tuple(truth["slope_hours"])
    theta = np.array(list(truth["theta"].values()))
    slope = np.array(list(truth["slope_hours"].values()))
    resid = data.y - theta[data.group_idx] - slope[data.group_idx] * data.X[:, 0]
    assert abs(resid.std() - truth["sigma"]) < 1.0 and abs(resid.mean()) < 1.0
    hours_sd = np.array([data.X[data.group_idx == j, 0].std() for j in range(data.n_groups)])
    assert hours_sd.min() > 1  # hours vary within every school
    assert truth["realised_rho_hours"] == pytest.approx(np.corrcoef(theta, slope)[0, 1], abs=1e-4)


def test_simulated_rates_match_truth(loaded):
    truth = datasets.simulated_truth("simulated_rates")
    data = loaded["simulated_rates"]
    assert (truth["alpha"], truth["beta"]) == (5.0, 500.0)
    assert datasets.dataset_info("simulated_rates").population == "gamma"
    assert data.labels == tuple(truth["rate"])
    np.testing.assert_array_equal(data.exposure, list(truth["patient_years"].values()))
    expected = np.array(list(truth["rate"].values())) * data.exposure
    assert abs(data.y.sum() - expected.sum()) < 4 * np.sqrt(expected.sum())


def test_truth_of_a_real_data_set_is_refused():
    with pytest.raises(DataError, match="'radon' is not simulated"):
        datasets.simulated_truth("radon")


@pytest.mark.parametrize("key", list(HIERARCHIES))
def test_hierarchies_are_deterministic_and_match_committed_files(key, tmp_path):
    gen = _load_generator("make_simulated_hierarchies")
    spec = gen.SETS[key]
    header, rows, truth = spec.simulate(spec.seed)
    assert spec.simulate(spec.seed) == (header, rows, truth)
    assert spec.simulate(spec.seed + 1)[1] != rows
    info = datasets.dataset_info(HIERARCHIES[key])
    assert (spec.csv_name, spec.truth_name) == (info.filename, info.truth_file)
    assert gen.csv_text(header, rows) == info.path.read_text(encoding="utf-8")
    assert json.loads(gen.truth_text(truth)) == datasets.simulated_truth(info.name)
    csv_path, json_path = gen.write(tmp_path, key)
    assert csv_path.read_bytes() == info.path.read_bytes()
    assert json_path.read_bytes() == (SAMPLE_DIR / info.truth_file).read_bytes()
    assert info.path.stat().st_size < 100_000

"""The sample data sets that ship with hiermod, described in one declarative registry.

Each entry says what the data are (in plain words, for a teacher), which file holds them,
which columns play which role (a :class:`hiermod.data.ColumnMap`) and which likelihood suits
them. The files live in ``sample_data/`` at the top of the repository; their sources and
licences are in ``sample_data/README.md``.

>>> from hiermod import datasets
>>> [d.name for d in datasets.list_datasets()]
['eight_schools', 'efron_morris', 'rat_tumors', 'surgical', 'radon', 'simulated_schools', 'simulated_nested', 'simulated_slopes', 'simulated_rates']
>>> data = datasets.load_dataset("eight_schools")     # a hiermod.data.GroupedData
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hiermod.data import ColumnMap, DataKind
from hiermod.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData

__all__ = [
    "SAMPLE_DIR",
    "DatasetInfo",
    "list_datasets",
    "dataset_names",
    "dataset_info",
    "dataset_path",
    "load_dataset",
    "simulated_truth",
]

SAMPLE_DIR: Path = Path(__file__).resolve().parent.parent / "sample_data"
"""Folder holding the sample CSV files (``<repo>/sample_data``)."""

SIMULATED_TRUTH_FILE = "simulated_schools_truth.json"
HIERARCHIES_SCRIPT = "make_simulated_hierarchies.py"


@dataclass(frozen=True)
class DatasetInfo:
    """One sample data set.

    ``likelihood`` is the value of the suggested :class:`hiermod.spec.Likelihood`
    (``"normal_known_se"``, ``"binomial"`` or ``"normal"``), kept as plain text so this
    module does not depend on the model layer. ``n_groups`` / ``n_rows`` are the documented
    sizes (checked by the tests). ``available_covariates`` are extra numeric columns a user
    may add as covariates; they are *not* in ``columns`` by default. ``holdout`` names the
    ``(successes, trials)`` columns of an out-of-sample target, when the data have one.
    Nested data name their outer grouping columns in ``columns.outer_groups``; ``n_groups`` counts
    the innermost groups. ``slopes`` (covariates whose effect may vary by group) and
    ``population`` (``"normal"``, ``"beta"`` or ``"gamma"``) are suggestions for the model.
    ``truth_file`` and ``generator`` name the true values and the script of a simulated data set.
    """

    name: str
    title: str
    description: str
    filename: str
    columns: ColumnMap
    likelihood: str
    n_groups: int
    n_rows: int
    source: str
    licence: str
    available_covariates: tuple[str, ...] = ()
    holdout: tuple[str, str] | None = None
    notes: str = ""
    slopes: tuple[str, ...] = ()
    population: str = "normal"
    truth_file: str | None = None
    generator: str | None = None

    @property
    def path(self) -> Path:
        """Where the file is expected to be (it may be missing; see :func:`dataset_path`)."""
        return SAMPLE_DIR / self.filename


_POSTERIORDB = "posteriordb (github.com/stan-dev/posteriordb)"
_EXAMPLE_MODELS = "Stan example-models (github.com/stan-dev/example-models), knitr/pool-binary-trials"
_BSD3_POSTERIORDB = "BSD 3-Clause (posteriordb)"
_BSD_EXAMPLE_MODELS = "new BSD licence (Stan example-models README)"

_REGISTRY: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        name="eight_schools",
        title="Eight schools: SAT coaching experiments",
        description=(
            "Eight American high schools each ran a randomised experiment to see whether "
            "short coaching courses raise SAT verbal scores. For each school we only have the "
            "estimated effect of coaching (in SAT points) and its standard error, which is "
            "taken as known. Some schools look like big winners and one looks harmful, but the "
            "standard errors are large, so the classic question is how far to trust each "
            "school's own number and how much to pull it towards the common average."
        ),
        filename="eight_schools.csv",
        columns=ColumnMap(group="school", y="effect", kind=DataKind.SUMMARY, se="se"),
        likelihood="normal_known_se",
        n_groups=8,
        n_rows=8,
        source="Rubin (1981); Gelman et al., BDA3 Section 5.5; via " + _POSTERIORDB,
        licence=_BSD3_POSTERIORDB,
    ),
    DatasetInfo(
        name="efron_morris",
        title="Efron & Morris baseball: batting averages (1970)",
        description=(
            "Eighteen major-league baseball players and the number of hits each made in his "
            "first 45 times at bat in the 1970 season. A player's early average is a noisy guess "
            "of how well he will bat for the rest of the year. Because the file also records "
            "the rest of the season, you can check the forecasts: estimates pulled towards the "
            "group average usually beat each player's own early average."
        ),
        filename="efron_morris_1975.csv",
        columns=ColumnMap(
            group="player", y="hits", kind=DataKind.BINOMIAL, trials="at_bats"
        ),
        likelihood="binomial",
        n_groups=18,
        n_rows=18,
        source=(
            "Efron & Morris (1975), JASA 70:311-319, Table 1; via " + _EXAMPLE_MODELS
            + " (efron-morris-75-data.tsv)"
        ),
        licence=_BSD_EXAMPLE_MODELS,
        holdout=("remaining_hits", "remaining_at_bats"),
        notes=(
            "Out-of-sample target: remaining_hits / remaining_at_bats (also given rounded as "
            "remaining_average), the batting average over the rest of the season. The model "
            "is fitted to hits / at_bats only."
        ),
    ),
    DatasetInfo(
        name="rat_tumors",
        title="Rat tumours: 71 laboratory experiments",
        description=(
            "Seventy-one experiments on laboratory rats, each reporting how many of its control "
            "rats (rats given no drug) developed a particular kind of tumour. Most experiments "
            "used about 20 rats and many saw no tumours at all, so a single experiment says "
            "little on its own. Pooling them shows how to borrow strength across experiments; "
            "experiment 71 (4 tumours in 14 rats) is the 'current' experiment in Gelman et al."
        ),
        filename="rat_tumors.csv",
        columns=ColumnMap(
            group="experiment", y="tumors", kind=DataKind.BINOMIAL, trials="rats"
        ),
        likelihood="binomial",
        n_groups=71,
        n_rows=71,
        source=(
            "Tarone (1982); Gelman et al., BDA3 Table 5.1 / Section 5.3; via "
            + _EXAMPLE_MODELS + " (rat-tumors.csv)"
        ),
        licence=_BSD_EXAMPLE_MODELS,
        population="beta",
        notes="The Beta-population example: p_j ~ Beta(alpha, beta) (BDA3 Section 5.3).",
    ),
    DatasetInfo(
        name="surgical",
        title="Surgical: infant heart-surgery deaths in 12 hospitals",
        description=(
            "Twelve hospitals, each with the number of heart operations it performed on babies "
            "and the number of those babies who died. Hospitals range from fewer than 50 to over "
            "800 operations, so their raw death rates are not equally trustworthy. A "
            "hierarchical model gives fairer comparisons by shrinking the small hospitals' "
            "rates more than the large ones'."
        ),
        filename="surgical.csv",
        columns=ColumnMap(
            group="hospital", y="deaths", kind=DataKind.BINOMIAL, trials="operations"
        ),
        likelihood="binomial",
        n_groups=12,
        n_rows=12,
        source="BUGS Examples Vol. 1, 'Surgical' (Spiegelhalter et al.); via " + _POSTERIORDB,
        licence=_BSD3_POSTERIORDB,
    ),
    DatasetInfo(
        name="radon",
        title="Radon in Minnesota homes (85 counties)",
        description=(
            "Radon, a radioactive gas that seeps up from the ground, was measured in 919 "
            "Minnesota houses spread over 85 counties. Some counties have only one or two "
            "houses measured and one has over a hundred. The value analysed is the logarithm of "
            "the radon level, and the question is each county's typical level: partial pooling "
            "lets the sparsely measured counties borrow information from the rest. Whether the "
            "measurement was taken in the basement or on the first floor is also recorded and "
            "can be added as a covariate."
        ),
        filename="radon_mn.csv",
        columns=ColumnMap(group="county", y="log_radon", kind=DataKind.GAUSSIAN),
        likelihood="normal",
        n_groups=85,
        n_rows=919,
        source=(
            "Gelman & Hill (2007), EPA household radon survey (SRRS2), Minnesota; via "
            + _POSTERIORDB + " (radon_mn)"
        ),
        licence=_BSD3_POSTERIORDB,
        available_covariates=("floor",),
        notes=(
            "floor: 0 = basement, 1 = first floor (not used by default). county_idx is "
            "posteriordb's alphabetical county index (1..85); log_uranium is a county-level "
            "soil measurement."
        ),
    ),
    DatasetInfo(
        name="simulated_schools",
        title="Simulated schools: test scores with known truth",
        description=(
            "Made-up test scores for students in 30 schools of very different sizes (from 3 "
            "to 59 students), generated by computer from a model whose true values we know: "
            "the average school mean is 50 points, school means spread around it with a "
            "standard deviation of 5, and students within a school spread with a standard "
            "deviation of 12. Because the true school means are known, you can see how close "
            "each method gets, and how much the small schools benefit from partial pooling."
        ),
        filename="simulated_schools.csv",
        columns=ColumnMap(group="school", y="score", kind=DataKind.GAUSSIAN),
        likelihood="normal",
        n_groups=30,
        n_rows=975,
        source="Simulated by sample_data/make_simulated_schools.py (numpy, fixed seed)",
        licence="Part of hiermod (same licence as the code)",
        notes=(
            "True values (mu, tau, sigma and each school's theta) are in "
            "simulated_schools_truth.json; see simulated_truth()."
        ),
        truth_file=SIMULATED_TRUTH_FILE,
        generator="make_simulated_schools.py",
    ),
    DatasetInfo(
        name="simulated_nested",
        title="Simulated classes in schools: two nested levels with known truth",
        description=(
            "Made-up test scores of 571 students in 33 classes of 8 schools (A to H). Each school "
            "has 3 to 5 classes numbered from 1, so class '1' of school A and class '1' of school B "
            "are different classes (written A/1 and B/1). The scores were generated with school "
            "means spread around 60 points (standard deviation 6), class means spread around "
            "their school's mean (standard deviation 3) and students spread around their class's "
            "mean (standard deviation 10): a model with both levels can tell how much of the "
            "variation lies between schools and how much between classes of the same school."
        ),
        filename="simulated_nested.csv",
        columns=ColumnMap(group="class", outer_groups=("school",), y="score", kind=DataKind.GAUSSIAN),
        likelihood="normal",
        n_groups=33,
        n_rows=571,
        source="Simulated by sample_data/" + HIERARCHIES_SCRIPT + " (numpy, fixed seed)",
        licence="Part of hiermod (same licence as the code)",
        notes=(
            "True values (mu, tau_school, tau_class, sigma, theta_school per school and "
            "theta_class per class path) are in simulated_nested_truth.json; see "
            "simulated_truth('simulated_nested')."
        ),
        truth_file="simulated_nested_truth.json",
        generator=HIERARCHIES_SCRIPT,
    ),
    DatasetInfo(
        name="simulated_slopes",
        title="Simulated study hours: a slope that differs by school",
        description=(
            "Made-up test scores of 463 students in 20 schools, with the hours each student "
            "studied (0 to 10). Scores rise by about 2 points per hour on average, but by more in "
            "some schools and less in others (the slope varies by school with a standard deviation "
            "of 1), and schools that start higher tend to gain less per hour (correlation -0.5 "
            "between a school's starting level and its slope). A model with a varying slope for "
            "hours can recover each school's line."
        ),
        filename="simulated_slopes.csv",
        columns=ColumnMap(group="school", y="score", kind=DataKind.GAUSSIAN, covariates=("hours",)),
        likelihood="normal",
        n_groups=20,
        n_rows=463,
        source="Simulated by sample_data/" + HIERARCHIES_SCRIPT + " (numpy, fixed seed)",
        licence="Part of hiermod (same licence as the code)",
        slopes=("hours",),
        notes=(
            "True values (mu, beta[hours], tau, tau_hours, rho_hours, sigma, and each school's "
            "theta and slope_hours) are in simulated_slopes_truth.json; see "
            "simulated_truth('simulated_slopes'). theta is a school's expected score at 0 hours."
        ),
        truth_file="simulated_slopes_truth.json",
        generator=HIERARCHIES_SCRIPT,
    ),
    DatasetInfo(
        name="simulated_rates",
        title="Simulated hospital death rates: counts with exposure",
        description=(
            "Made-up numbers of deaths in 25 hospitals, each with the patient-years of care it "
            "gave (from about 100 to 5,000). Each hospital has its own true death rate, drawn "
            "from a Gamma population with a mean of 1 death per 100 patient-years. Small "
            "hospitals' raw rates (deaths / patient-years) are very noisy; a hierarchical Poisson "
            "model shrinks them towards the common rate."
        ),
        filename="simulated_rates.csv",
        columns=ColumnMap(group="hospital", y="deaths", kind=DataKind.POISSON,
                          exposure="patient_years"),
        likelihood="poisson",
        n_groups=25,
        n_rows=25,
        source="Simulated by sample_data/" + HIERARCHIES_SCRIPT + " (numpy, fixed seed)",
        licence="Part of hiermod (same licence as the code)",
        population="gamma",
        notes=(
            "True values (alpha, beta of the Gamma population, shape and rate, and each "
            "hospital's rate) are in simulated_rates_truth.json; see "
            "simulated_truth('simulated_rates')."
        ),
        truth_file="simulated_rates_truth.json",
        generator=HIERARCHIES_SCRIPT,
    ),
)

_BY_NAME: dict[str, DatasetInfo] = {info.name: info for info in _REGISTRY}


def list_datasets() -> list[DatasetInfo]:
    """All sample data sets, in a fixed teaching order."""
    return list(_REGISTRY)


def dataset_names() -> list[str]:
    """The registered names, in the same order as :func:`list_datasets`."""
    return [info.name for info in _REGISTRY]


def dataset_info(name: str) -> DatasetInfo:
    """The entry called ``name`` (case and surrounding spaces are ignored).

    Raises :class:`hiermod.errors.DataError` naming the available data sets when the name is
    unknown.
    """
    key = str(name).strip().lower()
    try:
        return _BY_NAME[key]
    except KeyError:
        raise DataError(
            f"Unknown sample data set {name!r}. Expected one of: "
            f"{', '.join(dataset_names())}. Use hiermod.datasets.list_datasets() to see them "
            "with descriptions."
        ) from None


def dataset_path(name: str) -> Path:
    """Path of the data set's CSV file. Raises ``DataError`` if the file is missing."""
    info = dataset_info(name)
    path = SAMPLE_DIR / info.filename
    if not path.is_file():
        hint = (
            f"run `python sample_data/{info.generator}` to recreate it"
            if info.generator
            else "restore it from the repository (git) or reinstall hiermod"
        )
        raise DataError(
            f"Sample data file for {info.name!r} was not found at {path}; expected "
            f"{info.filename} in {SAMPLE_DIR}. To fix it, {hint}."
        )
    return path


def load_dataset(name: str) -> GroupedData:
    """Load a sample data set with its registered column roles."""
    from hiermod.data import load_data

    info = dataset_info(name)
    return load_data(dataset_path(info.name), info.columns)


def simulated_truth(name: str = "simulated_schools") -> dict:
    """The true parameters behind a simulated data set (default ``simulated_schools.csv``).

    simulated_schools: ``mu``, ``tau``, ``sigma``, ``seed``, ``theta`` (school label -> true mean),
    ``sizes`` (school label -> number of students), ``n_schools``, ``n_students``,
    ``realised_theta_mean``, ``realised_theta_sd`` and a ``description``. The others are described
    in ``sample_data/README.md`` (names as the model's parameters: ``tau_school``,
    ``theta_class`` keyed by path, ``slope_hours``, ``rho_hours``, ``rate``, ...).
    """
    info = dataset_info(name)
    if info.truth_file is None:
        simulated = ", ".join(i.name for i in _REGISTRY if i.truth_file)
        raise DataError(f"{info.name!r} is not simulated, so it has no true values; the simulated "
                        f"data sets are {simulated}.")
    path = SAMPLE_DIR / info.truth_file
    if not path.is_file():
        raise DataError(
            f"The truth file of {info.name!r} was not found at {path}. To fix it, run "
            f"`python sample_data/{info.generator}`."
        )
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)

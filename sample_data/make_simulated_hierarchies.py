"""Make the simulated teaching data sets for nested groups, varying slopes and Poisson rates.

Three data sets, each from its own ``numpy.random.default_rng(seed)`` stream (PCG64), with the
true values written next to it:

* ``simulated_nested.csv`` (``school``, ``class``, ``score``): students in classes in schools::

      theta_school[s]  ~ Normal(mu, tau_school)              s = A..H
      theta_class[c]   ~ Normal(theta_school[s(c)], tau_class)   3 to 5 classes per school
      score_i          ~ Normal(theta_class[c(i)], sigma)        10 to 25 students per class

  with mu = 60, tau_school = 6, tau_class = 3, sigma = 10. Class labels restart at "1" in every
  school, so class "1" of school A and class "1" of school B are different classes ("A/1", "B/1").
  Draw order: classes per school, class sizes, school means, class means, scores class by class.

* ``simulated_slopes.csv`` (``school``, ``hours``, ``score``): the score rises with hours of
  study, by a different amount in each school::

      (theta[j], slope_hours[j]) ~ MVN((mu, beta_hours), diag(tau, tau_hours) R diag(tau, tau_hours))
      score_i ~ Normal(theta[j(i)] + slope_hours[j(i)] * hours_i, sigma)

  with mu = 50, beta_hours = 2, tau = 6, tau_hours = 1, rho_hours = -0.5 (R's off-diagonal),
  sigma = 6; 20 schools of 8 to 40 students; hours uniform on 0..10 (1 decimal), varying within
  each school. theta is a school's expected score at 0 hours. Draw order: sizes, the
  (theta, slope) pairs, then hours and scores school by school.

* ``simulated_rates.csv`` (``hospital``, ``deaths``, ``patient_years``): one row per hospital::

      rate[j]   ~ Gamma(alpha, beta)          (shape alpha, rate beta: mean alpha / beta)
      deaths[j] ~ Poisson(rate[j] * patient_years[j])

  with alpha = 5, beta = 500 (a mean of 1 death per 100 patient-years); 25 hospitals whose
  patient-years run from about 100 to 5,000 (log-uniform). Draw order: patient-years, rates,
  deaths.

True group values are rounded (3 decimals; rates to 6) before the data are drawn from them, so the
JSON values are exactly the ones used. Re-running gives the same bytes (tests/test_datasets.py
checks the committed files against a fresh in-memory run).

Run:  python sample_data/make_simulated_hierarchies.py [--out-dir DIR] [--only nested|slopes|rates]
Needs numpy only (plus the standard library).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

GROUP_DECIMALS = 3
SCORE_DECIMALS = 2
GENERATOR = "numpy.random.default_rng (PCG64)"


def labels(prefix: str, n: int) -> list[str]:
    """prefix01, prefix02, ... (zero-padded to two digits at least)."""
    width = max(2, len(str(n)))
    return [f"{prefix}{j:0{width}d}" for j in range(1, n + 1)]


# ---------------------------------------------------------------------------------- nested

NESTED_SEED = 20240611
NESTED = {"mu": 60.0, "tau_school": 6.0, "tau_class": 3.0, "sigma": 10.0}


def simulate_nested(seed: int = NESTED_SEED) -> tuple[list[str], list[tuple], dict]:
    """Students (score) in classes in schools. Returns (header, rows, truth)."""
    rng = np.random.default_rng(seed)
    p = NESTED
    schools = list("ABCDEFGH")
    n_classes = rng.integers(3, 6, size=len(schools))
    sizes = rng.integers(10, 26, size=int(n_classes.sum()))
    theta_school = np.round(rng.normal(p["mu"], p["tau_school"], size=len(schools)), GROUP_DECIMALS)
    parents = np.repeat(np.arange(len(schools)), n_classes)
    theta_class = np.round(rng.normal(theta_school[parents], p["tau_class"]), GROUP_DECIMALS)
    paths = [f"{school}/{c}" for school, n in zip(schools, n_classes) for c in range(1, int(n) + 1)]
    rows = []
    for path, n_j, theta_j in zip(paths, sizes, theta_class):
        school, klass = path.split("/")
        scores = np.round(rng.normal(theta_j, p["sigma"], size=int(n_j)), SCORE_DECIMALS)
        rows.extend((school, klass, f"{s:.{SCORE_DECIMALS}f}") for s in scores)
    truth = {
        "description": ("True parameters of sample_data/simulated_nested.csv: theta_school ~ "
                        "Normal(mu, tau_school), theta_class ~ Normal(theta_school of its school, "
                        "tau_class), score ~ Normal(theta_class, sigma). Classes are keyed by "
                        "their path school/class. Made by sample_data/make_simulated_hierarchies.py."),
        **p,
        "seed": seed,
        "generator": GENERATOR + "; draw order: classes per school, class sizes, school means, "
                                 "class means, scores class by class",
        "n_schools": len(schools),
        "n_classes": len(paths),
        "n_students": int(sizes.sum()),
        "theta_school": {s: float(t) for s, t in zip(schools, theta_school)},
        "theta_class": {c: float(t) for c, t in zip(paths, theta_class)},
        "sizes": {c: int(n) for c, n in zip(paths, sizes)},
    }
    return ["school", "class", "score"], rows, truth


# ---------------------------------------------------------------------------------- slopes

SLOPES_SEED = 20240612
SLOPES = {"mu": 50.0, "beta": {"hours": 2.0}, "tau": 6.0, "tau_hours": 1.0, "rho_hours": -0.5,
          "sigma": 6.0}


def simulate_slopes(seed: int = SLOPES_SEED) -> tuple[list[str], list[tuple], dict]:
    """Scores rising with hours of study, intercept and slope varying by school."""
    rng = np.random.default_rng(seed)
    p = SLOPES
    schools = labels("S", 20)
    sizes = rng.integers(8, 41, size=len(schools))
    sd = np.array([p["tau"], p["tau_hours"]])
    corr = np.array([[1.0, p["rho_hours"]], [p["rho_hours"], 1.0]])
    chol = np.linalg.cholesky(corr * np.outer(sd, sd))  # explicit, so every numpy draws the same
    z = rng.standard_normal((len(schools), 2))
    effects = np.round(np.array([p["mu"], p["beta"]["hours"]]) + z @ chol.T, GROUP_DECIMALS)
    rows = []
    for school, n_j, (theta_j, slope_j) in zip(schools, sizes, effects):
        hours = np.round(rng.uniform(0, 10, size=int(n_j)), 1)
        scores = np.round(rng.normal(theta_j + slope_j * hours, p["sigma"]), SCORE_DECIMALS)
        rows.extend((school, f"{h:.1f}", f"{s:.{SCORE_DECIMALS}f}") for h, s in zip(hours, scores))
    truth = {
        "description": ("True parameters of sample_data/simulated_slopes.csv: (theta, slope_hours) "
                        "~ MVN((mu, beta[hours]), diag(tau, tau_hours) R diag(tau, tau_hours)) with "
                        "corr R = rho_hours, score ~ Normal(theta + slope_hours * hours, sigma). "
                        "Made by sample_data/make_simulated_hierarchies.py."),
        **p,
        "seed": seed,
        "generator": GENERATOR + "; draw order: sizes, (theta, slope) pairs, hours and scores "
                                 "school by school",
        "n_schools": len(schools),
        "n_students": int(sizes.sum()),
        "theta": {s: float(t) for s, t in zip(schools, effects[:, 0])},
        "slope_hours": {s: float(b) for s, b in zip(schools, effects[:, 1])},
        "sizes": {s: int(n) for s, n in zip(schools, sizes)},
        "realised_rho_hours": round(float(np.corrcoef(effects.T)[0, 1]), 4),
    }
    return ["school", "hours", "score"], rows, truth


# ----------------------------------------------------------------------------------- rates

RATES_SEED = 20240613
RATES = {"alpha": 5.0, "beta": 500.0}
RATE_DECIMALS = 6


def simulate_rates(seed: int = RATES_SEED) -> tuple[list[str], list[tuple], dict]:
    """Deaths per hospital with patient-years of exposure; rates from a Gamma population."""
    rng = np.random.default_rng(seed)
    p = RATES
    hospitals = labels("H", 25)
    exposure = np.round(np.exp(rng.uniform(np.log(100), np.log(5000), size=len(hospitals))))
    rate = np.round(rng.gamma(p["alpha"], 1.0 / p["beta"], size=len(hospitals)), RATE_DECIMALS)
    deaths = rng.poisson(rate * exposure)
    rows = [(h, str(int(d)), str(int(e))) for h, d, e in zip(hospitals, deaths, exposure)]
    truth = {
        "description": ("True parameters of sample_data/simulated_rates.csv: rate ~ Gamma(alpha, "
                        "beta) (shape, rate), deaths ~ Poisson(rate * patient_years). Made by "
                        "sample_data/make_simulated_hierarchies.py."),
        **p,
        "seed": seed,
        "generator": GENERATOR + "; draw order: patient_years, rates, deaths",
        "n_hospitals": len(hospitals),
        "rate": {h: float(r) for h, r in zip(hospitals, rate)},
        "patient_years": {h: int(e) for h, e in zip(hospitals, exposure)},
    }
    return ["hospital", "deaths", "patient_years"], rows, truth


# ------------------------------------------------------------------------------------ files


@dataclass(frozen=True)
class SimulatedSet:
    """One data set: its simulation, default seed and the two files it writes."""

    simulate: Callable[[int], tuple[list[str], list[tuple], dict]]
    seed: int
    csv_name: str
    truth_name: str


SETS = {
    "nested": SimulatedSet(simulate_nested, NESTED_SEED, "simulated_nested.csv",
                           "simulated_nested_truth.json"),
    "slopes": SimulatedSet(simulate_slopes, SLOPES_SEED, "simulated_slopes.csv",
                           "simulated_slopes_truth.json"),
    "rates": SimulatedSet(simulate_rates, RATES_SEED, "simulated_rates.csv",
                          "simulated_rates_truth.json"),
}


def csv_text(header: list[str], rows: list[tuple]) -> str:
    """The CSV file's exact text (``\\n`` line endings; cells are already text)."""
    return "\n".join([",".join(header)] + [",".join(row) for row in rows]) + "\n"


def truth_text(truth: dict) -> str:
    """The JSON file's exact text."""
    return json.dumps(truth, indent=2) + "\n"


def write(out_dir: Path, name: str) -> tuple[Path, Path]:
    """Simulate data set ``name`` with its seed and write both files into ``out_dir``."""
    spec = SETS[name]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header, rows, truth = spec.simulate(spec.seed)
    csv_path, json_path = out_dir / spec.csv_name, out_dir / spec.truth_name
    csv_path.write_text(csv_text(header, rows), encoding="utf-8", newline="")
    json_path.write_text(truth_text(truth), encoding="utf-8", newline="")
    return csv_path, json_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--only", choices=sorted(SETS), action="append")
    args = parser.parse_args(argv)
    for name in args.only or list(SETS):
        csv_path, json_path = write(args.out_dir, name)
        print(f"wrote {csv_path} and {json_path}")


if __name__ == "__main__":
    main()

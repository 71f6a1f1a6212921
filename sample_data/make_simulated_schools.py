"""Make the simulated "schools" teaching data set, whose true parameters are known.

Model (a normal hierarchical model with students nested in schools)::

    theta_j ~ Normal(mu, tau)               j = 1..30   true school means
    y_ij    ~ Normal(theta_j, sigma)        i = 1..n_j  one test score per student

with mu = 50, tau = 5 and sigma = 12, so schools differ by a few points while students
within a school differ by much more. The school sizes n_j are drawn once, uniformly from the
whole numbers 3..60, so some schools are tiny (their raw means are noisy and get pulled
strongly towards mu) and some are large (their raw means are already close to theta_j).

Outputs, written next to this script:

* ``simulated_schools.csv``: columns ``school`` (S01..S30) and ``score``, one row per
  student, schools in label order. Scores are rounded to 2 decimals.
* ``simulated_schools_truth.json``: ``mu``, ``tau``, ``sigma``, ``seed``, ``theta`` (each
  school's true mean, keyed by label), ``sizes`` (students per school, keyed by label),
  plus the realised mean and standard deviation of the 30 thetas (with only 30 schools these
  differ from mu and tau by sampling noise, which matters when judging recovery).

The true school means are rounded to 3 decimals *before* the scores are drawn, so the values
in the JSON file are exactly the means the scores were generated from.

Everything comes from one ``numpy.random.default_rng(SEED)`` stream (PCG64), drawn in a fixed
order: sizes, then thetas, then the scores school by school. Re-running gives the same bytes
(tests/test_datasets.py checks the committed files against a fresh in-memory run).

Run:  python sample_data/make_simulated_schools.py [--out-dir DIR]
Needs numpy only (plus the standard library).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SEED = 20240601
MU = 50.0
TAU = 5.0
SIGMA = 12.0
N_SCHOOLS = 30
MIN_SIZE = 3
MAX_SIZE = 60
THETA_DECIMALS = 3
SCORE_DECIMALS = 2

CSV_NAME = "simulated_schools.csv"
TRUTH_NAME = "simulated_schools_truth.json"


def school_labels(n_schools: int = N_SCHOOLS) -> list[str]:
    """Labels S01, S02, ... (zero-padded to the width of the largest number)."""
    width = max(2, len(str(n_schools)))
    return [f"S{j:0{width}d}" for j in range(1, n_schools + 1)]


def simulate(seed: int = SEED) -> tuple[list[tuple[str, float]], dict]:
    """Draw the data set. Returns (rows, truth).

    ``rows`` is a list of ``(school, score)`` pairs, one per student, in school order;
    ``truth`` is the dictionary written to ``simulated_schools_truth.json``.
    Pure function of ``seed``: no files are touched.
    """
    rng = np.random.default_rng(seed)
    labels = school_labels(N_SCHOOLS)
    sizes = rng.integers(MIN_SIZE, MAX_SIZE + 1, size=N_SCHOOLS)
    theta = np.round(rng.normal(MU, TAU, size=N_SCHOOLS), THETA_DECIMALS)

    rows: list[tuple[str, float]] = []
    for label, n_j, theta_j in zip(labels, sizes, theta):
        scores = np.round(rng.normal(theta_j, SIGMA, size=int(n_j)), SCORE_DECIMALS)
        rows.extend((label, float(s)) for s in scores)

    truth = {
        "description": (
            "True parameters of sample_data/simulated_schools.csv: "
            "theta_j ~ Normal(mu, tau), score_ij ~ Normal(theta_j, sigma). "
            "Made by sample_data/make_simulated_schools.py."
        ),
        "mu": MU,
        "tau": TAU,
        "sigma": SIGMA,
        "seed": seed,
        "generator": "numpy.random.default_rng (PCG64); draw order: sizes, theta, scores by school",
        "n_schools": N_SCHOOLS,
        "n_students": int(sizes.sum()),
        "theta": {label: float(t) for label, t in zip(labels, theta)},
        "sizes": {label: int(n) for label, n in zip(labels, sizes)},
        "realised_theta_mean": round(float(theta.mean()), 4),
        "realised_theta_sd": round(float(theta.std(ddof=1)), 4),
    }
    return rows, truth


def csv_text(rows: list[tuple[str, float]]) -> str:
    """The CSV file's exact text (header ``school,score``, ``\\n`` line endings)."""
    lines = ["school,score"]
    lines.extend(f"{school},{score:.{SCORE_DECIMALS}f}" for school, score in rows)
    return "\n".join(lines) + "\n"


def truth_text(truth: dict) -> str:
    """The JSON file's exact text."""
    return json.dumps(truth, indent=2) + "\n"


def write(out_dir: Path, seed: int = SEED) -> tuple[Path, Path]:
    """Simulate and write both files into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, truth = simulate(seed)
    csv_path = out_dir / CSV_NAME
    json_path = out_dir / TRUTH_NAME
    csv_path.write_text(csv_text(rows), encoding="utf-8", newline="")
    json_path.write_text(truth_text(truth), encoding="utf-8", newline="")
    return csv_path, json_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    csv_path, json_path = write(args.out_dir, args.seed)
    print(f"wrote {csv_path} and {json_path}")


if __name__ == "__main__":
    main()

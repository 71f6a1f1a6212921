"""Simulated students in schools with a chosen between-school share of the variance (lessons 5, 6).

Scores y_ij = MEAN + effect x_j + u_j + e_ij for student i of school j, with u_j ~ Normal(0, tau) and
e_ij ~ Normal(0, sigma), tau² = icc TOTAL_SD² and sigma² = (1 - icc) TOTAL_SD²: the intraclass
correlation tau² / (tau² + sigma²) is ``icc`` and the total variance TOTAL_SD² whatever its split.
x_j = 1 for every other school (treated), 0 for the rest.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from ..data import GroupedData

__all__ = ["MEAN", "TOTAL_SD", "check_design", "scales", "students", "resimulate"]

MEAN = 50.0
TOTAL_SD = 10.0


def check_design(icc: float, schools: int, per_school: int) -> None:
    """DataError naming the setting when the design cannot be simulated."""
    if not 0 <= float(icc) < 1:
        raise DataError(f"The between-school share (icc) must be at least 0 and below 1; got {icc!r}.")
    if int(schools) < 4:
        raise DataError(f"The simulation needs at least 4 schools (2 treated, 2 not); got {schools!r}.")
    if int(per_school) < 2:
        raise DataError(f"The simulation needs at least 2 students per school; got {per_school!r}.")


def scales(icc: float) -> tuple[float, float]:
    """(tau, sigma) with tau² / (tau² + sigma²) = icc and tau² + sigma² = TOTAL_SD²."""
    return TOTAL_SD * float(np.sqrt(icc)), TOTAL_SD * float(np.sqrt(1 - icc))


def _scores(icc, schools, per_school, effect, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tau, sigma = scales(icc)
    g = np.repeat(np.arange(schools), per_school)
    x = (np.arange(schools) % 2 == 1).astype(float)
    u = rng.normal(0.0, tau, schools)
    return MEAN + effect * x[g] + u[g] + rng.normal(0.0, sigma, g.size), g, x


def students(icc: float, schools: int = 30, per_school: int = 20, effect: float = 0.0, seed: int = 0,
             treatment: bool = False) -> "GroupedData":
    """One simulated data set as gaussian rows (group ``school``, outcome ``score``; with ``treatment``
    the school-level covariate ``treated``)."""
    import pandas as pd

    from ..data import ColumnMap, DataKind, load_data

    check_design(icc, schools, per_school)
    y, g, x = _scores(icc, int(schools), int(per_school), float(effect), np.random.default_rng(seed))
    frame = pd.DataFrame({"school": [f"S{j + 1:02d}" for j in g], "score": y})
    covariates = ()
    if treatment:
        frame["treated"] = x[g]
        covariates = ("treated",)
    return load_data(frame, ColumnMap(group="school", y="score", kind=DataKind.GAUSSIAN, covariates=covariates))


def resimulate(data: "GroupedData", icc: float, effect: float, rng: np.random.Generator) -> "GroupedData":
    """``data`` (from :func:`students`) with new scores drawn from the same design, same schools and rows."""
    schools, per_school = data.n_groups, int(data.group_sizes[0])
    y, _, _ = _scores(icc, schools, per_school, effect, rng)
    return dataclasses.replace(data, y=y)

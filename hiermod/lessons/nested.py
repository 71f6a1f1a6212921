"""Lesson 11: levels within levels. Students in classes in schools (``simulated_nested``: 571
students, 33 classes, 8 schools), y ~ Normal(theta_class, sigma), theta_class ~ Normal(theta_school,
tau_class), theta_school ~ Normal(mu, tau_school): the instant posterior (``latent`` engine, exact up
to grid error). The control keeps at most m students per class (the first m), so classes carry less
information and are shrunk more toward their school, and schools toward mu.

Shrinkage factor at each level, given the hyperparameters (then averaged over their posterior grid):
a class c of n_c students, given its school's effect, is pulled toward it by
B_c = (sigma²/n_c) / (sigma²/n_c + tau_class²); a school s, whose classes' means estimate its effect
with variance v_s = 1 / sum_c 1 / (tau_class² + sigma²/n_c), is pulled toward mu by
B_s = v_s / (v_s + tau_school²) (normal-normal shrinkage, BDA3 5.4, one level at a time). Each level
is summarised by its median factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["DATASET", "students", "Levels", "levels", "shrinkage_factors"]

DATASET = "simulated_nested"


@lru_cache(maxsize=1)
def _frame() -> pd.DataFrame:
    from ..data import read_table
    from ..datasets import dataset_path

    return read_table(dataset_path(DATASET))


def students(per_class: int):
    """The nested data keeping the first ``per_class`` students of every class (at least 2)."""
    from ..data import load_data
    from ..datasets import dataset_info

    if int(per_class) < 2:
        raise DataError(f"Keep at least 2 students per class; got {per_class!r}.")
    columns = dataset_info(DATASET).columns
    frame = _frame().groupby(list(columns.group_columns), sort=False).head(int(per_class))
    return load_data(frame, columns)


@dataclass(frozen=True)
class Levels:
    """``schools``: group, own, partial, parent (mu), share (B_s); ``classes``: group, school, n, own,
    partial, parent (its school's estimate), share (B_c); posterior means ``mu``, ``tau_school``, ``tau_class``, ``sigma``."""

    schools: pd.DataFrame
    classes: pd.DataFrame
    mu: float
    tau_school: float
    tau_class: float
    sigma: float
    per_class: int

    def sentences(self) -> list[str]:
        return [
            f"Keeping at most {self.per_class} students per class ({int(self.classes['n'].sum())} students): "
            f"schools differ by tau_school = {self.tau_school:.1f}, classes within a school by tau_class = "
            f"{self.tau_class:.1f}, students within a class by sigma = {self.sigma:.1f} (posterior means).",
            f"Classes are shrunk toward their own school: median shrinkage factor B = "
            f"{self.classes['share'].median():.2f} (the share of the way from a class's own mean to its school).",
            f"Schools are shrunk toward the overall mean mu = {self.mu:.1f}: median B = "
            f"{self.schools['share'].median():.2f}.",
        ]


def shrinkage_factors(post, n: np.ndarray, parent: np.ndarray, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """(B_s per school, B_c per class), the module docstring's factors averaged over the grid's nodes;
    ``n`` students per class, ``parent`` each class's school index, ``names`` the two grouping columns."""
    nodes, w = post.hyper_nodes()
    ts2 = np.asarray(nodes[f"tau_{names[0]}"], float)[:, None] ** 2
    tc2 = np.asarray(nodes[f"tau_{names[1]}"], float)[:, None] ** 2
    noise = np.asarray(nodes["sigma"], float)[:, None] ** 2 / np.asarray(n, float)[None, :]
    B_c = noise / (noise + tc2)
    info = np.zeros((ts2.shape[0], int(parent.max()) + 1))
    np.add.at(info.T, parent, (1.0 / (tc2 + noise)).T)
    v = 1.0 / info
    B_s = v / (v + ts2)
    return w @ B_s, w @ B_c


def levels(per_class: int) -> Levels:
    """Lesson 11: the partial-pooling estimates at both levels with at most ``per_class`` students per class."""
    from ..instant import instant_posterior
    from ..spec import ModelSpec

    data = students(per_class)
    school_col, class_col = data.columns.group_columns
    post = instant_posterior(data, ModelSpec("normal", groups=(school_col, class_col)))
    outer, inner = data.levels
    y, g = np.asarray(data.y, float), np.asarray(data.group_idx)
    n = np.bincount(g, minlength=data.n_groups)
    own_class = np.bincount(g, weights=y, minlength=data.n_groups) / n
    parent = np.asarray(inner.parent)
    rows_school = parent[g]
    own_school = np.bincount(rows_school, weights=y) / np.bincount(rows_school)
    th_s = np.asarray(post.mean(f"theta_{school_col}"), float)
    th_c = np.asarray(post.mean(f"theta_{class_col}"), float)
    mu = float(post.mean("mu"))
    B_s, B_c = shrinkage_factors(post, n, parent, (school_col, class_col))
    schools = pd.DataFrame({"group": list(outer.labels), "own": own_school, "partial": th_s, "parent": mu,
                            "share": B_s})
    classes = pd.DataFrame({"group": list(inner.labels), "school": [outer.labels[p] for p in parent], "n": n,
                            "own": own_class, "partial": th_c, "parent": th_s[parent], "share": B_c})
    return Levels(schools, classes, mu, float(post.mean(f"tau_{school_col}")), float(post.mean(f"tau_{class_col}")),
                  float(post.mean("sigma")), int(per_class))

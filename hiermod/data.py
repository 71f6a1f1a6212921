"""Read a table and a column mapping into validated, immutable grouped data.

``load_data(source, columns)`` reads a CSV (path, bytes, file-like) or a DataFrame, guesses the
column roles when no :class:`ColumnMap` is given, and returns a :class:`GroupedData`: plain numpy
arrays, group labels in first-seen order and a report of every row dropped or value coerced.
Anything that cannot be turned into grouped data raises :class:`hiermod.errors.DataError` naming
the column and the first offending rows (1-based data rows: the header is not counted).

The work is split by job: :mod:`hiermod.reading` (source -> DataFrame), :mod:`hiermod.column_guess`
(which column plays which role), :mod:`hiermod.validation` (the checks load_data runs), with
:mod:`hiermod.columns` (``DataKind``, ``ColumnMap``) and :mod:`hiermod.limits` (``MAX_BYTES``...)
under them all. What callers import from here (``DataKind``, ``ColumnMap``, ``Source``,
``read_table``, ``guess_columns``, the limits) is re-exported, so ``from hiermod.data import X``
keeps working. pandas is imported on first use (:mod:`hiermod.lazy_pandas`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from hiermod import validation as check
from hiermod.column_guess import guess_columns
from hiermod.columns import ColumnMap, DataKind
from hiermod.errors import DataError
from hiermod.kind_registry import ROLES, kind_info
from hiermod.lazy_pandas import LazyPandas
from hiermod.levels import GroupLevel, row_index, select_levels
from hiermod.limits import MAX_BYTES, MAX_COLUMNS, MAX_GROUPS, MAX_LABEL_CHARS, MAX_LISTED_ROWS, MAX_ROWS
from hiermod.reading import Source, read_table

pd = LazyPandas(globals())

__all__ = [
    "DataKind", "ColumnMap", "GroupedData", "Source", "load_data", "read_table", "guess_columns",
    "MAX_BYTES", "MAX_ROWS", "MAX_GROUPS", "MAX_COLUMNS", "MAX_LABEL_CHARS", "MAX_LISTED_ROWS",
]


def _frozen(array: np.ndarray | None, dtype: Any) -> np.ndarray | None:
    """A read-only copy of the array with the given dtype."""
    if array is None:
        return None
    out = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class GroupedData:
    """Validated grouped data: one entry per row of every array, groups by index into labels."""

    kind: DataKind
    columns: ColumnMap
    labels: tuple[str, ...]
    group_idx: np.ndarray
    y: np.ndarray
    se: np.ndarray | None
    trials: np.ndarray | None
    exposure: np.ndarray | None
    X: np.ndarray
    covariate_names: tuple[str, ...]
    report: tuple[str, ...] = ()
    levels: tuple[GroupLevel, ...] = ()
    """The grouping levels, outermost first (:mod:`hiermod.levels`); one level unless nested."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kind", DataKind(self.kind))
        set_(self, "labels", tuple(str(label) for label in self.labels))
        if not self.levels:
            set_(self, "levels", (GroupLevel(self.columns.group, self.labels),))
        set_(self, "levels", tuple(self.levels))
        if self.levels[-1].labels != self.labels:
            raise ValueError("The innermost grouping level's labels must be the data's labels.")
        set_(self, "group_idx", _frozen(self.group_idx, np.int32))
        for name in ("y", "se", "trials", "exposure"):
            set_(self, name, _frozen(getattr(self, name), np.float64))
        X = np.asarray(self.X, dtype=np.float64).reshape(len(self.y), -1)
        set_(self, "X", _frozen(X, np.float64))
        set_(self, "covariate_names", tuple(self.covariate_names))
        set_(self, "report", tuple(self.report))

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.labels)

    @property
    def n_rows(self) -> int:
        """Number of rows (observations, or groups for summary data)."""
        return int(self.y.shape[0])

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The grouping columns, outermost first."""
        return tuple(level.column for level in self.levels)

    def level_idx(self, k: int) -> np.ndarray:
        """Rows -> group index at grouping level ``k`` (0: outermost; -1: innermost)."""
        return row_index(self.levels, self.group_idx, k % len(self.levels))

    def for_groups(self, columns: tuple[str, ...]) -> "GroupedData":
        """The data grouped by some of its grouping columns (outermost first): rows belong to the
        groups of ``columns[-1]``; empty or all columns: this data itself."""
        columns = tuple(columns)
        if not columns or columns == self.group_columns:
            return self
        levels = select_levels(self.levels, columns)
        innermost = self.group_columns.index(levels[-1].column)
        # the column map keeps every column of the innermost label's path (labels stay "outer/inner")
        path = self.columns.group_columns
        mapping = dataclasses.replace(self.columns, group=columns[-1],
                                      outer_groups=path[:path.index(columns[-1])])
        return dataclasses.replace(self, columns=mapping, labels=levels[-1].labels, levels=levels,
                                   group_idx=row_index(self.levels, self.group_idx, innermost))

    @property
    def group_sizes(self) -> np.ndarray:
        """Rows per group, in label order."""
        return np.bincount(self.group_idx, minlength=self.n_groups)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 hex digest of kind, labels, covariate names and every array (for cache keys)."""
        h = hashlib.sha256()
        meta = {"kind": self.kind.value, "labels": list(self.labels),
                "covariates": list(self.covariate_names)}
        if len(self.levels) > 1:
            meta["levels"] = [[level.column, list(level.labels)] for level in self.levels]
        h.update(json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        for level in self.levels[1:]:
            h.update(np.ascontiguousarray(level.parent, dtype="<i4").tobytes())
        for name in ("group_idx", "y", "se", "trials", "exposure", "X"):
            array = getattr(self, name)
            h.update(name.encode())
            if array is None:
                h.update(b"<none>")
                continue
            dtype = "<i4" if name == "group_idx" else "<f8"
            h.update(repr(array.shape).encode())
            h.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
        return h.hexdigest()

    def group_summary(self) -> pd.DataFrame:
        """One row per group: group, n (rows), estimate and se on the data scale, plus
        successes/trials (binomial) or events/exposure (poisson). A copy of the table computed
        once per data (the instant engines ask for it on every call)."""
        return self._group_summary.copy()

    @cached_property
    def _group_summary(self) -> pd.DataFrame:
        n = self.group_sizes
        out = {"group": list(self.labels), "n": n}
        with np.errstate(divide="ignore", invalid="ignore"):
            out.update(kind_info(self.kind).group_table(self, n))
        return pd.DataFrame(out)


    def at_level(self, k: int) -> "GroupedData":
        """The same rows grouped by level ``k`` alone (its path labels; one level, no nesting)."""
        return self.for_groups((self.group_columns[k % len(self.levels)],))

    def level_summary(self, k: int = -1) -> pd.DataFrame:
        """One row per group of level ``k``: group (path label), parent (nested levels), n (rows),
        subgroups (groups of the next level; not for the innermost) and the estimate columns of
        :meth:`group_summary`, computed from all the group's rows. Summary data pool the groups of
        an outer level by precision (the kind's ``normal_estimates``)."""
        k %= len(self.levels)
        innermost = k == len(self.levels) - 1
        view = self.at_level(k)
        table = view.group_summary()
        if k > 0:
            table.insert(1, "parent", [self.levels[k - 1].labels[j] for j in self.levels[k].parent])
        if not innermost:
            subgroups = np.bincount(self.levels[k + 1].parent, minlength=self.levels[k].n_groups)
            table.insert(table.columns.get_loc("n") + 1, "subgroups", subgroups)
            info = kind_info(self.kind)
            if info.one_row_per_group:
                table["estimate"], table["se"] = info.normal_estimates(view)
        return table

    def tree_text(self) -> str:
        """The tree of groups in one line: '8 school groups > 31 class groups > 412 rows'."""
        parts = [f"{level.n_groups} {level.column} group{'' if level.n_groups == 1 else 's'}"
                 for level in self.levels]
        return " > ".join(parts + [f"{self.n_rows} row{'' if self.n_rows == 1 else 's'}"])

    def tree_table(self) -> pd.DataFrame:
        """One row per grouping level: column, groups, and the fewest and most subgroups (groups
        of the next level, or rows for the innermost) per group."""
        out = []
        for k, level in enumerate(self.levels):
            innermost = k + 1 == len(self.levels)
            inner = self.group_idx if innermost else self.levels[k + 1].parent
            counts = np.bincount(inner, minlength=level.n_groups)
            out.append({"level": k + 1, "column": level.column, "groups": level.n_groups,
                        "inside each": "rows" if innermost else f"{self.levels[k + 1].column} groups",
                        "fewest": int(counts.min()) if counts.size else 0,
                        "most": int(counts.max()) if counts.size else 0})
        return pd.DataFrame(out)


def load_data(source: Source, columns: ColumnMap | None = None) -> GroupedData:
    """Read and validate a table into :class:`GroupedData`; guess the columns when None.

    One group is allowed here: partial pooling's minimum of two groups is checked against the
    model (:func:`hiermod.spec.check_compatible`, a SpecError), not against the data.
    """
    frame = read_table(source)
    columns = guess_columns(frame) if columns is None else columns
    if not isinstance(columns, ColumnMap):
        raise DataError("columns must be a ColumnMap (or None to guess the column roles).")
    check.check_mapping(frame, columns)
    rows = check.Rows(len(frame))
    if frame.attrs.get("encoding") in ("latin-1", "utf-16"):
        rows.report.append(f"Read the file as {frame.attrs['encoding']} text.")
    check.drop_empty_rows(frame, rows)
    labels, changed = {}, {}
    for name in columns.group_columns:
        labels[name], changed[name] = check.clean_labels(frame, name)
    numeric = check.numeric_roles(frame, columns, rows)
    check.handle_missing(labels, numeric, columns, rows)
    check.check_labels(labels, columns, rows)
    check.check_finite(numeric, rows)
    check.check_kind(numeric, columns, rows)
    keep = rows.keep
    if not keep.any():
        raise DataError("No rows are left after dropping rows with missing values. "
                        + " ".join(rows.report))
    for name, count in changed.items():
        if count:
            rows.report.append(f"Removed surrounding spaces or control characters from "
                               f"{check.plural(count, 'group label')} in {name!r}.")
    levels, group_idx = check.group_levels(labels, rows)
    rows.report.extend(check.nesting_report(levels))
    n = int(keep.sum())

    kind = columns.kind
    info = kind_info(kind)
    counts = {columns.y, columns.trials} if info.counts else set()

    def role(name: str | None, default: float | None = None) -> np.ndarray | None:
        if name is None:
            return None if default is None else np.full(n, default)
        values = numeric[name].values[keep]
        return np.round(values) if name in counts else values

    return GroupedData(
        kind=kind,
        columns=columns,
        labels=levels[-1].labels,
        group_idx=group_idx,
        y=role(columns.y),
        **{name: role(getattr(columns, name), info.role_default) if name == info.role else None
           for name in ROLES},
        X=check.covariate_matrix(numeric, columns, keep),
        covariate_names=columns.covariates,
        report=tuple(rows.report),
        levels=levels,
    )

"""Grouping levels: the tree of groups of nested grouping columns.

Data with grouping columns c_1 (outermost) .. c_K (innermost) has one :class:`GroupLevel` per
column. Group j of level k sits inside group ``parent[j]`` of level k-1; rows belong to groups of
the innermost level (``GroupedData.group_idx``). Inner labels are paths ("outer/inner"), so a class
label that appears under two schools names two classes.

A model may use some of the data's grouping columns (one level against two, say):
:func:`select_levels` keeps those, with parents composed through the levels it skips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PATH_SEPARATOR = "/"


@dataclass(frozen=True, eq=False)
class GroupLevel:
    """The groups of one grouping column: labels, and each group's parent in the level above
    (``parent[j]`` indexes the enclosing level's labels; None for the outermost level)."""

    column: str
    labels: tuple[str, ...]
    parent: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))
        if self.parent is not None:
            parent = np.array(self.parent, dtype=np.int32, copy=True)
            parent.setflags(write=False)
            object.__setattr__(self, "parent", parent)

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"GroupLevel({self.column!r}, {self.n_groups} groups)"


def row_index(levels: tuple[GroupLevel, ...], group_idx: np.ndarray, k: int) -> np.ndarray:
    """Rows -> group index at level ``k`` (rows index the innermost level through ``group_idx``)."""
    idx = np.asarray(group_idx, dtype=np.int32)
    for level in reversed(levels[k + 1:]):
        idx = level.parent[idx]
    return idx


def ancestor_index(levels: tuple[GroupLevel, ...], k: int, outer: int) -> np.ndarray:
    """For each group of level ``k``, the index of its ancestor at level ``outer`` (< k)."""
    idx = np.arange(levels[k].n_groups, dtype=np.int32)
    for level in reversed(levels[outer + 1:k + 1]):
        idx = level.parent[idx]
    return idx


def select_levels(levels: tuple[GroupLevel, ...], columns: tuple[str, ...]) -> tuple[GroupLevel, ...]:
    """The levels named by ``columns`` (in the data's order), parents composed through skipped levels."""
    available = [level.column for level in levels]
    missing = [c for c in columns if c not in available]
    if missing:
        from .errors import SpecError

        raise SpecError(f"Grouping column(s) {', '.join(map(repr, missing))} are not among the loaded "
                        f"data's grouping columns ({', '.join(map(repr, available))}). Choose them "
                        "on the Data page (or with --group).")
    keep = sorted(available.index(c) for c in columns)
    out = []
    for position, k in enumerate(keep):
        parent = None if position == 0 else ancestor_index(levels, k, keep[position - 1])
        out.append(GroupLevel(levels[k].column, levels[k].labels, parent))
    return tuple(out)


def _first_seen(values: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct values in first-seen order and each entry's index into them."""
    uniques, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return tuple(str(u) for u in uniques[order]), rank[inverse.reshape(-1)]


def join_paths(label_columns: list[np.ndarray]) -> list[np.ndarray]:
    """Per level, each row's path: its labels from the outermost column down, joined by "/"."""
    paths = [np.asarray(label_columns[0], dtype=object)]
    for labels in label_columns[1:]:
        paths.append(np.array([f"{p}{PATH_SEPARATOR}{label}" for p, label in zip(paths[-1], labels)],
                              dtype=object))
    return paths


def build_levels(columns: tuple[str, ...], label_columns: list[np.ndarray],
                 row_numbers: np.ndarray | None = None) -> tuple[tuple[GroupLevel, ...], np.ndarray]:
    """The levels of rows labelled by ``label_columns`` (one text array per grouping column,
    outermost first) and each row's innermost group index.

    Groups are label paths in first-seen order. Raises DataError when two different label paths
    join to the same text (a label containing "/"), naming both; ``row_numbers`` (1-based) name rows.
    """
    paths = join_paths(label_columns)
    levels, codes_above = [], None
    for k, column in enumerate(columns):
        labels, codes = _first_seen(paths[k])
        parent = None
        if k > 0:
            parent = np.full(len(labels), -1, dtype=np.int32)
            parent[codes] = codes_above
            clash = np.flatnonzero(parent[codes] != codes_above)
            if clash.size:
                _refuse_clash(columns[:k + 1], label_columns, codes, codes_above, clash[0], row_numbers)
        levels.append(GroupLevel(column, labels, parent))
        codes_above = codes
    return tuple(levels), codes_above


def _refuse_clash(columns, label_columns, codes, codes_above, row, row_numbers) -> None:
    """DataError: row ``row`` and another row have different labels but the same path."""
    from .errors import DataError

    other = int(np.flatnonzero((codes == codes[row]) & (codes_above != codes_above[row]))[0])
    other, row = min(other, row), max(other, row)
    first, second = ("(" + ", ".join(f"{c} {str(label_columns[i][r])!r}" for i, c in enumerate(columns)) + ")"
                     for r in (other, row))
    path = PATH_SEPARATOR.join(str(label_columns[i][row]) for i in range(len(columns)))
    where = (f" (rows {int(row_numbers[other])} and {int(row_numbers[row])})"
             if row_numbers is not None else "")
    raise DataError(f"The groups {first} and {second}{where} both make the group path {path!r}, so "
                    f"they cannot be told apart. Inner groups are written outer{PATH_SEPARATOR}inner: "
                    f"remove or replace the {PATH_SEPARATOR!r} in these labels.")


@dataclass(frozen=True)
class ReusedLabel:
    """An inner label that names groups under several enclosing groups (each a different group)."""

    column: str
    label: str
    parent_column: str
    parents: tuple[str, ...]
    groups: tuple[str, ...]


def reused_labels(levels: tuple[GroupLevel, ...]) -> list[ReusedLabel]:
    """Inner labels that appear under two or more groups of the level above, level by level."""
    out = []
    for above, level in zip(levels, levels[1:]):
        by_label: dict[str, list[int]] = {}
        for j, path in enumerate(level.labels):
            last = path[len(above.labels[level.parent[j]]) + len(PATH_SEPARATOR):]
            by_label.setdefault(last, []).append(j)
        for label, groups in by_label.items():
            if len(groups) > 1:
                out.append(ReusedLabel(level.column, label, above.column,
                                       tuple(above.labels[level.parent[j]] for j in groups),
                                       tuple(level.labels[j] for j in groups)))
    return out

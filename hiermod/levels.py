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

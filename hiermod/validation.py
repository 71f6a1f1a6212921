"""The checks :func:`hiermod.data.load_data` runs on a table and its column mapping.

In the order ``load_data`` calls them: the mapping (columns exist, one role each, the roles the
kind needs), empty rows, group labels (clean text), numeric role columns (numbers only), missing
values (refused in summary data, dropped with a report otherwise), labels (length, duplicates in
summary data), finite values, the rules of the data kind (se > 0, counts, successes <= trials,
exposure > 0), then constant covariates and the number of groups. :class:`Rows` keeps the original
1-based row numbers and the report; every refusal is a :class:`hiermod.errors.DataError` naming the
column and the first offending rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hiermod import limits
from hiermod.columns import ColumnMap
from hiermod.kind_registry import ROLES, kind_info, owner_of
from hiermod.errors import DataError
from hiermod.lazy_pandas import LazyPandas
from hiermod.levels import PATH_SEPARATOR, GroupLevel, build_levels, reused_labels
from hiermod.reading import NumericColumn, clean_text, columns_text, to_numeric

pd = LazyPandas(globals())


def _rows_text(rows: Any, count: bool = True) -> str:
    """'row 4' or 'rows 2, 5, 9, 11, 12 and 3 more (8 rows)': 1-based rows, at most 5 listed."""
    rows = [int(r) for r in rows]
    if len(rows) == 1:
        return f"row {rows[0]}"
    listed = limits.MAX_LISTED_ROWS
    shown = ", ".join(str(r) for r in rows[:listed])
    more = f" and {len(rows) - listed} more" if len(rows) > listed else ""
    total = f" ({len(rows)} rows)" if count else ""
    return f"rows {shown}{more}{total}"


def plural(n: int, word: str) -> str:
    """'1 row', '3 rows'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_mapping(frame: pd.DataFrame, columns: ColumnMap) -> None:
    """Refuse unknown columns, a column in two roles, and roles the kind does not use or needs."""
    roles = columns.roles()
    for role, name in list(roles.items()) + [("covariate", c) for c in columns.covariates]:
        if name not in frame.columns:
            raise DataError(
                f"Column {name!r} (the {role} column) is not in the table. "
                f"Available columns: {columns_text(frame.columns)}."
            )
    for name in columns.outer_groups:
        if name not in frame.columns:
            raise DataError(f"Column {name!r} (an outer grouping column) is not in the table. "
                            f"Available columns: {columns_text(frame.columns)}.")
    if len(columns.group_columns) > limits.MAX_GROUP_LEVELS:
        raise DataError(f"{len(columns.group_columns)} grouping columns were chosen "
                        f"({', '.join(map(repr, columns.group_columns))}); at most "
                        f"{limits.MAX_GROUP_LEVELS} can be nested. Choose fewer grouping columns.")
    every = list(columns.outer_groups) + list(roles.values()) + list(columns.covariates)
    for name in every:
        if every.count(name) > 1:
            raise DataError(
                f"Column {name!r} is used for more than one role. Give each role its own column."
            )
    kind = columns.kind
    info = kind_info(kind)
    if info.role and info.role_default is None and getattr(columns, info.role) is None:
        raise DataError(
            f"Summary data need a standard-error column (se) next to {columns.y!r}. "
            "Choose the se column, or use kind 'gaussian' for one row per observation."
        )
    for role in ROLES:
        owner = owner_of(role)
        if role in roles and owner is not info:
            raise DataError(
                f"Column {roles[role]!r} is set as {role}, which only {owner.name} data use; "
                f"the data kind is {kind.value}. Clear the {role} column or change the kind."
            )


def clean_labels(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, int]:
    """Group labels as text (None where missing) and how many were changed by cleaning."""
    col = frame[name]
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    cleaned = [_label_text(v) for v in uniques]
    changed_unique = np.array([c is not None and c != str(v) for c, v in zip(cleaned, uniques)],
                              dtype=bool)
    table = np.array(cleaned + [None], dtype=object)
    labels = table[codes]  # code -1 picks the trailing None
    changed = int(np.sum(changed_unique[codes[codes >= 0]])) if len(cleaned) else 0
    return labels, changed


def _label_text(value: Any) -> str | None:
    """A label as clean text; integral numbers lose their '.0'; None when empty."""
    if isinstance(value, (bool, np.bool_)):
        text = str(bool(value))
    elif isinstance(value, (float, np.floating)):
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    else:
        text = str(value)
    text = clean_text(text)
    return text or None


class Rows:
    """The rows still in use: original 1-based row numbers and a running report."""

    def __init__(self, n: int) -> None:
        self.numbers = np.arange(1, n + 1)
        self.keep = np.ones(n, dtype=bool)
        self.report: list[str] = []

    def drop(self, mask: np.ndarray, why: str) -> None:
        """Drop the kept rows in mask and report them."""
        mask = mask & self.keep
        if mask.any():
            rows = self.numbers[mask]
            self.report.append(
                f"Dropped {plural(len(rows), 'row')} {why}: {_rows_text(rows, count=False)}."
            )
            self.keep &= ~mask

    def refuse(self, mask: np.ndarray, message: str) -> None:
        """Raise DataError when any kept row is in mask; '{rows}' in message lists them."""
        mask = mask & self.keep
        if mask.any():
            raise DataError(message.format(rows=_rows_text(self.numbers[mask])))


def numeric_roles(frame: pd.DataFrame, columns: ColumnMap, rows: Rows) -> dict[str, NumericColumn]:
    """Convert every numeric role column, refusing cells that are not numbers."""
    names = [c for role, c in columns.roles().items() if role != "group"] + list(columns.covariates)
    converted = {}
    for name in names:
        num = to_numeric(frame, name)
        example = frame[name].to_numpy()[num.bad & rows.keep][:1]
        rows.refuse(num.bad, f"Column {name!r} must hold numbers but has text in {{rows}} "
                             f"(first: {str(example[0]) if len(example) else ''!r}). "
                             "Fix or remove those cells (use a '.' as decimal point).")
        if num.decimal_commas:
            rows.report.append(f"Read {plural(num.decimal_commas, 'value')} in {name!r} "
                               "with a decimal comma.")
        converted[name] = num
    return converted


def handle_missing(labels: dict[str, np.ndarray], numeric: dict[str, NumericColumn],
                   columns: ColumnMap, rows: Rows) -> None:
    """Summary data: refuse any missing cell. Observation data: drop such rows with a report.
    ``labels``: grouping column -> its labels (None where missing), outermost first."""
    summary = kind_info(columns.kind).one_row_per_group
    for name, column_labels in labels.items():
        missing_label = np.array([label is None for label in column_labels], dtype=bool)
        if summary:
            rows.refuse(missing_label, f"Group label missing in column {name!r} in {{rows}}. "
                        "Summary data have one row per group; fill in the label or delete the row.")
        else:
            rows.drop(missing_label, f"with a missing group label in {name!r}")
    for name, num in numeric.items():
        if summary:
            rows.refuse(num.missing, f"Column {name!r} has missing values in {{rows}}. Summary "
                        "data cannot drop a group without changing the analysis; fill in the "
                        "values or delete those groups yourself.")
        else:
            rows.drop(num.missing, f"with a missing value in {name!r}")


def check_labels(labels: dict[str, np.ndarray], columns: ColumnMap, rows: Rows) -> None:
    """Refuse labels longer than limits.MAX_LABEL_CHARS and, in summary data, a group (its
    labels in every grouping column) on two rows. ``labels``: as for :func:`handle_missing`."""
    for name, column_labels in labels.items():
        lengths = np.array([len(label) if label is not None else 0 for label in column_labels])
        rows.refuse(lengths > limits.MAX_LABEL_CHARS,
                    f"Group labels in column {name!r} are longer than {limits.MAX_LABEL_CHARS} "
                    "characters in {rows}. Use shorter labels (a name or a code).")
    if kind_info(columns.kind).one_row_per_group:
        kept = pd.DataFrame({name: values[rows.keep] for name, values in labels.items()})
        dup = kept.duplicated(keep=False).to_numpy()
        if dup.any():
            mask = np.zeros(len(rows.keep), dtype=bool)
            mask[np.flatnonzero(rows.keep)[dup]] = True
            first = PATH_SEPARATOR.join(kept[dup].iloc[0])
            where = (f"column {columns.group!r}" if len(labels) == 1 else
                     "columns " + ", ".join(map(repr, labels)))
            rows.refuse(mask, f"Group {first!r} appears more than once in {where} in {{rows}}. "
                        "Summary data have one row per group; combine the rows or use kind "
                        "'gaussian' for observation rows.")


def check_finite(numeric: dict[str, NumericColumn], rows: Rows) -> None:
    """Refuse infinite values."""
    for name, num in numeric.items():
        rows.refuse(np.isinf(num.values), f"Column {name!r} has infinite values in {{rows}}. "
                    "Replace them with finite numbers or remove the rows.")


def check_kind(numeric: dict[str, NumericColumn], columns: ColumnMap, rows: Rows) -> None:
    """The rules of the data kind (:mod:`hiermod.kind_registry`) on the kept rows."""
    info = kind_info(columns.kind)
    role_column = getattr(columns, info.role) if info.role else None
    role_values = numeric[role_column].values if role_column is not None else None
    info.check_rows(numeric[columns.y].values, role_values, columns, rows)


def covariate_matrix(numeric: dict[str, NumericColumn], columns: ColumnMap,
                      keep: np.ndarray) -> np.ndarray:
    """The kept rows of the covariates as an (n_rows, k) matrix; refuse a constant column."""
    cols = []
    for name in columns.covariates:
        values = numeric[name].values[keep]
        if values.size and np.ptp(values) == 0:
            raise DataError(
                f"Covariate {name!r} has the same value ({values[0]:g}) in every row, so it "
                "cannot be told apart from the intercept. Remove it from the covariates."
            )
        cols.append(values)
    return np.column_stack(cols) if cols else np.zeros((int(keep.sum()), 0))


def _check_group_count(n: int, group: str) -> None:
    if n > limits.MAX_GROUPS:
        raise DataError(
            f"Column {group!r} has {n:,} different groups; the limit is "
            f"{limits.MAX_GROUPS:,}. Check that it is the group column and not an id per row."
        )


def group_index(labels: np.ndarray, group: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels in first-seen order and each row's index into them; refuse too many groups."""
    codes, uniques = pd.factorize(pd.Series(labels, dtype=object), sort=False)
    _check_group_count(len(uniques), group)
    return tuple(str(u) for u in uniques), codes.astype(np.int32)


def group_levels(labels: dict[str, np.ndarray], rows: Rows) -> tuple[tuple[GroupLevel, ...], np.ndarray]:
    """The grouping levels of the kept rows (:func:`hiermod.levels.build_levels`) and each kept
    row's innermost group; refuse more than limits.MAX_GROUPS innermost groups."""
    names = tuple(labels)
    if len(names) == 1:
        group_labels, group_idx = group_index(labels[names[0]][rows.keep], names[0])
        return (GroupLevel(names[0], group_labels),), group_idx
    kept = [labels[name][rows.keep] for name in names]
    levels, group_idx = build_levels(names, kept, rows.numbers[rows.keep])
    _check_group_count(levels[-1].n_groups, names[-1])
    return levels, group_idx


def _listed(values, limit: int = 3) -> str:
    """'A, B, C' or 'A, B, C and 5 more'."""
    values = list(values)
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def nesting_report(levels: tuple[GroupLevel, ...], limit: int = 3) -> list[str]:
    """Report lines for inner labels used under several outer groups (at most ``limit`` lines
    per level, then one line counting the rest)."""
    lines, reused = [], reused_labels(levels)
    for column in dict.fromkeys(r.column for r in reused):
        at_level = [r for r in reused if r.column == column]
        for r in at_level[:limit]:
            lines.append(f"Label {r.label!r} in column {r.column!r} appears under "
                         f"{len(r.parents)} different {r.parent_column!r} groups "
                         f"({_listed(r.parents)}); each is a different group "
                         f"({_listed(r.groups)}).")
        rest = at_level[limit:]
        if rest:
            lines.append(f"{plural(len(rest), 'more label')} in column {column!r} "
                         f"({_listed(repr(r.label) for r in rest)}) "
                         f"{'appears' if len(rest) == 1 else 'appear'} under more than one "
                         f"{rest[0].parent_column!r} group; each of those is a different group too.")
    return lines


def drop_empty_rows(frame: pd.DataFrame, rows: Rows) -> None:
    """Drop rows where every cell is empty."""
    rows.drop(frame.isna().all(axis=1).to_numpy(), "left completely empty")

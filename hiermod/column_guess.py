"""Guess which column plays which role, from column names and values.

:func:`guess_columns` looks for a group column (named like a group, else the first text column),
se / trials / exposure columns named like them, and an outcome; the data kind follows from which
roles it found and what the outcome holds. The guess is a starting point: the dashboard and the
command line let the user override every role.
"""

from __future__ import annotations

import re

import numpy as np

from hiermod.columns import ColumnMap, DataKind
from hiermod.errors import DataError
from hiermod.kind_registry import role_columns
from hiermod.lazy_pandas import LazyPandas
from hiermod.reading import NumericColumn, columns_text, read_table, to_numeric

pd = LazyPandas(globals())

_GROUP_HINTS = {
    "group", "grp", "groups", "school", "schools", "county", "state", "region", "id", "hospital",
    "player", "experiment", "site", "cluster", "study", "unit", "subject", "center", "centre",
    "clinic", "team", "name", "label", "batch", "district", "city", "country", "class", "block",
    "ward", "trial_id", "patient", "individual", "animal", "plot", "village", "household",
    "herd", "litter", "lab", "laboratory", "province", "area", "category", "level",
}
_SE_HINTS = {
    "se", "s_e", "stderr", "std_err", "std_error", "standard_error", "sigma", "sem", "sei",
    "se_y", "sigma_y", "error",
}
_TRIALS_HINTS = {
    "n", "trials", "total", "at_bats", "atbats", "ab", "operations", "rats", "attempts", "tries",
    "n_trials", "sample_size", "denominator", "patients", "subjects", "size", "births", "shots",
    "tested", "games", "total_n", "n_total", "animals", "participants", "cases_total",
}
# "offset" is not a hint on purpose: an offset is usually log(exposure), not exposure.
_EXPOSURE_HINTS = {
    "exposure", "time", "person_years", "person_time", "personyears", "py", "years",
    "duration", "population", "pop", "at_risk", "followup", "follow_up", "days", "hours",
}
_OUTCOME_HINTS = {
    "y", "yi", "outcome", "response", "effect", "estimate", "est", "value", "score", "result",
    "target", "successes", "success", "hits", "deaths", "death", "events", "event", "cases",
    "tumors", "tumours", "count", "counts", "responders", "observed", "obs", "mean",
}
_COUNT_HINTS = {
    "count", "counts", "events", "event", "cases", "deaths", "claims", "accidents", "incidents",
    "failures", "injuries", "visits", "calls", "arrests", "crimes", "births",
}
_INDEX_TOKENS = {"idx", "index", "id", "no", "num", "number", "code", "key", "row", "rownum"}


def _normalize(name: str) -> str:
    """snake_case form of a column name: 'AtBats' -> 'at_bats', 'Std. Error' -> 'std_error'."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _hint_score(name: str, hints: set[str]) -> int:
    """2 when the name is a hint, 1 when a hint is one of its '_'-separated parts, else 0."""
    norm = _normalize(name)
    if norm in hints:
        return 2
    padded = f"_{norm}_"
    return 1 if any(f"_{hint}_" in padded for hint in hints) else 0


def _is_index_like(frame: pd.DataFrame, name: str, num: NumericColumn) -> bool:
    """True for row numbers and id codes: named like one, or the integers 0..n-1 / 1..n."""
    norm = _normalize(name)
    if norm.split("_")[-1] in _INDEX_TOKENS or norm.startswith(("column_", "unnamed")):
        return True
    values = num.values
    if num.missing.any() or len(values) < 3:
        return False
    return bool(np.array_equal(values, np.arange(len(values)))
                or np.array_equal(values, np.arange(1, len(values) + 1)))


def _is_counts(values: np.ndarray) -> bool:
    """True when every non-missing value is a non-negative integer."""
    v = values[~np.isnan(values)]
    return bool(v.size and np.all(v >= 0) and np.all(v == np.floor(v)))


def _guess_group(frame: pd.DataFrame, numeric: dict[str, NumericColumn]) -> str:
    """Exact name hint, else a text/id column with a hint, else the first text column."""
    names = list(frame.columns)
    scores = {name: _hint_score(name, _GROUP_HINTS) for name in names}
    exact = [n for n in names if scores[n] == 2]
    if exact:
        return exact[0]
    textual = [n for n in names if n not in numeric]
    partial = [n for n in names if scores[n] == 1]
    for name in partial:
        if name in textual or _normalize(name).split("_")[-1] in _INDEX_TOKENS:
            return name
    if textual:
        return textual[0]
    if partial:
        return partial[0]
    raise DataError(
        f"Could not tell which column holds the groups: every column is numeric and none is "
        f"named like a group (group, school, county, id, ...). Columns: {columns_text(names)}. "
        "Choose the group column in the column mapping, or rename it to 'group'."
    )


def _best_hint(candidates: list[str], hints: set[str]) -> str | None:
    """The candidate with the highest hint score (first in column order on ties), if any."""
    scored = [(-_hint_score(n, hints), i, n) for i, n in enumerate(candidates)]
    scored = [s for s in scored if s[0] < 0]
    return min(scored)[2] if scored else None


def _within_group_tier(values: np.ndarray, codes: np.ndarray) -> int:
    """0: varies within some group and is not 0/1; 1: varies, 0/1; 2: constant within groups."""
    ok = ~np.isnan(values)
    s = pd.Series(values[ok])
    varies = bool(len(s) and s.groupby(codes[ok]).nunique().max() > 1)
    if not varies:
        return 2
    return 1 if np.isin(s.to_numpy(), (0.0, 1.0)).all() else 0


def _guess_y(frame: pd.DataFrame, numeric: dict[str, NumericColumn], used: set[str],
             group: str) -> str:
    """Outcome-named column, else a column that varies within groups, else the first left."""
    candidates = [
        n for n in numeric
        if n not in used and not _is_index_like(frame, n, numeric[n])
    ]
    if not candidates:
        raise DataError(
            f"Could not find a numeric outcome column besides {columns_text(sorted(used))}. "
            f"Columns: {columns_text(frame.columns)}. Choose the outcome (y) column in the "
            "column mapping."
        )
    named = _best_hint(candidates, _OUTCOME_HINTS)
    if named is not None:
        return named
    codes = pd.factorize(frame[group])[0]
    tiers = [(_within_group_tier(numeric[n].values, codes), i, n) for i, n in enumerate(candidates)]
    return min(tiers)[2]


def _guess_kind(y: np.ndarray, y_name: str, se: str | None, trials: np.ndarray | None,
                exposure: np.ndarray | None) -> DataKind:
    """Summary with an se column; binomial with valid trials or a 0/1 outcome; poisson with an
    exposure or a count-named outcome of counts; gaussian otherwise."""
    if se is not None:
        return DataKind.SUMMARY
    if trials is not None and _is_counts(y) and np.all((y <= trials) | np.isnan(y) | np.isnan(trials)):
        return DataKind.BINOMIAL
    if exposure is not None and _is_counts(y):
        return DataKind.POISSON
    observed = y[~np.isnan(y)]
    if observed.size and np.isin(observed, (0.0, 1.0)).all():
        return DataKind.BINOMIAL
    if _hint_score(y_name, _COUNT_HINTS) and _is_counts(y):
        return DataKind.POISSON
    return DataKind.GAUSSIAN


def guess_columns(frame: pd.DataFrame) -> ColumnMap:
    """Guess the column roles and the data kind from column names and values.

    group: a column named like a group (exact name first), else the first text column.
    se / trials / exposure: numeric columns named like them (``se``, ``at_bats``, ``exposure``...).
    y: among the other numeric, non-index columns, one named like an outcome, else one that varies
    within groups (not 0/1 first), else the first. Kind: se -> summary; trials -> binomial;
    exposure -> poisson; 0/1 y -> binomial with one trial per row; count-named y -> poisson.
    """
    if not isinstance(frame, pd.DataFrame) or "delimiter" not in frame.attrs:
        frame = read_table(frame)
    converted = {n: to_numeric(frame, n) for n in frame.columns}
    numeric = {n: c for n, c in converted.items() if c.usable}
    group = _guess_group(frame, numeric)
    numeric.pop(group, None)
    names = list(numeric)
    se = _best_hint(names, _SE_HINTS)
    trials = _best_hint([n for n in names if n != se and _is_counts(numeric[n].values)
                         and (_hint_score(n, _OUTCOME_HINTS) == 0 or _hint_score(n, _TRIALS_HINTS) == 2)],
                        _TRIALS_HINTS)
    exposure = _best_hint([n for n in names if n not in (se, trials)
                           and np.nanmin(numeric[n].values) > 0], _EXPOSURE_HINTS)
    used = {group} | {c for c in (se, trials, exposure) if c is not None}
    y = _guess_y(frame, numeric, used, group)
    kind = _guess_kind(numeric[y].values, y, se,
                       numeric[trials].values if trials else None,
                       numeric[exposure].values if exposure else None)
    return ColumnMap(group=group, y=y, kind=kind,
                     **role_columns(kind, se=se, trials=trials, exposure=exposure))


def grouping_candidates(frame: pd.DataFrame, columns: ColumnMap | None = None) -> list[str]:
    """Columns that could be further grouping columns, fewest distinct values first: text columns,
    or whole-number columns named like a group, with 2 or more distinct values but fewer than half
    the rows (not an id per row). Columns ``columns`` already uses, and columns that only relabel
    one of its grouping columns (one value per group), are left out. Nesting is never
    guessed: the user chooses which of these, if any, to use and in which order."""
    if not isinstance(frame, pd.DataFrame) or "delimiter" not in frame.attrs:
        frame = read_table(frame)
    used = set()
    if columns is not None:
        used = {*columns.roles().values(), *columns.covariates, *columns.group_columns}
    found = []
    for position, name in enumerate(frame.columns):
        if name in used:
            continue
        num = to_numeric(frame, name)
        coded = num.usable and _is_counts(num.values) and _hint_score(name, _GROUP_HINTS) > 0
        distinct = frame[name].nunique(dropna=True)
        if (not num.usable or coded) and 2 <= distinct < max(len(frame) / 2, 2):
            if columns is None or not any(_relabels(frame, name, g) for g in columns.group_columns):
                found.append((distinct, position, name))
    return [name for _, _, name in sorted(found)]


def _relabels(frame: pd.DataFrame, name: str, group: str) -> bool:
    """True when ``name`` and ``group`` split the rows the same way (one-to-one values)."""
    pairs = len(frame[[name, group]].dropna().drop_duplicates())
    return pairs == frame[name].nunique() == frame[group].nunique()

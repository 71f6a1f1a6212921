"""What-if data: a per-group table a person can edit, and the grouped data it describes.

``group_table(data)`` gives one row per (innermost) group with the numbers the model's likelihood
reads from that group; ``rebuild(data, table)`` returns new :class:`~hiermod.data.GroupedData` in
which every edited group has exactly those numbers, and every other row is untouched. ``data``
itself is never changed (its arrays are read-only; the result is a new object with a new
fingerprint). Three editors, chosen from the data kind's registry entry
(:mod:`hiermod.kind_registry`), never from its name:

``measurement`` (one row per group: summary data)
    columns ``y`` and the kind's role (``se``): the group's estimate and its standard error.
``counts`` (count outcomes: binomial, poisson)
    columns ``y`` (successes / events, summed over the group's rows) and the role (``trials`` /
    ``exposure``, summed). An edited group of one row gets the new numbers; an edited group of
    0/1 rows with one trial each becomes ``trials`` rows of which ``y`` are 1; any other edited
    group becomes one row holding the totals. Binomial and Poisson rows of one group share
    theta_j, so sum_i Binomial(n_i, p_j) = Binomial(sum n_i, p_j) and sum_i Poisson(E_i r_j) =
    Poisson(sum E_i r_j): the likelihood of theta_j is unchanged by the merge (for the negative
    binomial the merged row counts as one observation; :data:`MERGE_NOTE` says so).
``rows`` (one numeric outcome per row: gaussian)
    columns ``n`` (rows), ``mean`` and ``sd`` (sample sd, ddof 1) of the group's outcome, and the
    read-only ``se`` = sd / sqrt(n) of its mean. The normal likelihood of a group reads only
    (n_j, ybar_j, SS_j = (n_j - 1) sd_j^2):

        sum_i (y_i - theta_j)^2 = SS_j + n_j (ybar_j - theta_j)^2,

    so an edited group is rebuilt with exactly the new (n, mean, sd). Same n: y_i' = mean' +
    (y_i - ybar) sd' / sd (each row keeps its place and its covariates). New n: n' rows mean' +
    sd' z_k with z_k the normal scores Phi^-1((k - 1/2) / n') standardised to mean 0 and sd 1
    (needs no covariates: new rows would need covariate values). A group with one row has no sd;
    an empty sd for a group of two or more rows means the pooled within-group sd
    sqrt(sum (y - ybar_g)^2 / (N - J)) of the loaded data. A group whose rows are all equal gets
    the normal scores too when given an sd. The model does not use this se: it estimates one sigma for all groups, and a group's
    own mean carries se = sigma / sqrt(n_j), so doubling n divides it by sqrt(2).

Bad values raise :class:`~hiermod.errors.DataError` naming the group and the column, with the
kind's own row rules (``kind_info(kind).check_rows``: se > 0, successes <= trials, whole counts...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .kind_registry import kind_info
from .lazy_pandas import LazyPandas

pd = LazyPandas(globals())

__all__ = ["GroupEditor", "editor_for", "group_table", "recompute", "rebuild", "changed_groups", "edit_report",
           "MERGE_NOTE", "MAX_NEW_ROWS"]

MAX_NEW_ROWS = 100_000
"""Most rows one edited group may ask for (``n`` or ``trials`` of 0/1 rows)."""

MERGE_NOTE = ("An edited group of several rows (not 0/1 rows) is kept as one row of its new totals: "
              "the same likelihood for binomial and Poisson models; a negative binomial model counts "
              "it as one observation.")


@dataclass(frozen=True)
class GroupEditor:
    """How one kind of data is edited group by group.

    ``name``: "measurement", "counts" or "rows". ``columns``: the table's value columns (after
    ``group``); ``editable``: those a person may change (the others are computed from them).
    ``labels``: column -> what to call it for ``data`` (the user's column names where they exist).
    """

    name: str
    columns: tuple[str, ...]
    editable: tuple[str, ...]
    labels: dict


def editor_for(data) -> GroupEditor:
    """The editor for ``data``'s kind (read from the kind registry's attributes)."""
    info = kind_info(data.kind)
    y = data.columns.y
    if info.one_row_per_group:
        role = info.role
        role_label = getattr(data.columns, role) or role
        return GroupEditor("measurement", ("y", role), ("y", role), {"y": y, role: role_label})
    if info.counts:
        role = info.role
        role_label = getattr(data.columns, role) or role
        return GroupEditor("counts", ("y", role, "estimate"), ("y", role),
                           {"y": f"{y} (total)", role: f"{role_label} (total)",
                            "estimate": f"{y} / {role_label}"})
    return GroupEditor("rows", ("n", "mean", "sd", "se"), ("n", "mean", "sd"),
                       {"n": "n (rows)", "mean": f"mean {y}", "sd": f"sd of {y}",
                        "se": "se of the mean = sd / sqrt(n)"})


# ------------------------------------------------------------------------------ the table


def _sums(data, values) -> np.ndarray:
    return np.bincount(data.group_idx, np.asarray(values, float), data.n_groups)


def _row_stats(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_j, mean_j, sd_j) of the outcome per group; sd NaN for a group of one row."""
    n = data.group_sizes.astype(float)
    y = np.asarray(data.y, float)
    mean = _sums(data, y) / n
    ss = _sums(data, (y - mean[data.group_idx]) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(n >= 2, np.sqrt(ss / np.maximum(n - 1, 1)), np.nan)
    return n, mean, sd


def group_table(data) -> "pd.DataFrame":
    """One row per group: ``group`` and the editor's columns (see the module docstring);
    ``attrs["editor"]`` names the editor."""
    editor = editor_for(data)
    out = {"group": list(data.labels)}
    if editor.name == "measurement":
        role = editor.columns[1]
        first = np.full(data.n_groups, -1)
        first[data.group_idx[::-1]] = np.arange(data.n_rows)[::-1]
        out["y"] = np.asarray(data.y, float)[first]
        out[role] = np.asarray(getattr(data, role), float)[first]
    elif editor.name == "counts":
        role = editor.columns[1]
        out["y"] = _sums(data, data.y)
        out[role] = _sums(data, getattr(data, role))
        with np.errstate(divide="ignore", invalid="ignore"):
            out["estimate"] = out["y"] / out[role]
    else:
        n, mean, sd = _row_stats(data)
        out.update(n=n, mean=mean, sd=sd)
        out["se"] = sd / np.sqrt(n)
    table = pd.DataFrame(out)
    table.attrs["editor"] = editor.name
    return table


def recompute(data, table) -> "pd.DataFrame":
    """``table`` with its computed columns (``estimate`` = y / total, ``se`` = sd / sqrt(n))
    recomputed from its editable ones (after an edit)."""
    editor = editor_for(data)
    out = table.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if editor.name == "counts":
            role = editor.columns[1]
            out["estimate"] = pd.to_numeric(out["y"], errors="coerce") / pd.to_numeric(out[role], errors="coerce")
        elif editor.name == "rows":
            out["se"] = pd.to_numeric(out["sd"], errors="coerce") / np.sqrt(pd.to_numeric(out["n"], errors="coerce"))
    out.attrs.update(table.attrs)
    return out


def _same(a, b) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _checked_table(data, table) -> "pd.DataFrame":
    """``table`` with its editable columns as floats; refuses other groups, text and infinities,
    and empty cells (except an empty sd: see :func:`rebuild`)."""
    editor = editor_for(data)
    missing = [c for c in ("group", *editor.editable) if c not in table.columns]
    if missing:
        raise DataError(f"The edited table lacks the column(s) {', '.join(missing)}; it needs "
                        f"group, {', '.join(editor.editable)}.")
    if len(table) != data.n_groups or [str(g) for g in table["group"]] != list(data.labels):
        raise DataError("The edited table must keep every group, in the data's order; groups cannot "
                        "be added, removed or renamed here. Restore the original data to start again.")
    out = table.copy()
    original = group_table(data)
    for col in editor.editable:
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(float)
        empty = np.isnan(values) & ~np.isnan(original[col].to_numpy(float))
        bad = np.isinf(values) | (empty if col != "sd" else False)
        if np.any(bad):
            raise DataError(f"{editor.labels[col]} must be a number in {_names(data, bad)}. Type a "
                            "number, or restore the original data.")
        out[col] = values
    return out


def changed_groups(data, table) -> list[str]:
    """Labels of the groups whose editable values in ``table`` differ from ``data``'s."""
    editor = editor_for(data)
    table = _checked_table(data, table)
    original = group_table(data)
    changed = np.zeros(data.n_groups, dtype=bool)
    for col in editor.editable:
        changed |= ~_same(table[col].to_numpy(float), original[col].to_numpy(float))
    return [data.labels[j] for j in np.flatnonzero(changed)]


def _names(data, mask: np.ndarray, most: int = 5) -> str:
    labels = [repr(data.labels[j]) for j in np.flatnonzero(mask)]
    more = f" and {len(labels) - most} more" if len(labels) > most else ""
    return ("group " if len(labels) == 1 else "groups ") + ", ".join(labels[:most]) + more


class _GroupRows:
    """The kind's row rules (``check_rows``) applied to per-group values, naming groups."""

    def __init__(self, data, groups: np.ndarray) -> None:
        self.data, self.groups = data, np.asarray(groups)
        self.keep = np.ones(len(self.groups), dtype=bool)

    def refuse(self, mask, message: str) -> None:
        mask = np.asarray(mask, bool) & self.keep
        if mask.any():
            hit = np.zeros(self.data.n_groups, dtype=bool)
            hit[self.groups[mask]] = True
            raise DataError(message.format(rows=_names(self.data, hit)).replace(
                "remove those rows", "restore the original data").replace(
                "Remove rows without trials", "Give every group at least one trial"))


def _check_rules(data, y, role_values, groups) -> None:
    columns = data.columns
    role = kind_info(data.kind).role
    if role and getattr(columns, role) is None:  # e.g. 0/1 rows without a trials column: name it
        columns = dataclasses.replace(columns, **{role: role})
    kind_info(data.kind).check_rows(np.asarray(y, float), None if role_values is None else
                                    np.asarray(role_values, float), columns, _GroupRows(data, groups))


# ---------------------------------------------------------------------------- rebuilding


def rebuild(data, table) -> "GroupedData":  # noqa: F821 - hiermod.data.GroupedData
    """New grouped data with the groups of ``table`` (from :func:`group_table`, edited) rebuilt
    as the module docstring says; ``data`` itself when nothing changed. Raises DataError naming
    the group and the column for values the kind does not allow."""
    editor = editor_for(data)
    table = _checked_table(data, table)
    changed = changed_groups(data, table)
    if not changed:
        return data
    edited = np.isin(np.asarray(data.labels, dtype=object), np.asarray(changed, dtype=object))
    build = {"measurement": _rebuild_measurement, "counts": _rebuild_counts, "rows": _rebuild_rows}
    arrays = build[editor.name](data, table, edited, editor)
    note = edit_report(data, table)
    return dataclasses.replace(data, report=tuple(data.report) + (note,), **arrays)


def edit_report(data, table) -> str:
    """One sentence naming the edited groups and their new values (for the data's report)."""
    editor = editor_for(data)
    table = _checked_table(data, table)
    original = group_table(data)
    parts = []
    for label in changed_groups(data, table):
        j = data.labels.index(label)
        moves = [f"{editor.labels[c]} {_fmt(original[c].iloc[j])} -> {_fmt(table[c].iloc[j])}"
                 for c in editor.editable if not _same(table[c].iloc[j], original[c].iloc[j])]
        if "se" in editor.columns and "se" not in editor.editable:  # rows: the se of the mean follows
            se = recompute(data, table)["se"].iloc[j]
            moves.append(f"se of its mean sd / sqrt(n) {_fmt(original['se'].iloc[j])} -> {_fmt(se)}")
        parts.append(f"{label}: " + ", ".join(moves))
    return "Edited for a what-if (the loaded data are unchanged): " + "; ".join(parts) + "."


def _fmt(v) -> str:
    v = float(v)
    return "empty" if np.isnan(v) else f"{v:.4g}"


def _rebuild_measurement(data, table, edited, editor) -> dict:
    role = editor.columns[1]
    y_g, r_g = table["y"].to_numpy(float), table[role].to_numpy(float)
    _check_rules(data, y_g[edited], r_g[edited], np.flatnonzero(edited))
    idx = np.asarray(data.group_idx)
    rows = edited[idx]
    y = np.array(data.y, float)
    r = np.array(getattr(data, role), float)
    y[rows], r[rows] = y_g[idx[rows]], r_g[idx[rows]]
    return {"y": y, role: r}


def _whole(data, values, edited, label) -> np.ndarray:
    values = np.asarray(values, float)
    bad = edited & ((values < 0) | (np.abs(values - np.round(values)) > 1e-9) | (values > MAX_NEW_ROWS))
    if bad.any():
        raise DataError(f"{label} must be a whole number from 0 to {MAX_NEW_ROWS:,} in "
                        f"{_names(data, bad)}. Type a whole number, or restore the original data.")
    return np.round(values)


def _rebuild_counts(data, table, edited, editor) -> dict:
    role = editor.columns[1]
    y_g, r_g = table["y"].to_numpy(float), table[role].to_numpy(float)
    _check_rules(data, y_g[edited], r_g[edited], np.flatnonzero(edited))
    idx = np.asarray(data.group_idx)
    y, r = np.asarray(data.y, float), np.asarray(getattr(data, role), float)
    sizes = data.group_sizes
    binary = np.ones(data.n_groups, dtype=bool)
    np.logical_and.at(binary, idx, (r == 1) & np.isin(y, (0.0, 1.0)))
    binary &= sizes > 1
    if data.covariate_names and (edited & (sizes > 1)).any():
        raise DataError(f"With covariates, a group of several rows cannot be re-made from new totals "
                        f"({_names(data, edited & (sizes > 1))}): its rows' covariate values would be "
                        "lost. Edit groups of one row, or remove the covariates.")
    grow = edited & binary
    if grow.any():
        r_g = _whole(data, r_g, grow, editor.labels[role])
    keep = ~(edited & (sizes > 1))[idx]
    one = edited & (sizes == 1)
    y_new, r_new = y.copy(), r.copy()
    rows = one[idx]
    y_new[rows], r_new[rows] = y_g[idx[rows]], r_g[idx[rows]]
    add_idx, add_y, add_r = [], [], []
    for j in np.flatnonzero(edited & (sizes > 1)):
        if binary[j]:
            n, k = int(r_g[j]), int(round(y_g[j]))
            add_idx.append(np.full(n, j))
            add_y.append(np.r_[np.ones(k), np.zeros(n - k)])
            add_r.append(np.ones(n))
        else:  # several rows with trials / exposure: one row of the totals
            add_idx.append(np.array([j]))
            add_y.append(np.array([y_g[j]]))
            add_r.append(np.array([r_g[j]]))
    return _assemble(data, keep, y_new, {role: r_new}, add_idx, add_y, {role: add_r})


def _assemble(data, keep, y, roles: dict, add_idx, add_y, add_roles: dict, X=None) -> dict:
    """Kept rows (in their order) followed by the new rows: arrays for dataclasses.replace."""
    idx = np.concatenate([np.asarray(data.group_idx)[keep], *add_idx]).astype(np.int32)
    out = {"group_idx": idx, "y": np.concatenate([y[keep], *add_y])}
    for role, values in roles.items():
        out[role] = np.concatenate([values[keep], *add_roles[role]])
    X = np.asarray(data.X, float) if X is None else X
    extra = sum(len(a) for a in add_idx)
    out["X"] = np.concatenate([X[keep], np.zeros((extra, X.shape[1]))]) if X.shape[1] else \
        np.zeros((len(idx), 0))
    return out


def _pooled_sd(data) -> float:
    n, mean, _ = _row_stats(data)
    y = np.asarray(data.y, float)
    dof = data.n_rows - data.n_groups
    if dof < 1:
        return float("nan")
    return float(np.sqrt(np.sum((y - mean[data.group_idx]) ** 2) / dof))


def _normal_scores(n: int) -> np.ndarray:
    """n values with mean 0 and sample sd 1 (n >= 2), spread like a normal sample."""
    from scipy.special import ndtri

    z = ndtri((np.arange(1, n + 1) - 0.5) / n)
    z -= z.mean()
    return z / z.std(ddof=1)


def _rebuild_rows(data, table, edited, editor) -> dict:
    n0, mean0, sd0 = _row_stats(data)
    n_g = _whole(data, table["n"].to_numpy(float), edited, editor.labels["n"])
    few = edited & (n_g < 1)
    if few.any():
        raise DataError(f"{editor.labels['n']} must be at least 1 in {_names(data, few)}.")
    mean_g, sd_g = table["mean"].to_numpy(float), table["sd"].to_numpy(float)
    negative = edited & (sd_g < 0)
    if negative.any():
        raise DataError(f"{editor.labels['sd']} cannot be negative in {_names(data, negative)}.")
    resized = edited & (n_g != n0)
    if data.covariate_names and resized.any():
        raise DataError(f"With covariates the number of rows of a group cannot change "
                        f"({_names(data, resized)}): new rows would need covariate values. Edit "
                        "the mean or sd, or remove the covariates on the Model page.")
    needs_sd = edited & (n_g >= 2) & np.isnan(sd_g)
    if needs_sd.any():
        pooled = _pooled_sd(data)
        if not np.isfinite(pooled):
            raise DataError(f"Type an sd for {_names(data, needs_sd)}: no group has two rows to "
                            "borrow a within-group sd from.")
        sd_g = np.where(needs_sd, pooled, sd_g)
    idx = np.asarray(data.group_idx)
    y = np.array(data.y, float)
    add_idx, add_y = [], []
    for g in np.flatnonzero(edited):
        n, mean, sd = int(n_g[g]), float(mean_g[g]), float(sd_g[g])
        values = np.full(1, mean) if n == 1 else mean + sd * _normal_scores(n)
        if resized[g]:
            add_idx.append(np.full(n, g))
            add_y.append(values)
            continue
        rows = idx == g
        if n >= 2 and sd0[g] > 0:  # keep each row's place in the group's spread
            values = mean + (y[rows] - mean0[g]) * (sd / sd0[g])
        y[rows] = values
    keep = ~resized[idx]
    return _assemble(data, keep, y, {}, add_idx, add_y, {})

"""Read a table and a column mapping into validated, immutable grouped data.

``load_data(source, columns)`` reads a CSV (path, bytes, file-like) or a DataFrame, guesses the
column roles when no :class:`ColumnMap` is given, and returns a :class:`GroupedData`: plain numpy
arrays, group labels in first-seen order and a report of every row dropped or value coerced.
Anything that cannot be turned into grouped data raises :class:`hiermod.errors.DataError` naming
the column and the first offending rows (1-based data rows: the header is not counted).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from hiermod.errors import DataError


class _LazyPandas:
    """``pandas``, imported on first use: the dashboard's first page needs this module's names but
    no pandas (0.3 s to import here). The first attribute access puts the real module in ``pd``."""

    def __getattr__(self, name: str):
        import pandas

        globals()["pd"] = pandas
        return getattr(pandas, name)


pd = _LazyPandas()

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_GROUPS = 10_000
MAX_COLUMNS = 500
MAX_LABEL_CHARS = 200
MAX_LISTED_ROWS = 5

Source = Union[str, Path, bytes, bytearray, "pd.DataFrame", IO]

_DELIMITERS = ",;\t"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


class DataKind(StrEnum):
    """What one row of the table holds."""

    SUMMARY = "summary"  # one row per group: estimate y and its standard error se
    GAUSSIAN = "gaussian"  # one row per observation: group label and numeric outcome
    BINOMIAL = "binomial"  # successes y out of trials (trials None: y is 0/1 per row)
    POISSON = "poisson"  # event counts y with an exposure (None: exposure 1)


@dataclass(frozen=True)
class ColumnMap:
    """Which column plays which role; ``kind`` says which roles are needed."""

    group: str
    y: str
    kind: DataKind
    se: str | None = None
    trials: str | None = None
    exposure: str | None = None
    covariates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            kind = DataKind(self.kind)
        except ValueError:
            kinds = ", ".join(k.value for k in DataKind)
            raise DataError(f"Unknown data kind {self.kind!r}; choose one of {kinds}.") from None
        object.__setattr__(self, "kind", kind)
        if isinstance(self.covariates, str):
            object.__setattr__(self, "covariates", (self.covariates,))
        else:
            object.__setattr__(self, "covariates", tuple(self.covariates))

    def roles(self) -> dict[str, str]:
        """Role name -> column name for every single-column role that is set."""
        named = {"group": self.group, "y": self.y, "se": self.se, "trials": self.trials,
                 "exposure": self.exposure}
        return {role: col for role, col in named.items() if col is not None}


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


def _rows_text(rows: Any, count: bool = True) -> str:
    """'row 4' or 'rows 2, 5, 9, 11, 12 and 3 more (8 rows)': 1-based rows, at most 5 listed."""
    rows = [int(r) for r in rows]
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:MAX_LISTED_ROWS])
    more = f" and {len(rows) - MAX_LISTED_ROWS} more" if len(rows) > MAX_LISTED_ROWS else ""
    total = f" ({len(rows)} rows)" if count else ""
    return f"rows {shown}{more}{total}"


def _plural(n: int, word: str) -> str:
    """'1 row', '3 rows'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _available(columns: Any) -> str:
    """The table's column names, quoted, for messages."""
    names = [repr(str(c)) for c in columns]
    if len(names) > 30:
        names = names[:30] + [f"... ({len(columns)} columns)"]
    return ", ".join(names)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _read_bytes(source: Source) -> bytes | str:
    """The raw content of a path, bytes or file-like source, refusing more than MAX_BYTES."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        shown = str(path) if len(str(path)) <= 120 else str(path)[:117] + "..."
        try:
            if not path.is_file():
                raise DataError(f"File not found: {shown!r}. Check the path, or upload the file.")
            if path.stat().st_size > MAX_BYTES:
                raise DataError(_too_big_message(path.stat().st_size))
            raw = path.read_bytes()
        except OSError as exc:  # name too long, no permission, I/O error...
            raise DataError(f"Cannot read the file {shown!r}: {exc.strerror or 'unreadable'}. "
                            "Check the path, or upload the file.") from None
    elif hasattr(source, "read"):
        try:
            source.seek(0)
        except Exception:  # not seekable: read from where it is
            pass
        raw = source.read(MAX_BYTES + 1)
    else:
        raise DataError(
            f"Cannot read data from a {type(source).__name__}; give a file path, bytes, "
            "an open file or a pandas DataFrame."
        )
    if len(raw) > MAX_BYTES:
        raise DataError(_too_big_message(len(raw)))
    return raw


def _too_big_message(size: int) -> str:
    """The message for a file over MAX_BYTES."""
    return (
        f"The file is {size / 1024**2:.1f} MB; the limit is {MAX_BYTES // 1024**2} MB. "
        "Keep only the columns you need, or aggregate the rows per group first."
    )


def _decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, else Latin-1."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise DataError(
                "The file starts like UTF-16 text (a byte-order mark) but is not valid UTF-16. "
                "Save it as CSV with UTF-8 encoding and upload that."
            ) from None
    if b"\x00" in raw[:8192] or raw.startswith(b"PK\x03\x04"):
        raise DataError(
            "The file looks binary (for example an Excel workbook), not CSV text. "
            "Save it as CSV (comma, semicolon or tab separated) and upload that."
        )
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab, sniffed from the first lines; comma when unsure."""
    lines = text.splitlines()[:20]
    sample = "\n".join(lines)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    header = lines[0] if lines else ""
    if delimiter not in header:
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        delimiter = best if counts[best] > 0 else ","
    return delimiter


def _clean_text(value: str) -> str:
    """NFC text without control/format characters and surrounding whitespace."""
    value = unicodedata.normalize("NFC", value)
    value = "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cf"))
    return value.strip()


def _header_names(cells: list[Any]) -> list[str]:
    """Cleaned column names; an empty header cell becomes 'column_<i>'."""
    names = []
    for i, cell in enumerate(cells, start=1):
        name = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
        name = _clean_text(name)
        names.append(name or f"column_{i}")
    return names


def _check_header(names: list[str]) -> None:
    """Refuse duplicated names, too many columns, or a first row that is data, not names."""
    if len(names) > MAX_COLUMNS:
        raise DataError(
            f"The table has {len(names)} columns; the limit is {MAX_COLUMNS}. "
            "Keep only the columns you need."
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(
                f"Column name {name!r} appears twice (columns {seen[name]} and {i}). "
                "Give every column a different name in the header row."
            )
        seen[name] = i
    if all(_parses_as_number(name) for name in names):
        raise DataError(
            f"The first row ({', '.join(names[:8])}) holds numbers, not column names: the file "
            "has no header. Add a header row naming the columns (for example group,y,se)."
        )


def _parses_as_number(text: str) -> bool:
    """True when the text is a finite or infinite number."""
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _check_size(frame: pd.DataFrame, header: list[str]) -> None:
    """Refuse a table without data rows or with more than MAX_ROWS rows."""
    if len(frame) == 0:
        raise DataError(
            f"The table has a header ({_available(header)}) but no data rows. "
            "Add one row per group or per observation."
        )
    if len(frame) > MAX_ROWS:
        raise DataError(
            f"The table has more than {MAX_ROWS:,} data rows (the limit). "
            "Aggregate the rows per group, or load a sample."
        )


def _parse_text(text: str) -> pd.DataFrame:
    """Parse CSV text into an all-string frame with a checked header."""
    if not text.strip():
        raise DataError("The file is empty. Upload a CSV with a header row and one row per record.")
    text = re.sub(r"\A(?:[ \t]*(?:\r\n|\r|\n))+", "", text)  # blank lines above the header
    delimiter = _sniff_delimiter(text)
    try:
        raw = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str,
            skip_blank_lines=False, nrows=MAX_ROWS + 2, engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(
            f"Could not read the file as {_DELIMITER_NAMES[delimiter]}-separated text: "
            f"{' '.join(str(exc).split()).rstrip('.')}. "
            "Check that every row has as many fields as the header and that quotes are closed."
        ) from None
    header = _header_names(list(raw.iloc[0]))
    _check_header(header)
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = header
    _check_size(frame, header)
    frame.attrs["delimiter"] = delimiter
    return frame


def _validate_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a user DataFrame with cleaned string column names and checked size."""
    if frame.shape[1] == 0:
        raise DataError("The table has no columns. Give a table with a header and data rows.")
    header = _header_names(list(frame.columns))
    _check_header(header)
    out = frame.reset_index(drop=True).copy()
    out.columns = header
    _check_size(out, header)
    out.attrs = {"delimiter": frame.attrs.get("delimiter"), "encoding": frame.attrs.get("encoding")}
    return out


def read_table(source: Source) -> pd.DataFrame:
    """Read a CSV (path, bytes, file-like) or copy a DataFrame into a frame with a clean header.

    Delimiter (comma, semicolon, tab) and encoding (UTF-8 with or without BOM, Latin-1) are
    detected. Cells of a CSV are kept as text (missing cells are NaN) so that numeric conversion
    can name offending rows. ``frame.attrs`` records ``delimiter`` and ``encoding``.
    """
    if isinstance(source, pd.DataFrame):
        return _validate_frame(source)
    raw = _read_bytes(source)
    text, encoding = (raw, "text") if isinstance(raw, str) else _decode(raw)
    frame = _parse_text(text)
    frame.attrs["encoding"] = encoding
    return frame


# --------------------------------------------------------------------------------------------
# Numeric conversion (shared by guessing and loading)
# --------------------------------------------------------------------------------------------


_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")


@dataclass(frozen=True)
class _Numeric:
    values: np.ndarray  # float64, NaN where missing or not a number
    missing: np.ndarray  # bool: the cell was empty
    bad: np.ndarray  # bool: the cell held text that is not a number
    decimal_commas: int  # cells read with a decimal comma

    @property
    def usable(self) -> bool:
        """True when the column has at least one value and every value is a number."""
        return bool((~self.missing).any() and not self.bad.any())


def _to_numeric(frame: pd.DataFrame, name: str) -> _Numeric:
    """Convert one column to float64, marking empty cells and cells that are not numbers."""
    col = frame[name]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        values = np.array(col.to_numpy(dtype=float, na_value=np.nan))
        missing = np.isnan(values)
        return _Numeric(values, missing, np.zeros(len(col), dtype=bool), 0)
    missing = col.isna().to_numpy().copy()
    text = col.astype(object).where(~col.isna(), "").map(str).str.strip()
    missing |= (text == "").to_numpy()
    parsed = pd.to_numeric(text.where(~missing, None), errors="coerce")
    values = np.array(parsed, dtype=float)
    bad = np.isnan(values) & ~missing
    commas = 0
    if bad.any() and frame.attrs.get("delimiter") == ";":
        fixable = bad & text.str.match(_DECIMAL_COMMA).to_numpy()
        if fixable.any():
            values[fixable] = text[fixable].str.replace(",", ".").astype(float).to_numpy()
            bad &= ~fixable
            commas = int(fixable.sum())
    return _Numeric(values, missing, bad, commas)


# --------------------------------------------------------------------------------------------
# Guessing column roles
# --------------------------------------------------------------------------------------------

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


def _is_index_like(frame: pd.DataFrame, name: str, num: _Numeric) -> bool:
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


def _guess_group(frame: pd.DataFrame, numeric: dict[str, _Numeric]) -> str:
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
        f"named like a group (group, school, county, id, ...). Columns: {_available(names)}. "
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


def _guess_y(frame: pd.DataFrame, numeric: dict[str, _Numeric], used: set[str],
             group: str) -> str:
    """Outcome-named column, else a column that varies within groups, else the first left."""
    candidates = [
        n for n in numeric
        if n not in used and not _is_index_like(frame, n, numeric[n])
    ]
    if not candidates:
        raise DataError(
            f"Could not find a numeric outcome column besides {_available(sorted(used))}. "
            f"Columns: {_available(frame.columns)}. Choose the outcome (y) column in the "
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
    converted = {n: _to_numeric(frame, n) for n in frame.columns}
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
    return ColumnMap(
        group=group, y=y, kind=kind,
        se=se if kind == DataKind.SUMMARY else None,
        trials=trials if kind == DataKind.BINOMIAL else None,
        exposure=exposure if kind == DataKind.POISSON else None,
    )


# --------------------------------------------------------------------------------------------
# The grouped data
# --------------------------------------------------------------------------------------------


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

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kind", DataKind(self.kind))
        set_(self, "labels", tuple(str(label) for label in self.labels))
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
    def group_sizes(self) -> np.ndarray:
        """Rows per group, in label order."""
        return np.bincount(self.group_idx, minlength=self.n_groups)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 hex digest of kind, labels, covariate names and every array (for cache keys)."""
        h = hashlib.sha256()
        meta = {"kind": self.kind.value, "labels": list(self.labels),
                "covariates": list(self.covariate_names)}
        h.update(json.dumps(meta, ensure_ascii=False).encode("utf-8"))
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
        successes/trials (binomial) or events/exposure (poisson)."""
        n = self.group_sizes
        idx = self.group_idx
        out = {"group": list(self.labels), "n": n}
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == DataKind.SUMMARY:
                out["estimate"], out["se"] = self._per_group_first(self.y), self._per_group_first(self.se)
            elif self.kind == DataKind.GAUSSIAN:
                mean = np.bincount(idx, self.y, self.n_groups) / n
                sq = np.bincount(idx, (self.y - mean[idx]) ** 2, self.n_groups)
                sd = np.where(n >= 2, np.sqrt(sq / np.maximum(n - 1, 1)), np.nan)
                out["estimate"], out["se"] = mean, sd / np.sqrt(n)
            elif self.kind == DataKind.BINOMIAL:
                k = np.bincount(idx, self.y, self.n_groups)
                t = np.bincount(idx, self.trials, self.n_groups)
                p = k / t
                out.update(estimate=p, se=np.sqrt(p * (1 - p) / t), successes=k, trials=t)
            else:
                e = np.bincount(idx, self.y, self.n_groups)
                x = np.bincount(idx, self.exposure, self.n_groups)
                out.update(estimate=e / x, se=np.sqrt(e) / x, events=e, exposure=x)
        return pd.DataFrame(out)

    def _per_group_first(self, values: np.ndarray) -> np.ndarray:
        """The value of each group's first row."""
        out = np.full(self.n_groups, np.nan)
        out[self.group_idx[::-1]] = values[::-1]
        return out


def require_groups(data: GroupedData, minimum: int = 2, purpose: str = "partial pooling") -> None:
    """Raise DataError when the data have fewer than ``minimum`` groups."""
    if data.n_groups >= minimum:
        return
    found = ", ".join(repr(label) for label in data.labels) or "none"
    raise DataError(
        f"Column {data.columns.group!r} has {_plural(data.n_groups, 'group')} ({found}); "
        f"{purpose} needs at least {minimum}. Choose the column that identifies the groups, "
        "or add data for more groups."
    )


# --------------------------------------------------------------------------------------------
# Loading: mapping checks, labels, numeric roles, kind rules
# --------------------------------------------------------------------------------------------


def _check_mapping(frame: pd.DataFrame, columns: ColumnMap) -> None:
    """Refuse unknown columns, a column in two roles, and roles the kind does not use or needs."""
    roles = columns.roles()
    for role, name in list(roles.items()) + [("covariate", c) for c in columns.covariates]:
        if name not in frame.columns:
            raise DataError(
                f"Column {name!r} (the {role} column) is not in the table. "
                f"Available columns: {_available(frame.columns)}."
            )
    every = list(roles.values()) + list(columns.covariates)
    for name in every:
        if every.count(name) > 1:
            raise DataError(
                f"Column {name!r} is used for more than one role. Give each role its own column."
            )
    kind = columns.kind
    if kind == DataKind.SUMMARY and columns.se is None:
        raise DataError(
            f"Summary data need a standard-error column (se) next to {columns.y!r}. "
            "Choose the se column, or use kind 'gaussian' for one row per observation."
        )
    misplaced = {"se": DataKind.SUMMARY, "trials": DataKind.BINOMIAL, "exposure": DataKind.POISSON}
    for role, owner in misplaced.items():
        if role in roles and kind != owner:
            raise DataError(
                f"Column {roles[role]!r} is set as {role}, which only {owner.value} data use; "
                f"the data kind is {kind.value}. Clear the {role} column or change the kind."
            )


def _clean_labels(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, int]:
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
    text = _clean_text(text)
    return text or None


class _Rows:
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
                f"Dropped {_plural(len(rows), 'row')} {why}: {_rows_text(rows, count=False)}."
            )
            self.keep &= ~mask

    def refuse(self, mask: np.ndarray, message: str) -> None:
        """Raise DataError when any kept row is in mask; '{rows}' in message lists them."""
        mask = mask & self.keep
        if mask.any():
            raise DataError(message.format(rows=_rows_text(self.numbers[mask])))


def _numeric_roles(frame: pd.DataFrame, columns: ColumnMap, rows: _Rows) -> dict[str, _Numeric]:
    """Convert every numeric role column, refusing cells that are not numbers."""
    names = [c for role, c in columns.roles().items() if role != "group"] + list(columns.covariates)
    converted = {}
    for name in names:
        num = _to_numeric(frame, name)
        example = frame[name].to_numpy()[num.bad & rows.keep][:1]
        rows.refuse(num.bad, f"Column {name!r} must hold numbers but has text in {{rows}} "
                             f"(first: {str(example[0]) if len(example) else ''!r}). "
                             "Fix or remove those cells (use a '.' as decimal point).")
        if num.decimal_commas:
            rows.report.append(f"Read {_plural(num.decimal_commas, 'value')} in {name!r} "
                               "with a decimal comma.")
        converted[name] = num
    return converted


def _handle_missing(labels: np.ndarray, numeric: dict[str, _Numeric], columns: ColumnMap,
                    rows: _Rows) -> None:
    """Summary data: refuse any missing cell. Observation data: drop such rows with a report."""
    summary = columns.kind == DataKind.SUMMARY
    missing_label = np.array([label is None for label in labels], dtype=bool)
    if summary:
        rows.refuse(missing_label, f"Group label missing in column {columns.group!r} in {{rows}}. "
                    "Summary data have one row per group; fill in the label or delete the row.")
    else:
        rows.drop(missing_label, f"with a missing group label in {columns.group!r}")
    for name, num in numeric.items():
        if summary:
            rows.refuse(num.missing, f"Column {name!r} has missing values in {{rows}}. Summary "
                        "data cannot drop a group without changing the analysis; fill in the "
                        "values or delete those groups yourself.")
        else:
            rows.drop(num.missing, f"with a missing value in {name!r}")


def _check_labels(labels: np.ndarray, columns: ColumnMap, rows: _Rows) -> None:
    """Refuse labels longer than MAX_LABEL_CHARS and duplicated groups in summary data."""
    lengths = np.array([len(label) if label is not None else 0 for label in labels])
    rows.refuse(lengths > MAX_LABEL_CHARS,
                f"Group labels in column {columns.group!r} are longer than {MAX_LABEL_CHARS} "
                "characters in {rows}. Use shorter labels (a name or a code).")
    if columns.kind == DataKind.SUMMARY:
        kept = pd.Series(labels[rows.keep])
        dup = kept.duplicated(keep=False).to_numpy()
        if dup.any():
            mask = np.zeros(len(labels), dtype=bool)
            mask[np.flatnonzero(rows.keep)[dup]] = True
            first = kept[dup].iloc[0]
            rows.refuse(mask, f"Group {first!r} appears more than once in column "
                        f"{columns.group!r} in {{rows}}. Summary data have one row per group; "
                        "combine the rows or use kind 'gaussian' for observation rows.")


def _check_finite(numeric: dict[str, _Numeric], rows: _Rows) -> None:
    """Refuse infinite values."""
    for name, num in numeric.items():
        rows.refuse(np.isinf(num.values), f"Column {name!r} has infinite values in {{rows}}. "
                    "Replace them with finite numbers or remove the rows.")


def _check_counts(name: str, values: np.ndarray, rows: _Rows, what: str) -> None:
    """Refuse negative or fractional counts."""
    rows.refuse(values < 0, f"Column {name!r} holds {what}, which cannot be negative, "
                "but has negative values in {rows}. Fix or remove those rows.")
    rows.refuse(np.abs(values - np.round(values)) > 1e-9,
                f"Column {name!r} holds {what}, which must be whole numbers, but has fractions in "
                "{rows}. Fix those values, or use kind 'gaussian' for a continuous outcome.")


def _check_kind(numeric: dict[str, _Numeric], columns: ColumnMap, rows: _Rows) -> None:
    """The rules of each data kind on the kept rows."""
    y = numeric[columns.y].values
    if columns.kind == DataKind.SUMMARY:
        se = numeric[columns.se].values
        rows.refuse(~(se > 0), f"Standard errors in column {columns.se!r} must be above 0, "
                    "but are 0 or negative in {rows}. Fix them or remove those groups.")
    elif columns.kind == DataKind.BINOMIAL:
        _check_counts(columns.y, y, rows, "success counts")
        if columns.trials is None:
            rows.refuse(~np.isin(y, (0.0, 1.0)), f"Column {columns.y!r} is a 0/1 outcome (no "
                        "trials column), but has other values in {rows}. Choose the trials column "
                        "for counts of successes.")
            return
        trials = numeric[columns.trials].values
        _check_counts(columns.trials, trials, rows, "numbers of trials")
        rows.refuse(trials < 1, f"Column {columns.trials!r} must be at least 1 trial, but "
                    "is 0 in {rows}. Remove rows without trials.")
        rows.refuse(y > trials, f"Successes in {columns.y!r} exceed trials in "
                    f"{columns.trials!r} in {{rows}}. Check that the two columns are not swapped.")
    elif columns.kind == DataKind.POISSON:
        _check_counts(columns.y, y, rows, "event counts")
        if columns.exposure is not None:
            exposure = numeric[columns.exposure].values
            rows.refuse(~(exposure > 0), f"Exposure in column {columns.exposure!r} must be above "
                        "0, but is 0 or negative in {rows}. Fix them or remove those rows.")


def _covariate_matrix(numeric: dict[str, _Numeric], columns: ColumnMap,
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


def _group_index(labels: np.ndarray, group: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels in first-seen order and each row's index into them; refuse too many groups."""
    codes, uniques = pd.factorize(pd.Series(labels, dtype=object), sort=False)
    if len(uniques) > MAX_GROUPS:
        raise DataError(
            f"Column {group!r} has {len(uniques):,} different groups; the limit is "
            f"{MAX_GROUPS:,}. Check that it is the group column and not an id per row."
        )
    return tuple(str(u) for u in uniques), codes.astype(np.int32)


def _drop_empty_rows(frame: pd.DataFrame, rows: _Rows) -> None:
    """Drop rows where every cell is empty."""
    rows.drop(frame.isna().all(axis=1).to_numpy(), "left completely empty")


def load_data(source: Source, columns: ColumnMap | None = None) -> GroupedData:
    """Read and validate a table into :class:`GroupedData`; guess the columns when None.

    One group is allowed here; model code calls :func:`require_groups` for its own minimum.
    """
    frame = read_table(source)
    columns = guess_columns(frame) if columns is None else columns
    if not isinstance(columns, ColumnMap):
        raise DataError("columns must be a ColumnMap (or None to guess the column roles).")
    _check_mapping(frame, columns)
    rows = _Rows(len(frame))
    if frame.attrs.get("encoding") in ("latin-1", "utf-16"):
        rows.report.append(f"Read the file as {frame.attrs['encoding']} text.")
    _drop_empty_rows(frame, rows)
    labels, changed = _clean_labels(frame, columns.group)
    numeric = _numeric_roles(frame, columns, rows)
    _handle_missing(labels, numeric, columns, rows)
    _check_labels(labels, columns, rows)
    _check_finite(numeric, rows)
    _check_kind(numeric, columns, rows)
    keep = rows.keep
    if not keep.any():
        raise DataError("No rows are left after dropping rows with missing values. "
                        + " ".join(rows.report))
    if changed:
        rows.report.append(f"Removed surrounding spaces or control characters from "
                           f"{_plural(changed, 'group label')} in {columns.group!r}.")
    label_tuple, group_idx = _group_index(labels[keep], columns.group)
    n = int(keep.sum())

    kind = columns.kind
    counts = {columns.y, columns.trials} if kind in (DataKind.BINOMIAL, DataKind.POISSON) else set()

    def role(name: str | None, default: float | None = None) -> np.ndarray | None:
        if name is None:
            return None if default is None else np.full(n, default)
        values = numeric[name].values[keep]
        return np.round(values) if name in counts else values

    return GroupedData(
        kind=kind,
        columns=columns,
        labels=label_tuple,
        group_idx=group_idx,
        y=role(columns.y),
        se=role(columns.se) if kind == DataKind.SUMMARY else None,
        trials=role(columns.trials, 1.0) if kind == DataKind.BINOMIAL else None,
        exposure=role(columns.exposure, 1.0) if kind == DataKind.POISSON else None,
        X=_covariate_matrix(numeric, columns, keep),
        covariate_names=columns.covariates,
        report=tuple(rows.report),
    )

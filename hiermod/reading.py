"""Source -> DataFrame: the table as text cells under a clean, checked header.

:func:`read_table` takes a path, bytes, a file-like object (bytes or text) or a DataFrame; it refuses more
than ``MAX_BYTES``, detects the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else
Latin-1) and the delimiter (comma, semicolon, tab), refuses binary files, a missing or duplicated
header, too many columns and too many rows. :func:`to_numeric` reads one column's text cells as
numbers (a decimal comma in semicolon-separated files), marking empty cells and text so that
validation can name the offending rows.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from hiermod import limits
from hiermod.errors import DataError
from hiermod.lazy_pandas import LazyPandas

pd = LazyPandas(globals())

Source = Union[str, Path, bytes, bytearray, "pd.DataFrame", IO]

_DELIMITERS = ",;\t"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def columns_text(columns: Any) -> str:
    """The table's column names, quoted, for messages."""
    names = [repr(str(c)) for c in columns]
    if len(names) > 30:
        names = names[:30] + [f"... ({len(columns)} columns)"]
    return ", ".join(names)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _read_bytes(source: Source) -> bytes | str:
    """The raw content of a path, bytes or file-like source, refusing more than limits.MAX_BYTES."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        shown = str(path) if len(str(path)) <= 120 else str(path)[:117] + "..."
        try:
            if not path.is_file():
                raise DataError(f"File not found: {shown!r}. Check the path, or upload the file.")
            if path.stat().st_size > limits.MAX_BYTES:
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
        raw = source.read(limits.MAX_BYTES + 1)
    else:
        raise DataError(
            f"Cannot read data from a {type(source).__name__}; give a file path, bytes, "
            "an open file or a pandas DataFrame."
        )
    if len(raw) > limits.MAX_BYTES:
        raise DataError(_too_big_message(len(raw)))
    return raw


def _too_big_message(size: int) -> str:
    """The message for a file over limits.MAX_BYTES."""
    return (
        f"The file is {size / 1024**2:.1f} MB; the limit is {limits.MAX_BYTES // 1024**2} MB. "
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


def clean_text(value: str) -> str:
    """NFC text without control/format characters and surrounding whitespace."""
    value = unicodedata.normalize("NFC", value)
    value = "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cf"))
    return value.strip()


def _header_names(cells: list[Any]) -> list[str]:
    """Cleaned column names; an empty header cell becomes 'column_<i>'."""
    names = []
    for i, cell in enumerate(cells, start=1):
        name = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
        name = clean_text(name)
        names.append(name or f"column_{i}")
    return names


def _check_header(names: list[str]) -> None:
    """Refuse duplicated names, too many columns, or a first row that is data, not names."""
    if len(names) > limits.MAX_COLUMNS:
        raise DataError(
            f"The table has {len(names)} columns; the limit is {limits.MAX_COLUMNS}. "
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
    """Refuse a table without data rows or with more than limits.MAX_ROWS rows."""
    if len(frame) == 0:
        raise DataError(
            f"The table has a header ({columns_text(header)}) but no data rows. "
            "Add one row per group or per observation."
        )
    if len(frame) > limits.MAX_ROWS:
        raise DataError(
            f"The table has more than {limits.MAX_ROWS:,} data rows (the limit). "
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
            skip_blank_lines=False, nrows=limits.MAX_ROWS + 2, engine="c",
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
# Numeric cells (shared by guessing and validation)
# --------------------------------------------------------------------------------------------


_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")


@dataclass(frozen=True)
class NumericColumn:
    """One column read as numbers."""

    values: np.ndarray  # float64, NaN where missing or not a number
    missing: np.ndarray  # bool: the cell was empty
    bad: np.ndarray  # bool: the cell held text that is not a number
    decimal_commas: int  # cells read with a decimal comma

    @property
    def usable(self) -> bool:
        """True when the column has at least one value and every value is a number."""
        return bool((~self.missing).any() and not self.bad.any())


def to_numeric(frame: pd.DataFrame, name: str) -> NumericColumn:
    """Convert one column to float64, marking empty cells and cells that are not numbers."""
    col = frame[name]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        values = np.array(col.to_numpy(dtype=float, na_value=np.nan))
        missing = np.isnan(values)
        return NumericColumn(values, missing, np.zeros(len(col), dtype=bool), 0)
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
    return NumericColumn(values, missing, bad, commas)

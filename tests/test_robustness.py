"""Robustness: malformed and hostile CSVs, degenerate but legal data, documented limits, and
hostile labels in exports and figures.

Every input either loads into valid GroupedData or raises DataError with a message a user can act
on. The number of inputs tried and the errors by kind are printed (`pytest -s`) and written to
test-artifacts/robustness.json (the README's "Limits and safety" section quotes them).
"""

from __future__ import annotations

import collections
import json
import math
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hiermod import data as hd
from hiermod.data import ColumnMap, DataKind, GroupedData, load_data
from hiermod.errors import DataError, HiermodError

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
ARTIFACT = REPO / "test-artifacts" / "robustness.json"

# ---------------------------------------------------------------------------------- tallies

TALLY: collections.Counter = collections.Counter()  # "loaded", "DataError"
KINDS: collections.Counter = collections.Counter()  # DataError kinds
CLI: collections.Counter = collections.Counter()  # exit codes


_ERROR_KINDS = [  # (kind, pattern in the message); first match wins
    ("empty file", r"file is empty"),
    ("binary / not text", r"looks binary|not valid UTF-16"),
    ("unreadable CSV (ragged rows, quotes)", r"Could not read the file as"),
    ("no header", r"holds numbers, not column names"),
    ("duplicated column name", r"appears twice"),
    ("too many columns", r"columns; the limit is"),
    ("too many rows", r"data rows \(the limit\)"),
    ("too many groups", r"different groups; the limit"),
    ("header but no rows", r"no data rows"),
    ("unknown column", r"is not in the table"),
    ("column in two roles", r"more than one role"),
    ("role not used by the kind", r"which only .* data use|need a standard-error column"),
    ("no group column found", r"Could not tell which column holds the groups"),
    ("no outcome column found", r"Could not find a numeric outcome column"),
    ("text in a numeric column", r"must hold numbers"),
    ("missing values", r"missing values|missing in column|No rows are left"),
    ("label too long", r"longer than \d+ characters"),
    ("duplicate group (summary)", r"appears more than once"),
    ("infinite values", r"infinite values"),
    ("se <= 0", r"Standard errors .* must be above 0"),
    ("bad counts", r"cannot be negative|must be whole numbers|0/1 outcome|exceed trials|at least 1 trial"),
    ("exposure <= 0", r"Exposure .* must be above"),
    ("constant covariate", r"same value .* in every row"),
    ("file too big", r"MB; the limit is"),
    ("file not found / unreadable", r"File not found|Cannot read"),
]

NOISE = ("Traceback", "<class", "object at 0x", "dtype(", "Error(", "\n")
ACTIONABLE = re.compile(r"'[^']*'|\bfile\b|\btable\b|\bheader\b|\brows?\b|\bcolumns?\b|\bCSV\b", re.I)


def error_kind(message: str) -> str:
    for kind, pattern in _ERROR_KINDS:
        if re.search(pattern, message):
            return kind
    return "other"


def check_outcome(source, columns: ColumnMap | None = None) -> GroupedData | DataError:
    """load_data must return valid GroupedData or raise DataError with a usable message."""
    try:
        data = load_data(source, columns)
    except DataError as exc:
        message = str(exc)
        assert len(message) >= 20, message
        assert not any(n in message for n in NOISE), message
        assert ACTIONABLE.search(message), message
        TALLY["DataError"] += 1
        KINDS[error_kind(message)] += 1
        return exc
    # any other exception type propagates and fails the test
    assert_valid(data)
    TALLY["loaded"] += 1
    return data


def assert_valid(d: GroupedData) -> None:
    n = d.n_rows
    assert n >= 1 and d.n_groups >= 1 and d.n_groups <= hd.MAX_GROUPS and n <= hd.MAX_ROWS
    assert d.group_idx.shape == (n,) and d.group_idx.min() >= 0 and d.group_idx.max() < d.n_groups
    assert set(np.unique(d.group_idx)) == set(range(d.n_groups))  # no empty group
    assert all(isinstance(label, str) and 0 < len(label) <= hd.MAX_LABEL_CHARS for label in d.labels)
    assert len(set(d.labels)) == d.n_groups
    assert np.isfinite(d.y).all() and d.X.shape[0] == n and np.isfinite(d.X).all()
    if d.kind == DataKind.SUMMARY:
        assert (d.se > 0).all() and np.isfinite(d.se).all()
    if d.kind == DataKind.BINOMIAL:
        assert (d.trials >= 1).all() and (d.y >= 0).all() and (d.y <= d.trials).all()
        assert (d.y == np.round(d.y)).all()
    if d.kind == DataKind.POISSON:
        assert (d.exposure > 0).all() and (d.y >= 0).all() and (d.y == np.round(d.y)).all()
    summary = d.group_summary()
    assert len(summary) == d.n_groups


@pytest.fixture(scope="module", autouse=True)
def robustness_report():
    yield
    total = sum(TALLY.values())
    if not total:
        return
    report = {
        "inputs": total,
        "loaded": TALLY["loaded"],
        "data_errors": TALLY["DataError"],
        "other_exceptions": 0,
        "errors_by_kind": dict(KINDS.most_common()),
        "cli_runs": dict(CLI),
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    kinds = ", ".join(f"{k}: {v}" for k, v in KINDS.most_common())
    print(f"\nrobustness: {total} inputs, {TALLY['loaded']} loaded, {TALLY['DataError']} DataError "
          f"(0 other exceptions); by kind: {kinds}; CLI exit codes {dict(CLI)}")


# ------------------------------------------------------------------------- explicit mappings

SUMMARY_MAP = ColumnMap("school", "effect", DataKind.SUMMARY, se="se")
GAUSS_MAP = ColumnMap("county", "log_radon", DataKind.GAUSSIAN)
BINOM_MAP = ColumnMap("hospital", "deaths", DataKind.BINOMIAL, trials="operations")
POIS_MAP = ColumnMap("site", "events", DataKind.POISSON, exposure="exposure")
EXPLICIT = [SUMMARY_MAP, GAUSS_MAP, BINOM_MAP, POIS_MAP,
            ColumnMap("school", "effect", DataKind.GAUSSIAN, covariates=("se",))]


def maps_for_header(raw: bytes) -> list[ColumnMap]:
    """Explicit maps built from the file's own header (when it can be read), plus fixed ones."""
    maps: list[ColumnMap] = list(EXPLICIT)
    try:
        names = list(hd.read_table(raw).columns)
    except DataError:
        return maps
    if len(names) >= 2:
        maps.append(ColumnMap(names[0], names[1], DataKind.GAUSSIAN))
        maps.append(ColumnMap(names[0], names[1], DataKind.BINOMIAL))
        maps.append(ColumnMap(names[0], names[1], DataKind.POISSON))
    if len(names) >= 3:
        maps.append(ColumnMap(names[0], names[1], DataKind.SUMMARY, se=names[2]))
        maps.append(ColumnMap(names[0], names[1], DataKind.BINOMIAL, trials=names[2]))
        maps.append(ColumnMap(names[0], names[1], DataKind.POISSON, exposure=names[2]))
        maps.append(ColumnMap(names[0], names[2], DataKind.GAUSSIAN, covariates=(names[1],)))
    return maps


# --------------------------------------------------------------------- hand-written corpus

CORPUS_FILES = sorted(CORPUS.glob("*.csv"))


def test_corpus_is_there():
    assert len(CORPUS_FILES) >= 30, CORPUS_FILES
    assert sum(p.stat().st_size for p in CORPUS_FILES) < 200_000  # small files only


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_corpus_file_loads_or_raises_data_error(path):
    raw = path.read_bytes()
    for source in (path, str(path), raw):
        check_outcome(source)
    for columns in maps_for_header(raw):
        check_outcome(raw, columns)


EXPECTED = {  # corpus file -> (guessed-columns outcome, substring of the message or None)
    "empty": "file is empty",
    "only_whitespace": "file is empty",
    "header_only": "no data rows",
    "no_header": "no header",
    "binary_junk": "not CSV text",
    "zip_magic": "not CSV text",
    "nul_bytes": "not CSV text",
    "utf16_truncated": "UTF-16",
    "ragged_rows": "as many fields as the header",
    "unclosed_quote": "quotes are closed",
    "duplicated_headers": "'effect' appears twice",
    "very_long_label": "longer than 200 characters",
    "many_columns": "501 columns; the limit is 500",
    "negative_se": "'se' must be above 0",
    "text_in_numbers": "'effect' must hold numbers",
    "duplicate_groups_summary": "'A' appears more than once",
    "successes_over_trials": "exceed trials",
    "fractional_counts": "whole numbers",
    "zero_exposure": "must be above 0",
    "overflow_to_inf": "infinite values",
    "enormous_numbers": None,
    "tiny_numbers": None,
    "semicolon_decimal_comma": None,
    "tab_separated": None,
    "utf8_bom": None,
    "utf16_bom": None,
    "latin1_labels": None,
    "mixed_encodings": None,
    "empty_lines": None,
    "crlf_and_cr": None,
    "quoted_newlines": None,
    "one_group": None,
    "all_missing_column": None,
    "formula_labels": None,
    "html_labels": None,
    "control_chars": None,
}


@pytest.mark.parametrize("stem, expected", sorted(EXPECTED.items()))
def test_corpus_expected_outcomes(stem, expected):
    path = CORPUS / f"{stem}.csv"
    columns = {"fractional_counts": BINOM_MAP, "successes_over_trials": BINOM_MAP,
               "text_in_numbers": SUMMARY_MAP, "zero_exposure": POIS_MAP}.get(stem)
    if expected is None:
        data = load_data(path, columns)
        assert_valid(data)
    else:
        with pytest.raises(DataError) as info:
            load_data(path, columns)
        assert expected in str(info.value), str(info.value)


def test_corpus_details():
    latin = load_data(CORPUS / "latin1_labels.csv")
    assert latin.labels == ("Zürich", "Málaga", "Nîmes") and any("latin-1" in r for r in latin.report)
    assert load_data(CORPUS / "semicolon_decimal_comma.csv").y.tolist() == [28.5, 8.1, -3.0]
    assert load_data(CORPUS / "quoted_newlines.csv").labels[1] == 'Beta, the "second"'
    assert load_data(CORPUS / "empty_lines.csv").n_groups == 3
    assert load_data(CORPUS / "crlf_and_cr.csv").n_groups == 3
    assert load_data(CORPUS / "one_group.csv").n_groups == 1
    with pytest.raises(DataError, match="at least 2"):
        hd.require_groups(load_data(CORPUS / "one_group.csv"))
    ctrl = load_data(CORPUS / "control_chars.csv")
    assert all(not any(ord(c) < 32 for c in label) for label in ctrl.labels)
    assert load_data(CORPUS / "html_labels.csv").labels[0] == "<script>alert(1)</script>"
    assert load_data(CORPUS / "formula_labels.csv").labels[0] == '=HYPERLINK("http://x")'


def test_one_million_identical_rows(tmp_path):
    """The row limit exactly: 1,000,000 identical rows load; one more row is refused quickly."""
    path = tmp_path / "million.csv"
    body = b"county,log_radon\n" + b"A,1.5\n" * hd.MAX_ROWS
    path.write_bytes(body)
    data = check_outcome(path)
    assert isinstance(data, GroupedData) and data.n_rows == hd.MAX_ROWS and data.n_groups == 1
    path.write_bytes(body + b"B,2\n")
    err = check_outcome(path)
    assert isinstance(err, DataError) and "1,000,000" in str(err)


# ------------------------------------------------------------------ generated (hypothesis)

CELLS = ["1", "0", "-1", "28", "3.5", "1e308", "-1e308", "1e-320", "5e-324", "1e999", "nan", "NA",
         "inf", "-inf", "", " ", "abc", "1,5", "0x10", "True", "99999999999999999999999",
         "<script>alert(1)</script>", '=HYPERLINK("http://x")', "+cmd", "@SUM(A1)", "é", "名前",
         '"q,uoted"', '"multi\nline"', '"unclosed', "\x00", "\x07", "\ufeff", "L" * 250]
HEADERS = ["school", "effect", "se", "group", "y", "county", "log_radon", "hospital", "deaths",
           "operations", "site", "events", "exposure", "n", "trials", "", "x", "<b>b</b>", "=y",
           "school", "effect", "1", "名"]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]


@st.composite
def csv_bytes(draw) -> bytes:
    sep = draw(st.sampled_from([",", ";", "\t", "|", " ", ",,"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    ncol = draw(st.integers(0, 6))
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=ncol, max_size=ncol))
    ragged = draw(st.booleans())
    nrows = draw(st.integers(0, 12))
    lines = [sep.join(header)]
    for _ in range(nrows):
        width = draw(st.integers(0, ncol + 2)) if ragged else ncol
        lines.append(sep.join(draw(st.lists(st.sampled_from(CELLS), min_size=width, max_size=width))))
    if draw(st.booleans()):  # blank and whitespace-only lines
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(["", "   ", "\t"])))
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    raw = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    mangle = draw(st.sampled_from(["none", "none", "nul", "junk", "truncate", "mix", "bom"]))
    if mangle == "nul":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\x00" + raw[at:]
    elif mangle == "junk":
        raw += draw(st.binary(max_size=40))
    elif mangle == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mangle == "mix":
        raw += "Zürich,1,2\n".encode("latin-1") + "Málaga,1,2\n".encode("utf-8")
    elif mangle == "bom":
        raw = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + raw
    return raw


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=csv_bytes())
def test_generated_csv_loads_or_raises_data_error(raw):
    check_outcome(raw)
    for columns in maps_for_header(raw)[5:]:
        check_outcome(raw, columns)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_load_or_raise_data_error(raw):
    check_outcome(raw)
    check_outcome(raw, SUMMARY_MAP)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=200))
def test_arbitrary_text_loads_or_raises_data_error(text):
    check_outcome(text.encode("utf-8", errors="surrogatepass"))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [1e308, -1e308, 1e-320, 5e-324, 0.0, -0.0]), min_size=2, max_size=10),
       se=st.floats(allow_nan=True, allow_infinity=True))
def test_extreme_floats_summary(values, se):
    lines = ["school,effect,se"] + [f"S{i},{v!r},{se!r}" for i, v in enumerate(values)]
    out = check_outcome("\n".join(lines).encode(), SUMMARY_MAP)
    if isinstance(out, GroupedData):
        assert all(math.isfinite(v) for v in values) and se > 0 and math.isfinite(se)


def test_odd_sources_raise_data_error():
    for source in ("a" * 5000, "no/such/file.csv", "a\x00b", REPO, 3, None, object()):
        assert isinstance(check_outcome(source), DataError)


# ---------------------------------------------------------------------------------- the CLI

CLI_SAMPLE = [
    "empty", "only_whitespace", "header_only", "no_header", "binary_junk", "nul_bytes",
    "utf16_truncated", "ragged_rows", "unclosed_quote", "duplicated_headers", "very_long_label",
    "many_columns", "negative_se", "text_in_numbers", "enormous_numbers", "tiny_numbers",
    "html_labels", "formula_labels", "mixed_encodings", "all_missing_outcome",
]


def _describe(stem: str) -> tuple[str, subprocess.CompletedProcess]:
    proc = subprocess.run([sys.executable, "-m", "hiermod", "describe", str(CORPUS / f"{stem}.csv")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    return stem, proc


def test_cli_describe_corpus_sample():
    """Exit 0 or 2, at most one stderr line (exactly one on failure), never a traceback."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_describe, CLI_SAMPLE))
    assert len(results) >= 20
    for stem, proc in results:
        CLI[str(proc.returncode)] += 1
        err = proc.stderr.strip()
        assert proc.returncode in (0, 2), (stem, proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout, stem
        if proc.returncode == 2:
            assert len(err.splitlines()) == 1 and err.startswith("hiermod: error: "), (stem, err)
        else:
            assert err == "", (stem, err)
            assert "rows," in proc.stdout and "groups" in proc.stdout
    codes = {stem: proc.returncode for stem, proc in results}
    assert codes["binary_junk"] == 2 and codes["html_labels"] == 0, codes

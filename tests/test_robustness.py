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


# ------------------------------------------------------------------ degenerate but legal data

def _csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


DEGENERATE = {  # name -> (csv bytes, likelihood)
    "binomial_all_zero": (_csv(["hospital,deaths,operations"] + [f"H{i},0,{10 + i}" for i in range(6)]),
                          "binomial"),
    "binomial_all_success": (_csv(["hospital,deaths,operations"]
                                  + [f"H{i},{10 + i},{10 + i}" for i in range(6)]), "binomial"),
    "poisson_all_zero": (_csv(["site,events,exposure"] + [f"S{i},0,{1 + i}" for i in range(6)]), "poisson"),
    "gaussian_identical_means": (_csv(["county,log_radon"] + [f"C{i},1.5" for i in range(6) for _ in range(4)]),
                                 "normal"),
    "gaussian_single_observation": (_csv(["county,log_radon"] + [f"C{i},{0.3 * i}" for i in range(8)]
                                         + ["C0,1.0", "C1,0.2"]), "normal"),
    "summary_se_1e-8": (_csv(["school,effect,se"] + [f"S{i},{i * 3 - 5},1e-8" for i in range(6)]),
                        "normal_known_se"),
    "summary_se_1e8": (_csv(["school,effect,se"] + [f"S{i},{i * 3 - 5},1e8" for i in range(6)]),
                       "normal_known_se"),
}
DEGENERATE_OUTCOMES: dict[str, str] = {}


def _fit_or_refuse(name: str, method: str):
    import hiermod
    from hiermod.diagnostics import diagnose, summary_table

    raw, likelihood = DEGENERATE[name]
    data = load_data(raw)
    spec = hiermod.ModelSpec(likelihood, pooling="partial")
    try:
        fit = hiermod.fit(data, spec, chains=2, warmup=200, draws=200, seed=1, method=method)
    except HiermodError as exc:  # refused: must say why
        assert len(str(exc)) > 20 and "Traceback" not in str(exc)
        DEGENERATE_OUTCOMES[f"{name}/{method}"] = f"refused: {exc}"
        return None, None
    table = summary_table(fit)
    assert np.isfinite(table[["mean", "sd", "hdi_low", "hdi_high"]].to_numpy()).all(), table
    diag = diagnose(fit)
    json.dumps(diag.to_dict(), allow_nan=False)  # JSON-able and finite
    problems = [v.topic for v in diag.verdicts if v.level != "ok"]
    DEGENERATE_OUTCOMES[f"{name}/{method}"] = (f"fit: tau {table.loc['tau', 'mean']:.3g}, "
                                                f"{diag.divergences} divergences, flagged {problems}")
    return fit, diag


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_data_fit_honestly_or_refuse(name):
    fit, diag = _fit_or_refuse(name, "nuts")
    print(f"\ndegenerate {name}: {DEGENERATE_OUTCOMES[f'{name}/nuts']}")
    if diag is None:
        return
    # honest verdicts: every divergence is reported as a problem, a bad R-hat is not called ok
    if diag.divergences > 0:
        assert any(v.topic == "divergences" and v.level == "problem" for v in diag.verdicts)
    if diag.max_r_hat > 1.01:
        assert any(v.topic == "r_hat" and v.level != "ok" for v in diag.verdicts)
    if name == "gaussian_identical_means":
        from hiermod.diagnostics import summary_table

        assert summary_table(fit).loc["tau", "mean"] < 0.2  # tau goes to ~0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["summary_se_1e-8", "summary_se_1e8"])
def test_degenerate_summary_exact(name):
    fit, diag = _fit_or_refuse(name, "exact")
    print(f"\ndegenerate {name} exact: {DEGENERATE_OUTCOMES[f'{name}/exact']}")
    if fit is not None:
        assert fit.method == "exact"
        assert any("exact" in v.message.lower() for v in diag.verdicts)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("raw, match", [
    (b"school,effect,se\nA,1e308,15\nB,-1e308,10\nC,3,16\n", "'effect'"),
    (b"school,effect,se\nA,1e-320,1e-320\nB,8,5e-324\nC,-3,16\n", "'se'"),
    (b"hospital,deaths,operations\nA,1,1e300\nB,2,10\n", "'operations'"),
])
@pytest.mark.parametrize("method", ["nuts", "exact"])
def test_out_of_range_values_refused_with_fit_error(raw, match, method):
    import hiermod
    from hiermod.errors import FitError
    from hiermod.spec import default_likelihood

    data = load_data(raw)
    if method == "exact" and data.kind != DataKind.SUMMARY:
        return
    spec = hiermod.ModelSpec(default_likelihood(data.kind), pooling="partial")
    with pytest.raises(FitError, match=match) as info:
        hiermod.fit(data, spec, chains=1, warmup=50, draws=50, method=method)
    assert "Rescale" in str(info.value)


# ------------------------------------------------------------------------ documented limits

def test_documented_limits():
    from hiermod.errors import SpecError
    from hiermod.settings import SamplerSettings

    assert (hd.MAX_BYTES, hd.MAX_ROWS, hd.MAX_GROUPS, hd.MAX_COLUMNS, hd.MAX_LABEL_CHARS) == (
        50 * 1024 * 1024, 1_000_000, 10_000, 500, 200)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for text in ("50 MB", "1,000,000 rows", "10,000 groups", "500 columns", "200 characters",
                 "1–8 chains", "50–20,000 warmup"):
        assert text in readme, text
    # upload size: bytes and file-like objects over the limit are refused before parsing
    big = b"g,y\n" + b"A,1\n" * (hd.MAX_BYTES // 4 + 1)
    for source in (big, __import__("io").BytesIO(big)):
        with pytest.raises(DataError, match="the limit is 50 MB"):
            load_data(source)
    # groups
    many = _csv(["group,y"] + [f"G{i},{i % 7}" for i in range(hd.MAX_GROUPS + 1)])
    with pytest.raises(DataError, match="10,001 different groups; the limit is 10,000"):
        load_data(many)
    assert load_data(_csv(["group,y"] + [f"G{i},{i % 7}" for i in range(hd.MAX_GROUPS)])).n_groups == 10_000
    # sampler settings
    for bad in (dict(chains=0), dict(chains=9), dict(warmup=49), dict(draws=20_001), dict(draws=2.5),
                dict(target_accept=1.0), dict(seed=-1)):
        with pytest.raises(SpecError) as info:
            SamplerSettings(**bad)
        assert list(bad)[0] in str(info.value)
    SamplerSettings(chains=8, warmup=50, draws=20_000)


def test_streamlit_upload_limit_matches_max_bytes_and_xsrf_on():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server = config["server"]
    assert server["maxUploadSize"] * 1024 * 1024 == hd.MAX_BYTES  # streamlit counts MB
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True


# -------------------------------------------------------------------------- hostile content

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
           '<a href="javascript:alert(1)">x</a>', "<b>bold</b><br>", '=HYPERLINK("http://x")',
           "+cmd", "-1+1", "@SUM(A1)"]
HOSTILE_RAW = ["<script", "<img", "<a href", "<b>", "<br>"]


@pytest.fixture(scope="module")
def hostile_fits():
    """A tiny NUTS fit and exact pooling fits of eight schools whose labels are hostile strings."""
    import hiermod

    effects = [28, 8, -3, 7, -1, 1, 18, 12]
    ses = [15, 10, 16, 11, 9, 11, 10, 18]
    frame = pd.DataFrame({"school": HOSTILE, "=effect": effects, "se": ses})
    data = load_data(frame, ColumnMap("school", "=effect", DataKind.SUMMARY, se="se"))
    assert data.labels == tuple(HOSTILE)
    spec = hiermod.ModelSpec("normal_known_se", pooling="partial")
    nuts = hiermod.fit(data, spec, chains=2, warmup=200, draws=200, seed=3)
    exact = {p: hiermod.fit(data, hiermod.ModelSpec("normal_known_se", pooling=p), method="exact")
             for p in ("none", "complete", "partial")}
    return data, nuts, exact


def test_summary_csv_neutralises_formulas(hostile_fits):
    import csv
    import io

    from hiermod.export import summary_csv

    _, nuts, _ = hostile_fits
    rows = list(csv.reader(io.StringIO(summary_csv(nuts))))
    cells = [c for row in rows for c in row]
    for row in rows:
        for cell in row:
            if cell and cell[0] in "=+-@\t\r":
                float(cell)  # only numbers (e.g. -3.2) may start with a formula character
    for label in HOSTILE:
        expected = "'" + label if label[0] in "=+-@" else label
        assert expected in cells, (label, cells[:40])


def test_netcdf_round_trip_keeps_labels_as_text(hostile_fits, tmp_path):
    import arviz as az

    from hiermod.export import write_netcdf

    _, nuts, exact = hostile_fits
    for fit in (nuts, exact["partial"]):
        path = write_netcdf(fit, tmp_path / f"{fit.method}.nc")
        back = az.from_netcdf(path)
        assert [str(g) for g in back.posterior["theta"].coords["group"].values] == HOSTILE


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


def _every_figure(data, nuts, exact):
    """Every builder of hiermod.plots, fed from the compute functions, with hostile labels."""
    from hiermod import compare, continuum, diagnostics, plots

    figs = {}
    shrink = compare.shrinkage_table(nuts)
    figs["shrinkage_plot"] = plots.shrinkage_plot(shrink)
    figs["shrinkage_vs_precision"] = plots.shrinkage_vs_precision(shrink)
    taus = np.linspace(0.01, 30, 40)
    figs["continuum_plot"] = plots.continuum_plot(continuum.pooling_continuum(data, nuts, taus))
    funnel = diagnostics.funnel_table(nuts)
    figs["funnel_plot"] = plots.funnel_plot(funnel, HOSTILE[1])
    figs["funnel_pair"] = plots.funnel_pair(funnel, funnel, HOSTILE[1])
    figs["trace_plot"] = plots.trace_plot(diagnostics.trace_table(nuts, "theta"))
    figs["rank_plot"] = plots.rank_plot(diagnostics.rank_table(nuts, "theta"))
    figs["energy_plot"] = plots.energy_plot(diagnostics.energy_table(nuts))
    figs["ppc_plot"] = plots.ppc_plot(compare.ppc_table(nuts))
    figs["forest_plot"] = plots.forest_plot(compare.forest_table(exact))
    figs["variance_plot"] = plots.variance_plot(compare.variance_decomposition(nuts))
    figs["new_group_plot"] = plots.new_group_plot(compare.predict_new_group(nuts))
    figs["posterior_vs_prior_plot"] = plots.posterior_vs_prior_plot(
        np.asarray(nuts.idata.posterior["tau"]).ravel(),
        pd.DataFrame({"x": np.linspace(0, 30, 50), "density": np.exp(-np.linspace(0, 30, 50) / 5) / 5}),
        name=HOSTILE[3], title=HOSTILE[2])
    x = np.linspace(0, 10, 50)
    figs["prior_density_plot"] = plots.prior_density_plot(pd.DataFrame({"x": x, "density": np.exp(-x)}),
                                                          HOSTILE[0], prior_label=HOSTILE[1])
    rng = np.random.default_rng(0)
    figs["prior_predictive_plot"] = plots.prior_predictive_plot(
        np.asarray(data.y), rng.normal(size=(50, data.n_groups)), labels=list(data.labels))
    holdout = pd.DataFrame({"group": HOSTILE, "observed": data.y, "holdout": data.y + 1,
                            "no_pooling": data.y, "partial_mean": data.y * 0.5,
                            "complete_pooling": np.full(8, 8.0)})
    figs["holdout_plot"] = plots.holdout_plot(holdout)
    figs.update(_slope_figures())
    return figs


def _slope_figures():
    """The varying-slopes figures from a tiny fit whose group labels and covariate are hostile."""
    import hiermod
    from hiermod import plots
    from hiermod.slope_shrinkage import slope_ellipse_table, slope_lines_table, slope_table

    rng = np.random.default_rng(4)
    rows = [(label, x, 1.0 + j + (0.5 + 0.1 * j) * x + rng.normal(0, 0.5))
            for j, label in enumerate(HOSTILE) for x in np.linspace(0, 4, 6)]
    frame = pd.DataFrame(rows, columns=["school", HOSTILE[0], "score"])
    data = load_data(frame, ColumnMap("school", "score", DataKind.GAUSSIAN, covariates=(HOSTILE[0],)))
    fit = hiermod.fit(data, hiermod.ModelSpec("normal", slopes=(HOSTILE[0],)), chains=1, warmup=100, draws=100)
    x = HOSTILE[0]
    points, lines = slope_lines_table(fit, x)
    return {"slope_shrinkage_plot": plots.slope_shrinkage_plot(slope_table(fit, x), slope_ellipse_table(fit, x), x=x),
            "slope_lines_plot": plots.slope_lines_plot(points, lines, list(HOSTILE[:4]), x=x, y="score")}


def test_every_figure_escapes_labels(hostile_fits):
    from hiermod import plots

    data, nuts, exact = hostile_fits
    try:
        figs = _every_figure(data, nuts, exact)
    except TypeError as exc:  # a builder's signature changed: make the failure obvious
        pytest.fail(f"figure builder call failed: {exc}")
    builders = set(plots.__all__) - {"safe_text", "apply_layout", "OKABE_ITO", "ROLE_COLORS",
                                     "PlotInputError"}
    assert builders <= set(figs), builders - set(figs)
    escaped_seen = set()
    for name, fig in figs.items():
        spec = fig.to_plotly_json()
        for text in _strings(spec):
            for raw in HOSTILE_RAW:
                # hiermod's own markup (<b>, <br>) is allowed, user markup never appears raw
                if raw in ("<b>", "<br>"):
                    assert "<b>bold</b><br>" not in text, (name, text)
                else:
                    assert raw not in text, (name, raw, text)
            for label in HOSTILE[:4]:
                if plots.safe_text(label) in text:
                    escaped_seen.add(name)
    assert {"shrinkage_plot", "funnel_plot", "forest_plot", "ppc_plot"} <= escaped_seen, escaped_seen

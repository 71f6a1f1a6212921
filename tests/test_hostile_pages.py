"""AppTest (no browser): bad and hostile uploads on the Data page, no uploaded bytes on disk, and no
dangerous calls (eval/exec/pickle/shell/raw HTML) anywhere in the app's code.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import state

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
CORPUS = Path(__file__).resolve().parent / "corpus"
TIMEOUT = 60

BAD = [  # corpus files the Data page must refuse, keeping the previous data
    "empty", "only_whitespace", "header_only", "no_header", "binary_junk", "zip_magic", "nul_bytes",
    "utf16_truncated", "ragged_rows", "unclosed_quote", "duplicated_headers", "very_long_label",
    "many_columns", "negative_se", "duplicate_groups_summary", "overflow_to_inf", "all_missing_outcome",
]
GOOD_HOSTILE = ["html_labels", "formula_labels", "html_headers", "control_chars"]


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def load_eight_schools(at: AppTest) -> None:
    at.radio(key="w_source").set_value("Sample data set").run()
    at.selectbox(key="w_sample").set_value("eight_schools").run()
    assert not at.exception, at.exception
    assert at.session_state[state.DATA].n_groups == 8


def upload(at: AppTest, name: str, raw: bytes) -> None:
    at.radio(key="w_source").set_value("Upload a CSV").run()
    at.get("file_uploader")[0].set_value((name, raw, "text/csv")).run()


def test_bad_uploads_show_an_error_and_keep_eight_schools():
    at = new_app()
    load_eight_schools(at)
    eight = at.session_state[state.DATA]
    tried = 0
    for stem in BAD:
        upload(at, f"{stem}.csv", (CORPUS / f"{stem}.csv").read_bytes())
        tried += 1
        assert not at.exception, (stem, at.exception)
        errors = [e.value for e in at.error]
        assert errors, stem
        assert all("Traceback" not in e and "<class" not in e for e in errors), (stem, errors)
        assert not any("Something went wrong" in e for e in errors), (stem, errors)  # a DataError
        assert at.session_state[state.DATA] is eight, stem
        assert "previous data are still in use" in " ".join(i.value for i in at.info), stem
    print(f"\nhostile pages: {tried} bad uploads refused, eight schools kept each time")


@pytest.mark.parametrize("stem", GOOD_HOSTILE)
def test_hostile_labels_load_as_literal_text(stem):
    at = new_app()
    load_eight_schools(at)
    upload(at, f"{stem}.csv", (CORPUS / f"{stem}.csv").read_bytes())
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    data = at.session_state[state.DATA]
    assert data.n_groups != 8 or data.labels[0] != "A"
    summary = at.dataframe[0].value
    assert list(summary["group"]) == list(data.labels)  # shown as data, exactly as typed
    # nothing rendered as markdown/HTML carries the raw payload
    for element in list(at.markdown) + list(at.caption) + list(at.info):
        assert "<script" not in str(element.value) and "<img" not in str(element.value)


def test_hostile_file_name_is_escaped():
    at = new_app()
    load_eight_schools(at)
    name = "<img src=x onerror=alert(1)>*bold*.csv"
    upload(at, name, (CORPUS / "negative_se.csv").read_bytes())
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error) + " ".join(i.value for i in at.info)
    assert "se" in shown
    # file names reach markdown only escaped (ui.components.md_escape)
    for element in list(at.markdown) + list(at.info):
        text = str(element.value)
        assert "<img src=x" not in text, text


def _files_containing(roots: list[Path], marker: bytes, since: float) -> list[Path]:
    hits = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".git", ".bench-venv", "node_modules")]
            for fn in filenames:
                path = Path(dirpath) / fn
                try:
                    st_ = path.stat()
                    if st_.st_mtime < since or st_.st_size > 20_000_000 or not path.is_file():
                        continue
                    if marker in path.read_bytes():
                        hits.append(path)
                except OSError:
                    continue
    return hits


def test_uploaded_bytes_are_not_written_to_disk():
    marker = f"MARKER{uuid.uuid4().hex}"
    raw = (f"school,effect,se\n{marker}A,28,15\n{marker}B,8,10\n{marker}C,-3,16\n").encode()
    t0 = time.time() - 1
    at = new_app()
    upload(at, "marker.csv", raw)
    assert not at.exception, at.exception
    assert at.session_state[state.DATA].labels[0] == f"{marker}A"  # it was really loaded
    for page in ("pages/2_Model.py", "pages/1_Data.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
    hits = _files_containing([REPO, Path("/tmp")], marker.encode(), t0)
    assert hits == [], hits


def test_page_code_reads_uploads_in_memory():
    source = (REPO / "pages" / "1_Data.py").read_text(encoding="utf-8")
    assert "upload.getvalue()" in source
    for path in [REPO / "app.py", *(REPO / "pages").glob("*.py"), *(REPO / "ui").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for sink in ("tempfile", "NamedTemporaryFile", ".write_bytes(", "open("):
            assert sink not in text, (path.name, sink)


DANGEROUS = re.compile(
    r"\beval\(|\bexec\(|\bpickle\b|\bsubprocess\b|\bos\.system\b|shell\s*=\s*True|"
    r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.v1|\bmarshal\b|yaml\.load\(|__import__\(")
ALLOWED = {
    # (file, stripped line): known-safe hits, each with its reason
    ("hiermod/reproduce.py",
     '''with __import__("pandas").option_context("display.width", 200, "display.max_columns", 20,'''):
        "inside the text of the generated reproduction script; imports pandas, no user value",
    ('hiermod/dask_executor.py',
     'import pickle'):
        "progress and results between the server and its own Dask cluster's tasks (a trusted channel; no uploaded bytes, only hiermod objects made from parsed data)",
    ('hiermod/dask_executor.py',
     'self._queue.put((self._job_id, topic, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)))'):
        "progress and results between the server and its own Dask cluster's tasks (a trusted channel; no uploaded bytes, only hiermod objects made from parsed data)",
    ('hiermod/dask_executor.py',
     'payload = pickle.loads(blob)'):
        "progress and results between the server and its own Dask cluster's tasks (a trusted channel; no uploaded bytes, only hiermod objects made from parsed data)",
    ('hiermod/result.py',
     'which do not pickle, so it travels as the hyperparameters it held fixed and is rebuilt on'):
        "the word in a docstring (how a Fit is pickled between hiermod's own processes)",
    ('hiermod/worker_pool.py',
     'import pickle'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
    ('hiermod/worker_pool.py',
     'pickle.loads(pickle.dumps(exc))'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
    ('hiermod/worker_pool.py',
     'message = pickle.loads(raw)'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
    ('hiermod/worker_pool.py',
     'except Exception as exc:  # noqa: BLE001 - e.g. a result that does not pickle'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
    ('hiermod/worker_pool.py',
     'return pickle.loads(raw)'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
    ('hiermod/worker_pool.py',
     'except (EOFError, OSError, pickle.UnpicklingError) as exc:'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
    ('hiermod/worker_pool.py',
     'conn.send_bytes(pickle.dumps(("stop",)))'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
    ('hiermod/worker_pool.py',
     'payload = pickle.dumps(("run", task, args, kwargs))'):
        'jobs and results between the server and its own spawned worker processes over a private pipe (no uploaded bytes, only hiermod objects made from parsed data)',
}


def test_no_user_value_reaches_eval_exec_pickle_shell_or_raw_html():
    files = [REPO / "app.py", *sorted((REPO / "hiermod").rglob("*.py")),
             *sorted((REPO / "ui").rglob("*.py")), *sorted((REPO / "pages").rglob("*.py"))]
    assert len(files) > 20
    hits = []
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if DANGEROUS.search(line) and (rel, line.strip()) not in ALLOWED:
                hits.append(f"{rel}:{i}: {line.strip()}")
    assert hits == [], "\n".join(hits)


def test_streamlit_keeps_xsrf_protection():
    import tomllib

    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["server"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is not False

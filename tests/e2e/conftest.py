"""Real-browser fixtures: the app served by `streamlit run`, driven by Playwright with Debian chromium.

Never run `playwright install`: the system chromium is used (see ../shared/BROWSER_TESTING.md).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 2400}


def _chromium() -> str:
    for path in CHROMIUM_CANDIDATES:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium")
    if found:
        return found
    pytest.fail("Chromium is not installed: run `apt-get install -y chromium` "
                f"(looked for {', '.join(CHROMIUM_CANDIDATES)}). Do not run `playwright install`.",
                pytrace=False)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": _chromium(), "headless": True,
            "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    """`streamlit run app.py` on a free port; yields its URL once it answers and has rendered."""
    port = _free_port()
    log_path = REPO / "test-artifacts" / f"streamlit-e2e-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false"),
               PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            t0 = time.time()
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited with code {proc.returncode}; see {log_path}")
                try:
                    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.time() - t0 > 60:
                    pytest.fail(f"streamlit did not become healthy in 60 s; see {log_path}")
                time.sleep(0.2)
            print(f"\n[e2e] streamlit healthy after {time.time() - t0:.1f} s")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture()
def app_page(page, app_url):
    """A fresh browser session on the app, waited until the Data page heading is shown."""
    t0 = time.time()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    page.get_by_role("heading", name="Data").first.wait_for(timeout=60_000)
    print(f"[e2e] Data page heading after {time.time() - t0:.1f} s")
    return page


@pytest.fixture()
def shot(request):
    """shot(page, "name") saves test-artifacts/screenshots/<test>-<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name.split('[')[0]}-{name}.png"
        page.wait_for_timeout(800)  # let canvases (st.dataframe) and plotly finish drawing
        page.screenshot(path=str(path))
        return path

    return take

"""Real-browser fixtures: the app served by `streamlit run`, driven by Playwright with Debian chromium.

Never run `playwright install`: the system chromium is used (see ../shared/BROWSER_TESTING.md).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from streamlit_server import start_streamlit, stop

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


@pytest.fixture(scope="session")
def app_url():
    """`streamlit run app.py` on a free port; yields its URL once it answers."""
    env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false"),
               PYTHONUNBUFFERED="1")
    log_path = REPO / "test-artifacts" / "streamlit-e2e.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        t0 = time.time()
        try:
            proc, url = start_streamlit(env, log)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        print(f"\n[e2e] streamlit healthy after {time.time() - t0:.1f} s")
        try:
            yield url
        finally:
            stop(proc)


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

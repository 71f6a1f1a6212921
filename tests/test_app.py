"""AppTest (no browser): every page renders, data/model state flows, a fit runs in the background.

AppTest does not wait for worker threads and fragments with run_every never fire on their own, so
the fit test polls the Job object and then runs the script again.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 60

BROKEN_CSV = b"school,effect,se\nA,28,15\nB,8,-10\nC,-3,16\nD,7,11\n"


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def load_sample(at: AppTest, name: str = "eight_schools") -> AppTest:
    at.selectbox(key="w_sample").set_value(name).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(t.value) for t in at.text)


@pytest.mark.parametrize("page", ["pages/1_Data.py", "pages/2_Model.py", "pages/3_Fit.py"])
def test_pages_render_without_data(page):
    at = new_app()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.title and at.title[0].value in {"Data", "Model", "Fit"}


def test_first_page_starts_the_warm_start(monkeypatch):
    """The Data page ends with st.stop() while no data is loaded; the background import and
    precompile must start anyway (it did not: app.py called it after page.run())."""
    import ui.cache

    calls = []
    monkeypatch.setattr(ui.cache, "warm_imports_in_background", lambda: calls.append(1))
    at = new_app()
    assert at.title[0].value == "Data" and at.session_state["hm_data"] is None
    assert calls == [1]


def test_first_page_imports_no_heavy_library():
    """The first page must be up within seconds: jax, numpyro, arviz, scipy.stats and pandas load
    later (scipy.stats alone took 0.9 s here when the default settings imported hiermod.fit; pandas
    0.3 s, imported by hiermod.data until it became lazy there)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, '.'); import ui.cache;"
        "ui.cache.warm_imports_in_background = lambda: None;"
        "from streamlit.testing.v1 import AppTest;"
        f"at = AppTest.from_file({APP!r}, default_timeout=60); at.run(); assert not at.exception;"
        "print(sorted(m for m in ('jax', 'numpyro', 'arviz', 'scipy.stats', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(APP).parent, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_pages_render_with_data():
    at = load_sample(new_app())
    for page in ("pages/2_Model.py", "pages/3_Fit.py", "pages/1_Data.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])


def test_choose_sample_dataset_puts_data_in_state():
    at = load_sample(new_app(), "eight_schools")
    data = at.session_state["hm_data"]
    assert data is not None and data.n_groups == 8 and data.kind.value == "summary"
    assert at.session_state["hm_spec"].likelihood.value == "normal_known_se"
    assert "8 groups" in texts(at)
    frames = at.dataframe
    assert len(frames) >= 2  # per-group summary and table preview
    summary = frames[0].value
    assert list(summary["group"]) == list(data.labels)


def test_broken_upload_shows_error_and_keeps_previous_data():
    at = load_sample(new_app(), "eight_schools")
    before = at.session_state["hm_data"]
    at.radio(key="w_source").set_value("Upload a CSV").run()
    at.get("file_uploader")[0].set_value(("broken.csv", BROKEN_CSV, "text/csv")).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert errors and "'se'" in errors[0] and "row 2" in errors[0], errors
    assert at.session_state["hm_data"] is before
    assert "previous data are still in use" in " ".join(i.value for i in at.info)
    # the page still shows the previous data
    assert "8 groups" in texts(at)


def test_good_upload_then_remap_columns():
    at = new_app()
    at.radio(key="w_source").set_value("Upload a CSV").run()
    raw = (Path(__file__).resolve().parent.parent / "sample_data" / "eight_schools.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("schools.csv", raw, "text/csv")).run()
    assert not at.exception, at.exception
    data = at.session_state["hm_data"]
    assert data is not None and data.n_groups == 8
    # a bad mapping (se also used as y) is refused, the good data are kept
    y_box = [s for s in at.selectbox if s.label == "Outcome column (y)"][0]
    y_box.set_value("se")
    submit = [b for b in at.button if b.label == "Apply column roles"][0]
    submit.click().run()
    assert not at.exception, at.exception
    assert at.error, "expected an error for a column used twice"
    assert at.session_state["hm_data"] is data


def test_model_changes_update_spec_in_state():
    at = load_sample(new_app())
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 3  # mu, tau densities + prior predictive
    at.radio(key="w_pooling").set_value("complete").run()
    spec = at.session_state["hm_spec"]
    assert spec.pooling.value == "complete" and "tau" not in dict(spec.priors)
    at.radio(key="w_pooling").set_value("partial").run()
    at.selectbox(key="w_prior_family_tau").set_value("HalfCauchy")
    at.button(key="FormSubmitter:model_form-Apply").click().run()
    assert not at.exception, at.exception
    spec = at.session_state["hm_spec"]
    assert str(dict(spec.priors)["tau"]).startswith("HalfCauchy(")
    at.number_input(key="w_prior_tau_HalfCauchy_scale").set_value(5.0)
    at.button(key="FormSubmitter:model_form-Apply").click().run()
    assert str(at.session_state["hm_spec"].priors[1][1]) == "HalfCauchy(5)"
    # the spec survives a page change
    at.switch_page("pages/1_Data.py").run()
    at.switch_page("pages/2_Model.py").run()
    assert str(dict(at.session_state["hm_spec"].priors)["tau"]) == "HalfCauchy(5)"
    assert at.radio(key="w_pooling").value == "partial"


def test_invalid_prior_number_keeps_spec():
    at = load_sample(new_app())
    at.switch_page("pages/2_Model.py").run()
    before = at.session_state["hm_spec"]
    at.number_input(key="w_prior_tau_HalfNormal_scale").set_value(-1.0)
    at.button(key="FormSubmitter:model_form-Apply").click().run()
    assert not at.exception, at.exception
    assert any("tau" in e.value for e in at.error)
    assert at.session_state["hm_spec"] == before


def _tiny_settings(at: AppTest) -> None:
    at.switch_page("pages/2_Model.py").run()
    at.number_input(key="w_chains").set_value(1)
    at.number_input(key="w_warmup").set_value(100)
    at.number_input(key="w_draws").set_value(100)
    at.button(key="FormSubmitter:model_form-Apply").click().run()
    s = at.session_state["hm_settings"]
    assert (s.chains, s.warmup, s.draws) == (1, 100, 100)


def test_fit_runs_in_background_and_shows_results():
    at = load_sample(new_app())
    _tiny_settings(at)
    at.switch_page("pages/3_Fit.py").run()
    assert not at.exception, at.exception
    at.button(key="w_fit").click().run()
    assert not at.exception, at.exception
    job = at.session_state["hm_job"]
    assert job is not None
    assert job.wait(timeout=240), "fit did not finish"
    assert job.status == "done", job.error_message
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["hm_job"] is None
    fit = at.session_state["hm_fits"][at.session_state["hm_fit_key"]]
    assert fit.settings.draws == 100
    assert at.subheader and any(s.value == "Results" for s in at.subheader)
    labels = [m.label for m in at.metric]
    assert "Divergences" in labels
    table = at.dataframe[-1].value
    assert "mu" in table.index
    # same fit again: instant, from the cache, no job
    at.button(key="w_fit").click().run()
    assert at.session_state["hm_job"] is None
    assert "cache" in at.session_state["hm_fit_status"]["message"]
    # results are kept across pages
    at.switch_page("pages/1_Data.py").run()
    at.switch_page("pages/3_Fit.py").run()
    assert not at.exception and any(s.value == "Results" for s in at.subheader)


def test_cancel_a_fit():
    at = load_sample(new_app(), "radon")
    at.switch_page("pages/2_Model.py").run()
    at.number_input(key="w_chains").set_value(8)  # seconds of sampling: 2 chains now take ~1.5 s
    at.number_input(key="w_draws").set_value(20_000)
    at.number_input(key="w_seed").set_value(7)
    at.button(key="FormSubmitter:model_form-Apply").click().run()
    at.switch_page("pages/3_Fit.py").run()
    at.button(key="w_fit").click().run()
    job = at.session_state["hm_job"]
    deadline = time.time() + 120
    while job.status == "queued" and time.time() < deadline:
        time.sleep(0.2)
    at.run()
    at.button(key="w_cancel_fit").click().run()
    assert job.wait(timeout=30), "cancel did not stop the fit"
    assert job.status == "cancelled"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["hm_fit_status"]["status"] == "cancelled"
    assert any("cancelled" in w.value for w in at.warning)


def test_fit_page_offers_the_instant_method_without_warnings_where_it_serves():
    at = load_sample(new_app())
    _tiny_settings(at)
    at.switch_page("pages/3_Fit.py").run()
    at.radio(key="w_method").set_value("instant").run()
    assert not at.exception and not at.warning  # eight schools: served, no approximation warning
    assert not at.button(key="w_fit").disabled


def test_fit_page_offers_a_labelled_variational_approximation():
    at = load_sample(new_app())
    _tiny_settings(at)
    at.switch_page("pages/3_Fit.py").run()
    method = at.radio(key="w_method")
    assert method.value == "nuts"  # NUTS stays the default
    assert method.options[0] == "NUTS (MCMC)" and len(method.options) == 3
    assert method.options[1].startswith("Instant posterior")
    assert method.options[2].startswith("Variational approximation")
    assert method.options[2].endswith("fast, approximate")
    method.set_value("vi").run()
    assert any("variational approximation" in w.value for w in at.warning)  # said before fitting
    at.button(key="w_fit").click().run()
    job = at.session_state["hm_job"]  # None when the fit was already in the process-wide cache
    assert job is None or (job.wait(timeout=240) and job.status == "done"), job.error_message
    at.run()
    assert not at.exception, at.exception
    fit = at.session_state["hm_fits"][at.session_state["hm_fit_key"]]
    assert fit.method == "vi"
    warnings = " ".join(w.value for w in at.warning)
    assert "variational approximation (understates uncertainty, most for tau)" in warnings
    assert not any("exact" in s.value.lower() for s in at.success)
    # the method survives a page change, and the NUTS fit of the same model is a different fit
    at.switch_page("pages/4_Shrinkage.py").run()
    assert not any("other data, model or settings" in w.value for w in at.warning)
    at.switch_page("pages/3_Fit.py").run()
    assert at.radio(key="w_method").value == "vi"


def _preview_note_script(status: str) -> None:
    from types import SimpleNamespace

    import hiermod
    from hiermod.datasets import load_dataset
    from ui.components import _preview_note

    fit = hiermod.fit(load_dataset("eight_schools"), hiermod.ModelSpec("normal_known_se"), method="exact")
    _preview_note(SimpleNamespace(partial=fit, status=status))


@pytest.mark.parametrize("status, says", [("queued", "NUTS will check it when its turn comes."),
                                          ("running", "NUTS is still running to check it.")])
def test_preview_note_says_whether_nuts_is_waiting_or_running(status, says):
    """The note under a preview: a queued NUTS fit has not started, so it is not 'still running'."""
    at = AppTest.from_function(_preview_note_script, default_timeout=TIMEOUT, args=(status,))
    at.run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "The exact posterior is ready" in captions and says in captions

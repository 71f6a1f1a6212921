"""AppTest (no browser) of the Checks-and-comparison page (the Learn page: tests/test_learn_page.py).

Fits put into session state are exact eight-schools fits (instant). One test runs a real
background job: the pooling comparison (one mode left to fit, tiny settings). AppTest does not wait
for worker threads, so the test polls the Job object and then runs the script again.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hiermod.datasets import load_dataset
from hiermod.fitting import fit as run_fit

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120
CHECKS = "pages/6_Checks_and_comparison.py"
TINY = dict(chains=1, warmup=50, draws=100, seed=3)


def _default_spec(data):
    from ui.state import default_spec_for

    return default_spec_for(data)


@pytest.fixture(scope="module")
def schools():
    data = load_dataset("eight_schools")
    return data, _default_spec(data)


@pytest.fixture(scope="module")
def exact_fits(schools):
    """Exact no / complete / partial pooling fits of eight schools (tiny settings)."""
    data, spec = schools
    return {m: run_fit(data, spec.replace(pooling=m), method="exact", **TINY)
            for m in ("none", "complete", "partial")}


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def with_fit(at: AppTest, fit, name: str = "Eight schools") -> AppTest:
    key = (fit.data.fingerprint, fit.spec, fit.settings)
    at.session_state["hm_fits"] = OrderedDict({key: fit})
    at.session_state["hm_fit_key"] = key
    at.session_state["hm_data"] = fit.data
    at.session_state["hm_data_name"] = name
    at.session_state["hm_spec"] = fit.spec
    at.session_state["hm_settings"] = fit.settings
    return at


def charts(at: AppTest) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart_titles(at: AppTest) -> list[str]:
    out = []
    for spec in charts(at):
        title = spec.get("layout", {}).get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def page_text(at: AppTest) -> str:
    parts = [str(m.value) for m in at.markdown] + [str(m.value) for m in at.info]
    parts += [str(m.value) for m in at.caption] + [str(m.value) for m in at.success]
    parts += [str(m.value) for m in at.warning]
    return "\n".join(parts).replace("\\", "")


def test_checks_page_without_fit():
    at = new_app()
    at.switch_page(CHECKS).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert not at.get("plotly_chart")
    assert "There is no fit yet" in page_text(at)


def test_checks_page_with_partial_fit(exact_fits):
    at = with_fit(new_app(), exact_fits["partial"])
    at.switch_page(CHECKS).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    titles = chart_titles(at)
    assert any("Posterior predictive check" in t for t in titles), titles
    assert any("variation" in t.lower() for t in titles), titles
    assert any("new, unseen group" in t for t in titles), titles
    metric = [m for m in at.metric if "inside their 90% interval" in m.label][0]
    assert metric.value.endswith("of 8")
    text = page_text(at)
    assert "between-group share is" in text
    assert "A new group's effect is likely between" in text
    # the comparison has not run yet: only its button
    assert at.button(key="w_compare").label == "Compare pooling modes"
    assert not any("pooling, group by group" in t for t in titles)


def test_checks_page_shows_a_finished_comparison(exact_fits):
    from ui.comparison import compare_key

    partial = exact_fits["partial"]
    at = with_fit(new_app(), partial)
    key = compare_key(partial.data, partial.spec, partial.settings)
    at.session_state["hm_cmp_results"] = OrderedDict({key: dict(exact_fits)})
    at.switch_page(CHECKS).run()
    assert not at.exception, at.exception
    assert any("pooling, group by group" in t for t in chart_titles(at))
    loo = [d.value for d in at.dataframe if "elpd_loo" in getattr(d.value, "columns", [])]
    assert loo and set(loo[0].index) == {"no pooling", "complete pooling", "partial pooling"}
    text = page_text(at)
    assert "Best expected predictive accuracy" in text
    # eight schools has one estimate per school: Pareto k warnings are explained in plain words
    if (loo[0]["n_bad_pareto_k"] > 0).any():
        assert "leaving one point out would change the fit a lot" in text
    else:
        assert "LOO estimates are reliable" in text


def test_checks_page_no_pooling_explains_new_group(exact_fits):
    at = with_fit(new_app(), exact_fits["none"])
    at.switch_page(CHECKS).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = page_text(at)
    assert "No pooling cannot predict a new group" in text
    assert "no spread of group effects" in text
    assert any("Posterior predictive check" in t for t in chart_titles(at))


def test_compare_button_runs_one_background_job(exact_fits):
    """Two modes come from the process-wide fit cache; the job fits the third (tiny NUTS run)."""
    from hiermod.jobs import Job
    from ui import cache

    partial = exact_fits["partial"]
    data, settings = partial.data, partial.settings
    store = cache.fit_cache()
    for mode in ("none", "partial"):
        f = exact_fits[mode]
        store.put((data.fingerprint, f.spec, settings), f)
    at = with_fit(new_app(), partial)
    at.switch_page(CHECKS).run()
    at.button(key="w_compare").click().run()
    assert not at.exception, at.exception
    job = at.session_state["hm_cmp_job"]
    assert isinstance(job, Job)
    assert at.button(key="w_cancel_compare")  # progress + cancel while it runs
    assert at.button(key="w_compare").disabled
    assert job.wait(timeout=300), "the comparison did not finish"
    assert job.status == "done", job.error_message
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["hm_cmp_job"] is None
    assert any("pooling, group by group" in t for t in chart_titles(at))
    assert any("elpd_loo" in getattr(d.value, "columns", []) for d in at.dataframe)
    # the new complete-pooling fit is now in the process-wide cache under its own key
    assert store.get((data.fingerprint, partial.spec.replace(pooling="complete"), settings)) is not None

"""AppTest (no browser) of the results pages: Shrinkage, Funnel and diagnostics.

Small real fits of eight schools (2 chains x 300 + 300) are made once per module and put into
session state the way the Fit page does (``hm_fits`` + ``hm_fit_key``).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hiermod.datasets import load_dataset
from hiermod.settings import SamplerSettings
from hiermod.fitting import fit as run_fit
from hiermod.spec import Pooling

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120
SHRINK = "pages/4_Shrinkage.py"
FUNNEL = "pages/5_Funnel_and_diagnostics.py"
SETTINGS = SamplerSettings(chains=2, warmup=300, draws=300, seed=1)


def _default_spec(data):
    """The spec the Model page sets up for ``data`` (explicit data-scaled priors)."""
    from hiermod.priors import resolve_priors
    from hiermod.spec import ModelSpec, default_likelihood

    spec = ModelSpec(default_likelihood(data.kind), Pooling.PARTIAL)
    return ModelSpec(spec.likelihood, spec.pooling, spec.parameterization,
                     tuple(resolve_priors(data, spec).items()), spec.covariates)


def _fit(data, spec, method="nuts"):
    s = SETTINGS
    return run_fit(data, spec, chains=s.chains, warmup=s.warmup, draws=s.draws, seed=s.seed,
                   method=method)


@pytest.fixture(scope="module")
def schools():
    data = load_dataset("eight_schools")
    spec = _default_spec(data)
    return data, spec


@pytest.fixture(scope="module")
def nc_fit(schools):
    data, spec = schools
    return _fit(data, spec)


@pytest.fixture(scope="module")
def centered_fit(schools):
    data, spec = schools
    return _fit(data, spec.replace(parameterization="centered"))


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def with_fits(at: AppTest, *fits, current: bool = True) -> AppTest:
    """Put ``fits`` into the session (the first one is the current fit); when ``current``, make
    the session's data, model and settings those of the current fit."""
    store = OrderedDict()
    for f in reversed(fits):
        store[(f.data.fingerprint, f.spec, f.settings)] = f
    first = fits[0]
    key = (first.data.fingerprint, first.spec, first.settings)
    at.session_state["hm_fits"] = store
    at.session_state["hm_fit_key"] = key
    if current:
        at.session_state["hm_data"] = first.data
        at.session_state["hm_data_name"] = "Eight schools"
        at.session_state["hm_data_source"] = {"kind": "sample", "name": "eight_schools",
                                              "sig": "sample:eight_schools"}
        at.session_state["hm_spec"] = first.spec
        at.session_state["hm_settings"] = first.settings
    return at


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def downloads(at: AppTest) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


def all_text(at: AppTest) -> str:
    parts = [str(m.value) for m in at.markdown] + [str(c.value) for c in at.caption]
    parts += [str(x.value) for x in (*at.info, *at.warning, *at.error, *at.success)]
    return "\n".join(parts).replace("\\", "")  # markdown escapes removed


def assert_clean(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


# -------------------------------------------------------------------------------- no fit yet


@pytest.mark.parametrize("page", [SHRINK, FUNNEL])
def test_no_fit_says_so_and_links(page):
    at = new_app()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert "no fit yet" in " ".join(i.value for i in at.info)
    links = [p.proto.page for p in at.get("page_link")]
    assert {"Data", "Fit"} <= set(links), links
    assert not charts(at)


# ------------------------------------------------------------------------------- shrinkage


def test_shrinkage_page_with_fit(nc_fit):
    at = with_fits(new_app(), nc_fit)
    at.switch_page(SHRINK).run()
    assert_clean(at)
    assert at.title[0].value == "Shrinkage"
    figs = charts(at)
    assert len(figs) == 3, len(figs)  # shrinkage, vs precision, continuum
    specs = [f.proto.spec for f in figs]
    assert "Partial pooling pulls" in specs[0] and "posterior density of tau" in specs[2]
    text = all_text(at)
    # the precision caption names the least and most precise schools with numbers
    assert "least precise group, H (se 18)" in text and "most precise, E (se 9)" in text, text
    assert "rises from" in text
    # the weight explanation and the table
    assert "w = frac{text{precision}}" in text
    frames = [d.value for d in at.dataframe]
    table = frames[-1]
    assert list(table["group"]) == list(nc_fit.data.labels)
    assert {"no_pooling", "partial_mean", "shrinkage", "weight"} <= set(table.columns)
    weights = frames[0]  # weights at the chosen tau
    assert weights["weight_own_data"].between(0, 1).all()
    # the export panel
    labels = downloads(at)
    for want in ("Posterior (ArviZ netCDF)", "Summary table (CSV)", "Shrinkage plot",
                 "Pooling continuum", "Script using hiermod", "Script in plain NumPyro",
                 "The data (CSV)"):
        assert want in labels, labels
    assert not at.warning  # the fit matches the model page


def test_shrinkage_tau_slider_moves_weights(nc_fit):
    at = with_fits(new_app(), nc_fit)
    at.switch_page(SHRINK).run()
    at.slider(key="w_continuum_tau").set_value(0.0).run()
    assert_clean(at)
    assert (at.dataframe[0].value["weight_own_data"] == 0).all()
    at.slider(key="w_continuum_tau").set_value(20.0).run()
    w = at.dataframe[0].value.set_index("group")["weight_own_data"]
    assert w["E"] > w["H"] > 0.5  # the precise school keeps more of its own estimate


def test_shrinkage_needs_partial_pooling(schools):
    data, spec = schools
    complete = _fit(data, spec.replace(pooling="complete"), method="exact")
    at = with_fits(new_app(), complete)
    at.switch_page(SHRINK).run()
    assert_clean(at)
    info = " ".join(i.value for i in at.info)
    assert "complete pooling" in info and "Partial pooling" in info, info
    assert "Model" in [p.proto.page for p in at.get("page_link")]
    assert not charts(at)
    assert "Posterior (ArviZ netCDF)" in downloads(at)


def test_stale_fit_is_flagged(nc_fit, schools):
    data, spec = schools
    at = with_fits(new_app(), nc_fit)
    at.session_state["hm_spec"] = spec.replace(pooling="complete")
    for page in (SHRINK, FUNNEL):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert any("other data, model or settings" in w.value for w in at.warning), page
        assert charts(at)


# ------------------------------------------------------------------------ funnel/diagnostics


def test_funnel_page_with_fit(nc_fit):
    at = with_fits(new_app(), nc_fit)
    at.switch_page(FUNNEL).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Funnel and diagnostics"
    specs = [f.proto.spec for f in charts(at)]
    # funnel, trace, rank, energy, tau vs prior (with the exact posterior)
    assert len(specs) == 5, len(specs)
    assert "theta_decentered[A]" in specs[0]
    assert "BFMI" in specs[3]
    assert "exact posterior" in specs[4]
    # verdicts in plain language (one box each, coloured by level) and the summary table
    from hiermod.diagnostics import diagnose

    verdicts = diagnose(nc_fit).verdicts
    boxes = {"ok": at.success, "warning": at.warning, "error": at.error}
    for level in {v.level for v in verdicts}:
        box = boxes.get(level, at.error)
        assert len(box) >= sum(v.level == level for v in verdicts), (level, [v.message for v in verdicts])
    summary = at.dataframe[0].value
    assert {"mean", "r_hat", "ess_bulk"} <= set(summary.columns) and "tau" in summary.index
    # no partner fit yet: the comparison button is offered
    assert at.button(key="w_fit_partner").label == "Fit the other parameterization for comparison"
    labels = downloads(at)
    for want in ("Posterior (ArviZ netCDF)", "Summary table (CSV)", "Funnel", "Energy",
                 "Trace of tau", "Script using hiermod", "Script in plain NumPyro"):
        assert want in labels, labels


def test_funnel_group_and_parameter_choices(nc_fit):
    at = with_fits(new_app(), nc_fit)
    at.switch_page(FUNNEL).run()
    at.selectbox(key="w_funnel_group").set_value("C").run()
    at.radio(key="w_funnel_axis").set_value("theta").run()
    at.selectbox(key="w_trace_param").set_value("theta[C]").run()
    assert not at.exception, at.exception
    specs = [f.proto.spec for f in charts(at)]
    assert "theta[C] against log tau" in specs[0]
    assert "theta[C]" in specs[1]
    assert "Trace of theta[C]" in downloads(at)


def test_centered_fit_reports_divergences_and_pairs(nc_fit, centered_fit):
    assert int(centered_fit.idata.sample_stats["diverging"].values.sum()) > 0
    at = with_fits(new_app(), centered_fit, nc_fit)
    at.switch_page(FUNNEL).run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "divergence" in errors, errors
    specs = [f.proto.spec for f in charts(at)]
    assert any("Centered vs non-centered" in s for s in specs)
    assert "divergent draws centered" in all_text(at)
    assert "Centered vs non-centered funnels" in downloads(at)
    assert not at.get("button") or all(b.proto.id.find("w_fit_partner") < 0 for b in at.get("button"))
    # the current fit is still the centered one
    assert at.session_state["hm_fit_key"][1].parameterization.value == "centered"


def test_exact_fit_says_no_sampler_checks(schools):
    data, spec = schools
    exact = _fit(data, spec, method="exact")
    at = with_fits(new_app(), exact)
    at.switch_page(FUNNEL).run()
    assert_clean(at)
    assert "no sampler diagnostics apply" in " ".join(i.value for i in at.info)
    specs = [f.proto.spec for f in charts(at)]
    assert len(specs) == 1 and "exact posterior" in specs[0]  # tau vs prior only
    assert "Posterior (ArviZ netCDF)" in downloads(at)


def test_export_downloads_produce_files(nc_fit):
    """The deferred download callables make real files."""
    from ui import export_panel

    text_of = export_panel._deferred(lambda: 1 / 0, "nothing")
    assert "could not produce nothing" in text_of()
    from hiermod.export import reproduction_script, summary_csv

    assert summary_csv(nc_fit).startswith("parameter,")
    assert "import numpyro" in reproduction_script(nc_fit, "eight_schools.csv", "numpyro")


@pytest.fixture(scope="module")
def vi_fit(schools):
    data, spec = schools
    return _fit(data, spec, method="vi")


@pytest.mark.parametrize("page", [SHRINK, FUNNEL])
def test_vi_fit_is_labelled_an_approximation_not_exact(vi_fit, page):
    """Regression: a variational fit has no sampler statistics, and the pages called it exact."""
    at = with_fits(new_app(), vi_fit)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = all_text(at)
    assert "variational approximation (understates uncertainty, most for tau)" in text, text
    assert any("variational approximation" in w.value for w in at.warning)
    for exact_claim in ("no sampler diagnostics apply", "computed exactly", "draws are exact",
                        "method: exact", "method exact"):
        assert exact_claim not in text, exact_claim
    assert charts(at)

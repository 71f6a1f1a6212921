"""The live preview on the Model and Shrinkage pages (AppTest, no browser).

The numbers it shows are checked against :mod:`hiermod.exact` (the BDA3 grid posterior of tau with
mu integrated in closed form, a separate code path from the instant engine's grid); the page logic
(live priors as a copy of the model's, "Use these priors", the data copy and its Restore) against
session state. The real browser (the data editor's cells, timing) is tests/e2e/test_browser_live.py.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import PIL.Image  # noqa: F401  imported before the app's background warm-up thread can race the page to it
import pytest
from streamlit.testing.v1 import AppTest

from hiermod.datasets import load_dataset
from hiermod.exact import exact_posterior
from hiermod.priors import resolve_priors

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MODEL = "pages/2_Model.py"
SHRINK = "pages/4_Shrinkage.py"
APPLY = "FormSubmitter:model_form-Apply"
LABEL = "instant posterior (grid + quadrature)"


def page(sample: str, path: str = MODEL) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.selectbox(key="w_sample").set_value(sample).run()
    at.switch_page(path).run()
    ok(at)
    where = "model" if path == MODEL else "shrinkage"
    assert not [c for c in charts(at) if c.startswith("live_")]  # off until asked for
    at.toggle(key=f"w_live_on_{where}").set_value(True).run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def text(at: AppTest) -> str:
    parts = [str(m.value) for m in at.markdown] + [str(c.value) for c in at.caption]
    parts += [str(x.value) for x in (*at.info, *at.warning, *at.error)]
    parts += [e.label for e in at.expander]
    return "\n".join(parts).replace("\\", "")


def live_mean(at: AppTest, name: str) -> float:
    line = next(m for m in text(at).splitlines() if m.startswith("Instant posterior (grid + quadrature): posterior mean"))
    return float(re.search(rf"\b{re.escape(name)} (-?[\d.e+-]+) \(sd", line).group(1))


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly charts by their key's end (the element id ends with the key)."""
    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def exact_tau_mean(data, spec) -> float:
    return float(exact_posterior(data, spec, resolve_priors(data, spec)).means["tau"])


def spec_prior(at: AppTest, name: str) -> str:
    return str(dict(at.session_state["hm_spec"].priors)[name])


# ------------------------------------------------------------------------------- Model page


def test_the_model_page_shows_the_instant_posterior_of_its_model():
    at = page("eight_schools")
    body = text(at)
    assert "Live preview: instant posterior (grid + quadrature)" in body
    data, spec = at.session_state["hm_data"], at.session_state["hm_spec"]
    assert live_mean(at, "tau") == pytest.approx(exact_tau_mean(data, spec), rel=2e-3)
    figs = charts(at)
    assert {"live_shrinkage_model", "live_hyper_tau_model", "live_continuum_model"} <= set(figs)
    assert "Instant posterior: each group before and after pooling" in body
    assert LABEL in {t.get("name") for t in figs["live_hyper_tau_model"]["data"]}
    assert "Pooling continuum, shaded by the instant posterior (grid + quadrature) of tau" in \
        figs["live_continuum_model"]["layout"]["title"]["text"]


def test_a_live_prior_redraws_at_once_and_leaves_the_model_alone():
    at = page("eight_schools")
    data = at.session_state["hm_data"]
    before_spec = at.session_state["hm_spec"]
    before = charts(at)["live_shrinkage_model"]["data"]
    at.number_input(key="w_live_model_tau_HalfNormal_scale").set_value(2.0).run()
    ok(at)
    assert at.session_state["hm_spec"] == before_spec  # the model (what Fit fits) is unchanged
    assert spec_prior(at, "tau") == "HalfNormal(11)"
    expected = exact_tau_mean(data, before_spec.with_priors(tau="HalfNormal(2)"))
    assert live_mean(at, "tau") == pytest.approx(expected, rel=2e-3)
    assert live_mean(at, "tau") < 2.0
    assert charts(at)["live_shrinkage_model"]["data"] != before
    buttons = {b.label: b for b in at.button}
    assert not buttons["Use these priors for the fit"].disabled
    assert not buttons["Back to the model's priors"].disabled


def test_use_these_priors_copies_them_into_the_model_and_its_form():
    at = page("eight_schools")
    at.number_input(key="w_live_model_tau_HalfNormal_scale").set_value(3.0).run()
    at.button(key="w_live_adopt_model").click().run()
    ok(at)
    assert spec_prior(at, "tau") == "HalfNormal(3)"
    assert at.number_input(key="w_prior_tau_HalfNormal_scale").value == 3.0  # the form shows it too
    assert at.button(key="w_live_adopt_model").disabled  # nothing left to copy
    # Apply in the form now keeps them (the form was re-seeded, not left at the old value)
    at.button(key=APPLY).click().run()
    ok(at)
    assert spec_prior(at, "tau") == "HalfNormal(3)"


def test_back_to_the_models_priors():
    at = page("eight_schools")
    tau0 = live_mean(at, "tau")
    at.number_input(key="w_live_model_tau_HalfNormal_scale").set_value(2.0).run()
    at.button(key="w_live_reset_model").click().run()
    ok(at)
    assert at.number_input(key="w_live_model_tau_HalfNormal_scale").value == 11.0
    assert live_mean(at, "tau") == pytest.approx(tau0)


def test_untouched_live_priors_follow_the_form_and_touched_ones_stay():
    at = page("eight_schools")
    at.number_input(key="w_live_model_tau_HalfNormal_scale").set_value(2.0).run()
    at.number_input(key="w_prior_mu_Normal_loc").set_value(0.0)
    at.number_input(key="w_prior_tau_HalfNormal_scale").set_value(20.0)
    at.button(key=APPLY).click().run()
    ok(at)
    assert spec_prior(at, "mu") == "Normal(0, 27.5)"
    assert at.number_input(key="w_live_model_mu_Normal_loc").value == 0.0     # followed the model
    assert at.number_input(key="w_live_model_tau_HalfNormal_scale").value == 2.0  # the user's, kept
    live = at.session_state["hm_live_priors"]["priors"]
    assert str(live["mu"]) == "Normal(0, 27.5)" and str(live["tau"]) == "HalfNormal(2)"


def test_switching_a_live_family_starts_from_data_scaled_numbers():
    at = page("eight_schools")
    at.selectbox(key="w_live_model_family_tau").set_value("HalfCauchy").run()
    ok(at)
    assert at.number_input(key="w_live_model_tau_HalfCauchy_scale").value == 11.0
    spec = at.session_state["hm_spec"]
    expected = exact_tau_mean(at.session_state["hm_data"], spec.with_priors(tau="HalfCauchy(11)"))
    assert live_mean(at, "tau") == pytest.approx(expected, rel=2e-3)


def test_an_impossible_live_prior_says_why_and_keeps_the_last_good_one():
    at = page("eight_schools")
    tau0 = live_mean(at, "tau")
    at.number_input(key="w_live_model_tau_HalfNormal_scale").set_value(0.0).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "tau" in errors[0] and "must be > 0" in errors[0]
    assert "keeps HalfNormal(11)" in errors[0]
    assert live_mean(at, "tau") == pytest.approx(tau0)


def _edit(at: AppTest, **cells) -> None:
    """Write edits into the working copy the data editor keeps (as its callback does)."""
    box = dict(at.session_state["hm_live_table"])
    table = box["table"].copy()
    for spec, value in cells.items():
        group, column = spec.split("__")
        table.loc[table["group"] == group, column] = value
    box["table"], box["version"] = table, box["version"] + 1
    at.session_state["hm_live_table"] = box


def test_editing_a_group_re_shrinks_everything_and_restore_brings_the_data_back():
    at = page("eight_schools")
    data = at.session_state["hm_data"]
    fingerprint = data.fingerprint
    theta_before = charts(at)["live_shrinkage_model"]
    tau0 = live_mean(at, "tau")
    _edit(at, A__y=80.0)
    at.run()
    ok(at)
    assert ("Edited: A: effect 28 -> 80. The live figures use the edited numbers; the loaded data "
            "(and Fit) do not.") in text(at)
    assert live_mean(at, "tau") > tau0                      # A far away: the groups spread out
    assert charts(at)["live_shrinkage_model"] != theta_before
    assert at.session_state["hm_data"].fingerprint == fingerprint  # the loaded data: untouched
    assert at.session_state["hm_data"].y[0] == 28.0
    at.button(key="w_live_restore_model").click().run()
    ok(at)
    assert live_mean(at, "tau") == pytest.approx(tau0)
    assert "Edited:" not in text(at)


def test_an_impossible_edit_names_the_group_and_draws_nothing_live():
    at = page("eight_schools")
    _edit(at, C__se=0.0)
    at.run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "'C'" in errors and "'se'" in errors
    assert not [k for k in charts(at) if k.startswith("live_")]
    at.button(key="w_live_restore_model").click().run()
    ok(at)
    assert "live_shrinkage_model" in charts(at)


def test_a_model_the_instant_method_cannot_serve_gets_one_line_and_nothing_live():
    at = page("radon")
    at.selectbox(key="w_likelihood").set_value("student_t").run()
    ok(at)
    from hiermod.instant import unavailable_reason

    why = unavailable_reason(at.session_state["hm_data"], at.session_state["hm_spec"]).rstrip(".")
    lines = [c for c in text(at).splitlines() if c.startswith("Live preview: the instant posterior")]
    assert lines == [f"Live preview: the instant posterior (grid + quadrature) is not available for this "
                     f"model: {why}. Press Fit for NUTS."]
    assert not [k for k in charts(at) if k.startswith("live_")]
    assert not [n for n in at.number_input if n.key.startswith("w_live_")]


def test_a_beta_population_shows_both_hyperparameters_and_no_continuum():
    at = page("rat_tumors")
    at.radio(key="w_population").set_value("beta").run()
    ok(at)
    figs = charts(at)
    assert {"live_shrinkage_model", "live_hyper_alpha_model", "live_hyper_beta_model"} <= set(figs)
    assert "live_continuum_model" not in figs
    assert live_mean(at, "alpha") > 0 and live_mean(at, "beta") > 0
    # the shrinkage plot is drawn on the probability scale
    assert figs["live_shrinkage_model"]["layout"]["xaxis"]["title"]["text"].lower().startswith("probability")


# ----------------------------------------------------------------------------- Shrinkage page


def test_the_shrinkage_page_has_the_live_panel_with_and_without_a_fit():
    at = page("eight_schools", SHRINK)
    assert "There is no fit yet" in text(at)
    assert "live_shrinkage_shrinkage" in charts(at)
    import hiermod

    data, spec = at.session_state["hm_data"], at.session_state["hm_spec"]
    fit = hiermod.fit(data, spec, method="exact", chains=2, draws=500)
    key = (data.fingerprint, spec, at.session_state["hm_settings"], "exact")
    at.session_state["hm_fits"] = OrderedDict({key: fit})
    at.session_state["hm_fit_key"] = key
    at.run()
    ok(at)
    figs = charts(at)
    assert {"live_shrinkage_shrinkage", "live_hyper_tau_shrinkage", "live_continuum_shrinkage",
            "shrinkage_plot"} <= set(figs)
    assert "the rest of this page shows your last fit" in text(at)
    at.number_input(key="w_live_shrinkage_tau_HalfNormal_scale").set_value(2.0).run()
    ok(at)
    assert live_mean(at, "tau") < 2.0
    assert charts(at)["shrinkage_plot"] == figs["shrinkage_plot"]  # the fit's own plot is untouched


def test_live_priors_and_edits_survive_a_page_change():
    at = page("eight_schools")
    at.number_input(key="w_live_model_tau_HalfNormal_scale").set_value(2.5).run()
    _edit(at, B__y=30.0)
    at.run()
    tau = live_mean(at, "tau")
    at.switch_page(SHRINK).run()
    ok(at)
    assert at.toggle(key="w_live_on_shrinkage").value  # on for every page once turned on
    assert live_mean(at, "tau") == pytest.approx(tau)
    assert at.number_input(key="w_live_shrinkage_tau_HalfNormal_scale").value == 2.5
    at.switch_page(MODEL).run()
    ok(at)
    assert at.number_input(key="w_live_model_tau_HalfNormal_scale").value == 2.5
    assert "Edited: B: effect 8 -> 30." in text(at)
    assert live_mean(at, "tau") == pytest.approx(tau)
    assert np.isclose(at.session_state["hm_data"].y[1], 8.0)


def test_hostile_group_labels_stay_literal_in_the_live_figures():
    from hiermod.data import ColumnMap, load_data
    from ui.state import default_spec_for

    data = load_data(Path(__file__).resolve().parent / "corpus" / "html_labels.csv",
                     ColumnMap("school", "effect", "summary", se="se"))
    at = page("eight_schools")
    at.session_state["hm_data"] = data
    at.session_state["hm_spec"] = default_spec_for(data)
    at.run()
    ok(at)
    spec_json = json.dumps(charts(at)["live_shrinkage_model"])
    assert "<script>" not in spec_json and "&lt;script&gt;alert(1)&lt;/script&gt;" in spec_json
    assert "<img" not in json.dumps(charts(at)["live_continuum_model"])


def test_radon_twice_the_houses_narrows_that_countys_interval():
    at = page("radon")
    table = at.session_state["hm_live_table"]["table"]
    county = table.loc[table["n"] == 2, "group"].iloc[0]  # a county with two houses
    def interval(at) -> float:
        for trace in charts(at)["live_shrinkage_model"]["data"]:
            if trace["name"].startswith("partial pooling"):
                row = next(c for c in trace["customdata"] if c[0] == county)
                return row[5] - row[4]
    before = interval(at)
    _edit(at, **{f"{county}__n": 20.0})
    at.run()
    ok(at)
    assert f"Edited: {county}: n (rows) 2 -> 20, se of its mean sd / sqrt(n) " in text(at)
    assert interval(at) < 0.8 * before  # ten times the houses, same mean and sd: far more certain
    assert at.session_state["hm_data"].n_rows == 919


def test_the_shrinkage_page_draws_an_instant_fits_continuum():
    """An instant fit (the Fit page offers the method) is shaded by its own density of tau, which
    for one hyperparameter is the exact posterior of tau (hiermod.exact's, BDA3 5.4)."""
    import hiermod

    at = page("eight_schools", SHRINK)
    data, spec = at.session_state["hm_data"], at.session_state["hm_spec"]
    fit = hiermod.fit(data, spec, method="instant", chains=2, draws=500)
    key = (data.fingerprint, spec, at.session_state["hm_settings"], "instant")
    at.session_state["hm_fits"] = OrderedDict({key: fit})
    at.session_state["hm_fit_key"] = key
    at.run()
    ok(at)
    shade = next(t for t in charts(at)["continuum_plot"]["data"] if t.get("name") == "posterior density of tau")
    x, y = _array(shade["x"]), _array(shade["y"])
    ep = exact_posterior(data, spec, resolve_priors(data, spec))
    inside = x <= ep.tau_grid.max()
    assert inside.sum() > 100
    reference = np.interp(x[inside], ep.tau_grid, ep.tau_density)
    assert np.max(np.abs(y[inside] - reference)) < 0.01 * reference.max()


def _array(values) -> np.ndarray:
    """A Plotly JSON array: a list, or {"dtype", "bdata"} (base64)."""
    import base64

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, float)

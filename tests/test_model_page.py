"""The Model page with the new hierarchies (AppTest, no browser): grouping levels and their
parameterizations, the slope correlation, Beta populations, bounded priors, the model in LaTeX."""

from __future__ import annotations

from pathlib import Path

import PIL.Image  # noqa: F401  imported before the app's background warm-up thread can race the page to it
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
APPLY = "FormSubmitter:model_form-Apply"


def model_page(sample: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.selectbox(key="w_sample").set_value(sample).run()  # the Data page's flow (slopes included)
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception, at.exception
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def spec(at: AppTest):
    return at.session_state["hm_spec"]


def radio(at: AppTest, label: str):
    found = [r for r in at.radio if r.label == label]
    assert found, [r.label for r in at.radio]
    return found[0]


def latex_text(at: AppTest) -> str:
    elements = at.get("latex")
    assert elements, "no LaTeX element"
    return elements[0].proto.body


def test_nested_levels_have_their_own_parameterization():
    at = model_page("simulated_nested")
    ok(at)
    assert spec(at).groups == ("school", "class")
    assert {r.label for r in at.radio} >= {"Level 'school'", "Level 'class'"}
    assert "Parameterization" not in {r.label for r in at.radio}
    radio(at, "Level 'class'").set_value("centered").run()
    ok(at)
    s = spec(at)
    assert [t.parameterization.value for t in s.terms] == ["non_centered", "centered"]
    assert set(dict(s.priors)) == {"mu", "tau_school", "tau_class", "sigma"}
    latex = latex_text(at)
    assert r"\tau_{\mathrm{class}}" in latex and r"\theta_{\mathrm{school}}" in latex
    prior_boxes = {s.label for s in at.selectbox}
    assert {"Prior for tau_school", "Prior for tau_class"} <= prior_boxes


def test_choosing_fewer_levels_keeps_the_priors_that_apply():
    at = model_page("simulated_nested")
    key = next(m.key for m in at.multiselect if m.label.startswith("Grouping levels"))
    at.selectbox(key="w_prior_family_mu")  # the editor is there
    at.number_input(key="w_prior_mu_Normal_loc").set_value(55.0)
    at.button(key=APPLY).click().run()
    ok(at)
    assert str(dict(spec(at).priors)["mu"]) == "Normal(55, 27.2)"
    at.multiselect(key=key).set_value(["school"]).run()
    ok(at)
    s = spec(at)
    assert s.groups == ("school",) and not s.nested
    assert str(dict(s.priors)["mu"]) == "Normal(55, 27.2)"  # kept: mu still applies
    assert set(dict(s.priors)) == {"mu", "tau", "sigma"}  # tau filled with its default
    assert "Level 'school'" not in {r.label for r in at.radio}


def test_slopes_show_the_correlation_choice_and_an_lkj_prior():
    at = model_page("simulated_slopes")
    ok(at)
    assert spec(at).slopes == ("hours",)
    corr = radio(at, "Intercept/slope correlation")
    assert corr.value == "lkj"
    assert at.selectbox(key="w_prior_family_rho").value == "LKJ"
    assert at.selectbox(key="w_prior_family_rho").options == ["LKJ"]
    assert str(dict(spec(at).priors)["rho"]) == "LKJ(2)"
    assert r"\mathrm{LKJ}(2)" in latex_text(at)
    corr.set_value("none").run()
    ok(at)
    s = spec(at)
    assert s.slope_correlation.value == "none" and "rho" not in dict(s.priors)
    assert "tau_hours" in dict(s.priors)


def test_beta_population_gives_alpha_and_beta_priors():
    at = model_page("rat_tumors")
    ok(at)
    pop = radio(at, "Population of the groups' probabilities")
    assert pop.options == ["Normal on the log-odds scale",
                           "Student-t on the log-odds scale (robust: heavy tails, degrees of freedom nu_groups)",
                           "Beta (conjugate): each group's p ~ Beta(alpha, beta)"]
    pop.set_value("beta").run()
    ok(at)
    s = spec(at)
    assert s.population.value == "beta"
    assert set(dict(s.priors)) == {"alpha", "beta"}
    assert {"Prior for alpha", "Prior for beta"} <= {b.label for b in at.selectbox}
    assert r"\mathrm{Beta}(\alpha, \beta)" in latex_text(at)


def test_student_t_population_gives_a_nu_groups_prior():
    at = model_page("eight_schools")
    ok(at)
    pop = radio(at, "Population of the groups' values")
    assert pop.options == ["Normal on the data scale",
                           "Student-t on the data scale (robust: heavy tails, degrees of freedom nu_groups)"]
    pop.set_value("student_t").run()
    ok(at)
    s = spec(at)
    assert s.population.value == "student_t" and str(dict(s.priors)["nu_groups"]) == "Gamma(2, 0.1)"
    assert "Prior for nu_groups" in {b.label for b in at.selectbox}
    assert r"\mathrm{StudentT}(\nu_{\mathrm{groups}}, 0, 1)" in latex_text(at)


def test_a_bounded_prior_survives_apply():
    at = model_page("simulated_nested")
    at.text_input(key="w_prior_tau_class_upper").set_value("20")
    at.text_input(key="w_prior_mu_lower").set_value("0")
    at.text_input(key="w_prior_mu_upper").set_value("100")
    at.button(key=APPLY).click().run()
    ok(at)
    priors = dict(spec(at).priors)
    assert str(priors["tau_class"]) == "HalfNormal(10.9) T(, 20)"
    assert str(priors["mu"]) == "Normal(58.3, 27.2) T(0, 100)"
    at.number_input(key="w_prior_tau_class_HalfNormal_scale").set_value(5.0)
    at.button(key=APPLY).click().run()  # a second Apply keeps the bounds too
    ok(at)
    assert str(dict(spec(at).priors)["tau_class"]) == "HalfNormal(5) T(, 20)"
    assert r"T[0, 20]" in latex_text(at)
    at.switch_page("pages/1_Data.py").run()
    at.switch_page("pages/2_Model.py").run()
    assert at.text_input(key="w_prior_tau_class_upper").value == "20"


def test_bounds_that_exclude_the_data_are_refused():
    at = model_page("simulated_nested")
    before = spec(at)
    at.text_input(key="w_prior_mu_lower").set_value("1000")
    at.text_input(key="w_prior_mu_upper").set_value("2000")
    at.button(key=APPLY).click().run()
    assert not at.exception, at.exception
    assert any("mu" in e.value and "bound" in e.value for e in at.error), [e.value for e in at.error]
    assert spec(at) == before
    at.text_input(key="w_prior_mu_lower").set_value("abc")
    at.button(key=APPLY).click().run()
    assert any("not a number" in e.value for e in at.error)
    assert spec(at) == before


def test_one_level_data_shows_no_level_choice():
    at = model_page("eight_schools")
    ok(at)
    assert not [m for m in at.multiselect if m.label.startswith("Grouping levels")]
    assert radio(at, "Parameterization").value == "non_centered"
    assert r"\mathrm{school}" in latex_text(at)

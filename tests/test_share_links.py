"""Share links: the link format (hiermod.share_state, pure) and opening / making links in the app
(AppTest, no browser; the real-browser test is tests/e2e/test_browser_share_links.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import PIL.Image  # noqa: F401  imported before the app's background warm-up thread can race the page to it
import pytest
from streamlit.testing.v1 import AppTest

from hiermod.columns import ColumnMap, DataKind
from hiermod.datasets import dataset_info, load_dataset
from hiermod.priors import resolve_priors
from hiermod.settings import SamplerSettings
from hiermod.share_state import KNOWN, SharedModel, decode, encode, prior_text, query_string
from hiermod.spec import ModelSpec, parse_prior

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
APPLY = "FormSubmitter:model_form-Apply"
EIGHT_LINK = {"data": "eight_schools", "lik": "normal_known_se", "pool": "partial", "param": "centered",
              "prior.mu": "Normal(1,4)", "prior.tau": "HalfNormal(3)", "chains": "2", "warmup": "300",
              "draws": "400", "seed": "7", "accept": "0.95", "method": "instant", "v": "1"}


def full(dataset: str, spec: ModelSpec) -> ModelSpec:
    """``spec`` with every prior written out (as the app holds it)."""
    return spec.with_priors(**resolve_priors(load_dataset(dataset), spec))


def specs() -> list[tuple[str, ModelSpec]]:
    nested = ModelSpec("normal", groups=("school", "class"))
    return [
        ("eight_schools", full("eight_schools", ModelSpec("normal_known_se"))),
        ("eight_schools", ModelSpec("normal_known_se", "partial", "centered",
                                    priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})),
        ("eight_schools", ModelSpec("normal_known_se", "none", priors={"theta": "Normal(0.1, 0.30000000000000004)"})),
        ("eight_schools", ModelSpec("normal_known_se", "complete", priors={"mu": "StudentT(3, 0, 2.5) T(, 10)"})),
        ("eight_schools", ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5) T(-20, 20)",
                                                               "tau": "HalfNormal(3) T(, 1e+20)"})),
        ("simulated_nested", full("simulated_nested", nested)),
        ("simulated_nested", full("simulated_nested", nested.replace(
            level_parameterizations=("non_centered", "centered")))),
        ("simulated_nested", full("simulated_nested", ModelSpec("normal", groups=("school",)))),
        ("simulated_slopes", full("simulated_slopes", ModelSpec("normal", slopes=("hours",)))),
        ("simulated_slopes", full("simulated_slopes", ModelSpec("student_t", slopes=("hours",),
                                                                slope_correlation="none"))),
        ("simulated_slopes", full("simulated_slopes", ModelSpec("normal", covariates=("hours",)))),
        ("rat_tumors", full("rat_tumors", ModelSpec("binomial", population="beta"))),
        ("rat_tumors", ModelSpec("binomial", population="beta", priors={"alpha": "Gamma(2, 0.5)"})),
        ("simulated_rates", full("simulated_rates", ModelSpec("poisson", population="gamma"))),
        ("simulated_rates", full("simulated_rates", ModelSpec("negative_binomial", "complete"))),
        ("efron_morris", full("efron_morris", ModelSpec("binomial", "partial", "centered"))),
    ]


# --------------------------------------------------------------------------------- the format


@pytest.mark.parametrize("dataset,spec", specs(), ids=lambda x: x if isinstance(x, str) else x.describe())
def test_round_trip_through_a_real_query_string(dataset, spec):
    link = SharedModel(dataset, None, spec, SamplerSettings(chains=2, warmup=300, draws=400, seed=11,
                                                            target_accept=0.85), "instant")
    params = encode(link)
    assert params["v"] == "1" and params["data"] == dataset
    text = query_string(params)
    assert " " not in text and "%28" not in text  # priors stay readable: prior.tau=HalfCauchy(5)
    back = decode(parse_qs(text, keep_blank_values=True))
    assert back.problems == ()
    assert back.link == link
    assert back.link.spec == spec and hash(back.link.spec) == hash(spec)  # the same fit key


def test_random_starts_and_an_automatic_warmup_go_through_the_link():
    """The default start (instant) and an automatic warmup are not written; a random start is."""
    spec = ModelSpec("normal_known_se")
    for settings, written in ((SamplerSettings(start="random"), {"start": "random"}), (SamplerSettings(), {})):
        params = encode(SharedModel("eight_schools", None, spec, settings, "nuts"))
        assert "warmup" not in params and {k: params[k] for k in ("start",) if k in params} == written
        back = decode(parse_qs(query_string(params), keep_blank_values=True))
        assert back.problems == () and back.link.settings == settings


def test_the_link_reads_as_documented():
    spec = ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})
    text = query_string(encode(SharedModel("eight_schools", dataset_info("eight_schools").columns, spec,
                                           SamplerSettings(), "nuts")))
    assert text == ("v=1&data=eight_schools&lik=normal_known_se&pool=partial&param=non_centered"
                    "&prior.mu=Normal(0,5)&prior.tau=HalfCauchy(5)&chains=4&draws=1000"
                    "&seed=0&accept=0.9&depth=10&method=nuts")  # the sample's own roles are not written


def test_prior_text_is_exact_and_compact():
    for text in ("Normal(0.1, 0.30000000000000004)", "HalfNormal(3) T(, 10)", "Normal(0, 5) T(0, 20)",
                 "StudentT(3, -1.5, 2.5)", "LKJ(2)", "Uniform(0, 100)", "Gamma(2, 1e-07)"):
        prior = parse_prior(text)
        compact = prior_text(prior)
        assert " " not in compact and parse_prior(compact) == prior, (text, compact)
    assert prior_text(parse_prior("HalfNormal(3) T(, 10)")) == "HalfNormal(3)T(,10)"


def test_an_upload_keeps_its_column_roles_never_its_data():
    roles = ColumnMap(group="class", outer_groups=("school, main",), y="score", kind=DataKind.GAUSSIAN,
                      covariates=("hours", "a%b"))
    spec = ModelSpec("normal", covariates=("hours",), slopes=("a%b",), groups=("school, main", "class"))
    link = SharedModel("upload", roles, spec, None, None)
    params = encode(link)
    assert params["data"] == "upload"
    assert params["col.group"] == "school%2C main,class"  # a comma inside a name is escaped
    assert set(params) <= set(KNOWN) | {k for k in params if k.startswith("prior.")}
    back = decode(parse_qs(query_string(params)))
    assert back.problems == () and back.link == link and back.link.uploaded


def test_sample_roles_are_written_only_when_changed():
    radon = dataset_info("radon").columns
    with_floor = ColumnMap(group="county", y="log_radon", kind="gaussian", covariates=("floor",))
    assert not any(k.startswith("col.") for k in encode(SharedModel("radon", radon)))
    params = encode(SharedModel("radon", with_floor))
    assert params["col.cov"] == "floor" and params["col.kind"] == "gaussian"
    assert decode(params).link.columns == with_floor


def test_no_link_parameters_is_no_link():
    assert decode({}) == decode({"embed": "true"}) == decode({"utm_source": "x"})
    assert decode({}).link is None


@pytest.mark.parametrize("key,value,words", [
    ("data", "eight_school", ["'data=eight_school'", "eight_schools"]),
    ("pool", "parital", ["'pool=parital'", "partial"]),
    ("param", "diagonal", ["'param=diagonal'", "non_centered"]),
    ("prior.tau", "HalfCauchy(-1)", ["'prior.tau=HalfCauchy(-1)'", "scale must be > 0"]),
    ("prior.tau", "Normal(0,5)", ["'prior.tau=Normal(0,5)'", "positive"]),
    ("prior.tau", "HalfCauchy(5", ["'prior.tau=HalfCauchy(5'"]),
    ("prior.sigma", "HalfNormal(1)", ["'prior.sigma=HalfNormal(1)'", "no parameter 'sigma'"]),
    ("chains", "2.5", ["'chains=2.5'", "whole number"]),
    ("chains", "99", ["'chains=99'", "1 to 8"]),
    ("accept", "1.2", ["'accept=1.2'", "target_accept"]),
    ("seed", "abc", ["'seed=abc'", "whole number"]),
    ("method", "exact", ["'method=exact'", "instant"]),
    ("colour", "blue", ["'colour'", "not a link parameter"]),
    ("v", "2", ["'v=2'", "version 1"]),
    ("warmup", "", ["'warmup'", "empty"]),
    ("start", "fast", ["'start=fast'", "instant, random"]),
])
def test_a_bad_parameter_is_named_and_the_rest_still_applies(key, value, words):
    params = dict(EIGHT_LINK)
    params[key] = value
    decoded = decode(params)
    assert len(decoded.problems) == 1, decoded.problems
    for word in words:
        assert word in decoded.problems[0], (word, decoded.problems)
    link = decoded.link
    assert link.spec is not None and link.spec.likelihood.value == "normal_known_se"
    if key != "data":
        assert link.dataset == "eight_schools"
    if not key.startswith("prior."):
        assert str(dict(link.spec.priors)["tau"]) == "HalfNormal(3)"
    if key == "param":
        assert link.spec.parameterization.value == "non_centered"  # the default, nothing else lost
        assert link.spec.pooling.value == "partial"
    if key not in ("chains", "accept", "seed", "warmup"):
        assert link.settings == SamplerSettings(chains=2, warmup=300, draws=400, seed=7, target_accept=0.95)
    else:
        assert link.settings.draws == 400  # the other settings are kept


def test_decoding_never_raises_on_random_links():
    import random

    values = ["", ",", ",,", "x", "normal", "partial", "centered", "school,class", "Normal(0,5)", "LKJ(2)",
              "HalfCauchy(5)T(1,)", "Normal(0,5)T(5,0)", "T(,)", "1e400", "nan", "-1", "0", "2", "1.5",
              "upload", "eight_schools", "radon", "beta", "none", "lkj", "%2C", "日本", "hours"]
    keys = list(KNOWN) + ["prior.", "prior.mu", "prior.tau", "prior.beta[hours]", "prior.rho", "prior.alpha", "zzz"]
    rng = random.Random(13)
    for _ in range(3000):
        params = {rng.choice(keys): rng.choice(values) for _ in range(rng.randint(1, 12))}
        decoded = decode(params)  # must not raise
        assert decoded.link is not None or not decoded.problems


def test_a_model_that_cannot_be_built_is_refused_as_a_whole_with_the_reason():
    decoded = decode({"data": "rat_tumors", "lik": "binomial", "pop": "beta", "groups": "a,b", "chains": "2"})
    assert decoded.link.spec is None and decoded.link.settings.chains == 2
    assert any("refused" in p and "population" in p for p in decoded.problems), decoded.problems
    bad_levels = decode({"data": "simulated_nested", "lik": "normal", "groups": "school,class",
                         "param.levels": "centered"})
    assert bad_levels.link.spec.groups == ("school", "class")
    assert any("'param.levels=centered'" in p for p in bad_levels.problems)
    no_lik = decode({"data": "upload", "pool": "none"})
    assert no_lik.link.spec is None and any("'lik'" in p for p in no_lik.problems)
    assert decode({"data": "eight_schools", "pool": "none"}).link.spec.likelihood.value == "normal_known_se"
    repeated = decode({"data": "eight_schools", "chains": ["2", "3"]})
    assert repeated.link.settings.chains == 3 and "'chains' is given 2 times" in repeated.problems[0]


# ---------------------------------------------------------------------------------- in the app


def open_app(params: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def notes(at: AppTest) -> str:
    """The info and warning boxes' text, markdown escapes removed."""
    return " ".join(e.value for e in [*at.info, *at.warning]).replace("\\", "")


def test_opening_a_link_loads_the_sample_and_the_model_page_shows_it():
    at = open_app(EIGHT_LINK)
    ss = at.session_state
    assert ss["hm_data"].n_groups == 8 and ss["hm_data_source"]["name"] == "eight_schools"
    assert at.selectbox(key="w_sample").value == "eight_schools"
    assert "Opened from a shared link" in notes(at)
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Opened from a shared link" in notes(at)
    assert at.radio(key="w_pooling").value == "partial"
    assert at.radio(key="w_param").value == "centered"
    assert at.selectbox(key="w_prior_family_tau").value == "HalfNormal"
    assert at.number_input(key="w_prior_tau_HalfNormal_scale").value == 3.0
    assert at.number_input(key="w_prior_mu_Normal_loc").value == 1.0
    assert [at.number_input(key=f"w_{k}").value for k in ("chains", "warmup", "draws", "seed")] == [2, 300, 400, 7]
    assert at.number_input(key="w_target_accept").value == 0.95
    assert ss["hm_method"] == "instant"
    spec = ss["hm_spec"]
    # the Model page kept the link's model (no restructure back to defaults)
    assert str(dict(spec.priors)["tau"]) == "HalfNormal(3)" and spec.parameterization.value == "centered"
    # the Fit page offers the link's method
    at.switch_page("pages/3_Fit.py").run()
    assert at.radio(key="w_method").value == "instant"


def test_the_link_is_read_once_and_never_fights_later_edits():
    at = open_app(EIGHT_LINK)
    at.switch_page("pages/2_Model.py").run()
    at.radio(key="w_pooling").set_value("complete").run()
    assert at.session_state["hm_spec"].pooling.value == "complete"
    at.switch_page("pages/1_Data.py").run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception
    assert at.session_state["hm_spec"].pooling.value == "complete"
    assert "Opened from a shared link" not in notes(at)  # the model is no longer the link's


def test_a_bad_parameter_is_shown_by_name_and_the_rest_applies():
    at = open_app({**EIGHT_LINK, "prior.tau": "HalfCauchy(-5)", "pool": "sometimes"})
    text = notes(at)
    assert "'prior.tau=HalfCauchy(-5)' is ignored: HalfCauchy: scale must be > 0" in text
    assert "'pool=sometimes' is ignored: use one of none, complete, partial" in text
    spec = at.session_state["hm_spec"]
    assert spec.parameterization.value == "centered" and str(dict(spec.priors)["mu"]) == "Normal(1, 4)"
    assert str(dict(spec.priors)["tau"]) != "HalfCauchy(-5)"
    assert at.session_state["hm_settings"].chains == 2


def test_a_model_or_roles_that_do_not_fit_the_sample_are_named_and_the_defaults_used():
    at = open_app({"data": "eight_schools", "lik": "binomial", "chains": "2"})
    assert "The link's model does not fit these data" in notes(at) and "binomial" in notes(at)
    assert at.session_state["hm_spec"].likelihood.value == "normal_known_se"  # the data's default
    assert at.session_state["hm_settings"].chains == 2  # the rest of the link applies
    at = open_app({"data": "eight_schools", "col.kind": "summary", "col.group": "school", "col.y": "effect",
                   "col.se": "standard_error", "pool": "none"})
    assert "column roles (col.*) do not fit" in notes(at) and "standard_error" in notes(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["hm_data"].n_groups == 8 and at.session_state["hm_spec"].pooling.value == "none"


def test_a_link_made_with_uploaded_data_waits_for_the_upload():
    spec = full("simulated_nested", ModelSpec("normal", groups=("school", "class"),
                                              level_parameterizations=("centered", "non_centered"),
                                              priors={"tau_class": "HalfNormal(2) T(, 8)"}))
    roles = dataset_info("simulated_nested").columns
    params = encode(SharedModel("upload", roles, spec, SamplerSettings(chains=3), "nuts"))
    at = open_app(params)
    assert at.session_state["hm_data"] is None
    assert "upload the same file again" in notes(at)
    at.switch_page("pages/2_Model.py").run()
    assert "upload the same file again" in notes(at)
    at.switch_page("pages/1_Data.py").run()
    at.radio(key="w_source").set_value("Upload a CSV").run()
    raw = (SAMPLES / dataset_info("simulated_nested").filename).read_bytes()
    at.get("file_uploader")[0].set_value(("my_classes.csv", raw, "text/csv")).run()
    assert not at.exception, at.exception
    ss = at.session_state
    assert ss["hm_data"].group_columns == ("school", "class")
    assert ss["hm_spec"] == spec and ss["hm_settings"].chains == 3
    assert "Opened from a shared link: the uploaded file" in notes(at)
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["hm_spec"] == spec
    assert at.radio(key=next(r.key for r in at.radio if r.label == "Level 'school'")).value == "centered"
    assert at.text_input(key="w_prior_tau_class_upper").value == "8"
    # sharing it again says the data must be uploaded
    at.button(key="w_share").click().run()
    assert "upload the same file" in notes(at)
    assert at.query_params["data"] == ["upload"] or at.query_params["data"] == "upload"


def test_slopes_and_changed_roles_of_a_sample_go_through_the_link():
    roles = ColumnMap(group="county", y="log_radon", kind="gaussian", covariates=("floor",))
    spec = ModelSpec("normal", slopes=("floor",), slope_correlation="none", priors={"sigma": "HalfNormal(2)"})
    at = open_app(encode(SharedModel("radon", roles, spec, None, None)))
    ss = at.session_state
    assert not at.error, [e.value for e in at.error]
    assert ss["hm_data"].covariate_names == ("floor",)
    assert ss["hm_data_source"]["slopes"] == ["floor"]
    assert ss["hm_spec"].slopes == ("floor",) and str(dict(ss["hm_spec"].priors)["sigma"]) == "HalfNormal(2)"
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception and not at.error
    assert at.radio(key="w_slope_correlation").value == "none"
    assert ss["hm_spec"].slope_correlation.value == "none"


def test_share_this_model_writes_the_address_and_shows_the_link():
    at = open_app({"data": "simulated_nested"})  # a link with the data set only: default model
    at.switch_page("pages/2_Model.py").run()
    assert not at.code  # nothing until asked
    key = next(r.key for r in at.radio if r.label == "Level 'class'")
    at.radio(key=key).set_value("centered").run()
    at.button(key="w_share").click().run()
    assert not at.exception
    link = at.code[0].value
    assert "?v=1&data=simulated_nested&lik=normal" in link and "param.levels=non_centered,centered" in link
    decoded = decode(parse_qs(link.split("?", 1)[1]))
    assert decoded.problems == ()
    assert decoded.link.spec == at.session_state["hm_spec"]
    assert decoded.link.settings == at.session_state["hm_settings"]
    assert dict(at.query_params)["lik"] in (["normal"], "normal")
    # the link follows later changes
    at.radio(key="w_pooling").set_value("complete").run()
    assert "pool=complete" in at.code[0].value
    # a second session opening that link gets the same model
    other = open_app({k: v[-1] for k, v in parse_qs(at.code[0].value.split("?", 1)[1]).items()})
    assert other.session_state["hm_spec"] == at.session_state["hm_spec"]

"""AppTest (no browser) of the Model variants page.

The data are put into session state the way the Data page does; the variants come from the page's
own buttons. Fits run as real background jobs (AppTest does not wait for worker threads: the
tests wait on the Job object, then run the script again): the instant method for the comparison,
NUTS for cancel.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hiermod.datasets import load_dataset
from hiermod.settings import SamplerSettings

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/9_Variants.py"
TIMEOUT = 120
NAMES = ["non-centered", "skeptical", "complete pooling", "robust"]


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def with_data(at: AppTest, name: str = "eight_schools", settings: SamplerSettings | None = None) -> AppTest:
    from ui.state import default_spec_for

    data = load_dataset(name)
    at.session_state["hm_data"] = data
    at.session_state["hm_data_name"] = name
    at.session_state["hm_spec"] = default_spec_for(data)
    if settings is not None:
        at.session_state["hm_settings"] = settings
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def started(name: str = "eight_schools", settings: SamplerSettings | None = None) -> AppTest:
    at = with_data(new_app(), name, settings)
    at.button(key="w_var_start").click().run()
    assert not at.exception, at.exception
    return at


def names(at: AppTest) -> list[str]:
    return [t.value for t in at.text_input if t.label.startswith("Name of variant")]


def box(at: AppTest, position: int, field: str):
    """The widget of variant ``position`` (1-based) whose key ends with ``field``."""
    row_id = at.session_state["hm_var_rows"][position - 1]["id"]
    key = f"w_var_{row_id}_{field}"
    found = [w for w in (*at.text_input, *at.selectbox) if w.key == key]
    assert found, key
    return found[0]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def overview(at: AppTest):
    return at.dataframe[0].value


def chart_titles(at: AppTest) -> list[str]:
    out = []
    for c in at.get("plotly_chart"):
        title = json.loads(c.proto.spec).get("layout", {}).get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def fit_all(at: AppTest, timeout: float = 300):
    """Press 'Fit all variants', wait for the job, run the script again; returns the job."""
    at.button(key="w_var_fit").click().run()
    assert not at.exception, at.exception
    job = at.session_state["hm_var_job"] if "hm_var_job" in at.session_state else None  # None: from the cache
    if job is not None:
        assert job.wait(timeout=timeout), "the variants did not finish"
        assert job.status == "done", job.error_message
    at.run()
    assert not at.exception, at.exception
    return job


# ----------------------------------------------------------------------------------- no data


def test_no_data_says_what_to_do():
    at = new_app()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not errors(at)
    assert any("Load data first" in i.value for i in at.info)
    assert "Data" in [p.proto.page for p in at.get("page_link")]
    assert not at.get("plotly_chart")


def test_eight_schools_before_any_variant():
    at = with_data(new_app())
    assert not errors(at)
    assert any("No variants yet" in i.value for i in at.info)
    assert at.button(key="w_var_start").label == "Start from the recommended set"
    assert not [b for b in at.button if b.key == "w_var_fit"]


# ------------------------------------------------------------------------------ the editor


def test_the_starting_set_appears_with_its_priors_as_text():
    at = started()
    assert not errors(at)
    assert names(at) == NAMES
    assert box(at, 1, "prior_mu").value == "Normal(0, 20)"
    assert box(at, 1, "prior_tau").value == "HalfCauchy(10)"
    assert box(at, 2, "prior_mu").value == "Normal(7.69, 5)"
    assert box(at, 2, "prior_tau").value == "HalfNormal(5)"
    assert box(at, 3, "pooling").value == "complete"
    assert not [w for w in at.text_input if w.key == f"w_var_{at.session_state['hm_var_rows'][2]['id']}_prior_tau"]
    # robust (eight schools: known se): the non-centered priors on a Student-t population, whose
    # nu_groups has a box of its own left blank (the data-scaled default)
    assert box(at, 4, "population").value == "student_t"
    assert (box(at, 4, "likelihood").value, box(at, 4, "pooling").value) == ("normal_known_se", "partial")
    assert box(at, 4, "prior_mu").value == "Normal(0, 20)"
    assert box(at, 4, "prior_tau").value == "HalfCauchy(10)"
    assert box(at, 4, "prior_nu_groups").value == "" and box(at, 4, "prior_nu_groups").placeholder.startswith("default: ")
    table = overview(at)
    assert list(table["name"]) == NAMES and set(table["status"]) == {"ok"}
    assert list(table["method"]) == ["nuts"] * 4
    assert list(table["population"]) == ["normal", "normal", "normal", "student_t"]
    assert "Download variants.toml" in [d.proto.label for d in at.get("download_button")]
    assert not at.button(key="w_var_fit").disabled
    # every threshold is listed with its default and meaning
    from hiermod.check_thresholds import THRESHOLDS

    row_id = at.session_state["hm_var_rows"][0]["id"]
    listed = {w.label: w for w in at.text_input if w.key.startswith(f"w_var_{row_id}_check_")}
    assert set(listed) == set(THRESHOLDS)
    assert listed["max_rhat"].placeholder == "default: 1.01"
    assert any(THRESHOLDS["min_ppc_coverage"].meaning in c.value.replace("\\", "") for c in at.caption)


def test_a_garbage_prior_names_the_variant_and_keeps_every_edit():
    at = started()
    box(at, 1, "name").set_value("wide").run()
    box(at, 2, "prior_tau").set_value("HalfBanana(5)").run()
    assert not at.exception, at.exception
    shown = errors(at)
    assert len(shown) == 1, shown
    assert "variant 'skeptical'" in shown[0] and "priors.tau" in shown[0] and "HalfBanana" in shown[0]
    # the other variants and every edit are kept
    assert names(at) == ["wide", "skeptical", "complete pooling", "robust"]
    assert box(at, 2, "prior_tau").value == "HalfBanana(5)"
    assert list(overview(at)["status"]) == ["ok", "error", "ok", "ok"]
    assert at.button(key="w_var_fit").disabled
    assert not at.get("download_button")
    # the edits survive a visit to another page
    at.switch_page("pages/2_Model.py").run()
    at.switch_page(PAGE).run()
    assert names(at) == ["wide", "skeptical", "complete pooling", "robust"]
    assert box(at, 2, "prior_tau").value == "HalfBanana(5)"
    box(at, 2, "prior_tau").set_value("HalfNormal(3)").run()
    assert not errors(at)
    assert not at.button(key="w_var_fit").disabled


def test_a_duplicate_name_and_a_bad_threshold_are_named():
    at = started()
    box(at, 2, "name").set_value("non-centered").run()
    assert any("variant 'non-centered'" in e and "key 'name'" in e and "already used" in e for e in errors(at)), errors(at)
    assert at.button(key="w_var_fit").disabled
    box(at, 2, "name").set_value("skeptical").run()
    assert not errors(at)
    box(at, 1, "check_max_rhat").set_value("soon").run()
    assert any("variant 'non-centered'" in e and "max_rhat" in e for e in errors(at)), errors(at)
    box(at, 1, "check_max_rhat").set_value("1.05").run()
    box(at, 3, "check_plausible_range").set_value("30, -10").run()
    assert any("variant 'complete pooling'" in e and "plausible_range" in e and "low < high" in e
               for e in errors(at)), errors(at)
    box(at, 3, "check_plausible_range").set_value("-10, 30").run()
    assert not errors(at)
    assert list(overview(at)["checks changed"]) == ["max_rhat = 1.05", "", "plausible_range = -10, 30", ""]


def test_add_duplicate_and_remove():
    at = started()
    box(at, 2, "prior_tau").set_value("HalfNormal(2)").run()
    first = at.session_state["hm_var_rows"][1]["id"]
    at.button(key=f"w_var_{first}_duplicate").click().run()
    assert names(at) == ["non-centered", "skeptical", "skeptical copy", "complete pooling", "robust"]
    assert box(at, 3, "prior_tau").value == "HalfNormal(2)"  # the latest edit is copied
    box(at, 3, "parameterization").set_value("centered").run()
    assert not errors(at)
    assert box(at, 2, "parameterization").value == "non_centered"
    at.button(key="w_var_add").click().run()  # the Model page's model
    assert names(at)[-1] == "my model" and not errors(at)
    at.button(key=f"w_var_{first}_remove").click().run()
    assert names(at) == ["non-centered", "skeptical copy", "complete pooling", "robust", "my model"]
    assert not at.exception, at.exception


def test_upload_a_variants_file_and_a_broken_one():
    at = started()
    good = (b'[[variant]]\nname = "wide"\npriors = { tau = "HalfCauchy(25)" }\nchecks = { max_rhat = 1.02 }\n\n'
            b'[[variant]]\nname = "pooled"\npooling = "complete"\nmethod = "instant"\n')
    at.get("file_uploader")[0].set_value(("variants.toml", good, "application/toml")).run()
    assert not at.exception, at.exception
    assert names(at) == ["wide", "pooled"]
    assert box(at, 1, "prior_tau").value == "HalfCauchy(25)"
    assert box(at, 1, "check_max_rhat").value == "1.02"
    assert box(at, 2, "method").value == "instant"
    bad = b'[[variant]]\nname = "x"\npriors = { tau = "Normal(0, 1)" }\n'
    at.get("file_uploader")[0].set_value(("bad.toml", bad, "application/toml")).run()
    assert not at.exception, at.exception
    assert any("bad.toml was not loaded" in e and "variant 'x'" in e and "priors.tau" in e for e in errors(at)), errors(at)
    assert names(at) == ["wide", "pooled"]  # unchanged


# ------------------------------------------------------------------------------------ fitting


def test_fit_all_with_the_instant_method_shows_the_comparison():
    at = started()
    for position in range(1, len(NAMES) + 1):  # robust too: instant serves a Student-t population
        box(at, position, "method").set_value("instant")
    at.run()
    assert not errors(at)
    fit_all(at)
    assert not errors(at), errors(at)
    assert any(s.value.startswith(("Every variant is fitted", "Loaded from the cache")) for s in at.success)
    assert "Side by side" in [h.value for h in at.header]
    titles = chart_titles(at)
    assert "tau: posterior (solid) and prior (dashed) in each variant" in titles, titles
    assert "Every group in every variant" in titles
    assert "LOO across variants (higher elpd predicts better)" in titles
    assert [t.label for t in at.tabs][:4] == NAMES  # a parameter table per variant
    frames = [d.value for d in at.dataframe]
    loo = next(f for f in frames if "elpd_loo" in f.columns)
    assert set(loo["variant"]) == set(NAMES) and not loo["note"].astype(bool).any()  # all compared
    assert sorted(loo["rank"]) == [0, 1, 2, 3]
    coverage = next(f for f in frames if "coverage" in f.columns)
    assert list(coverage["variant"]) == NAMES and coverage["coverage"].between(0, 1).all()
    params = [f for f in frames if "r_hat" in f.columns]
    assert len(params) == len(NAMES) and {"mu", "tau"} <= set(params[0].index)
    assert {"mu", "tau", "nu_groups"} <= set(params[3].index) and "nu_groups" not in params[0].index  # robust
    tau_chart = next(c for c in at.get("plotly_chart") if "tau: posterior" in json.dumps(json.loads(c.proto.spec)["layout"]))
    assert "robust (posterior)" in [d.get("name") for d in json.loads(tau_chart.proto.spec)["data"]]
    text = " ".join(m.value for m in (*at.success, *at.warning)).replace("\\", "")
    assert "Pareto k" in text
    # an identical re-run takes the fits from the cache at once (no job)
    at.button(key="w_var_fit").click().run()
    assert at.session_state["hm_var_job"] is None
    assert any("Loaded from the cache" in s.value for s in at.success)
    # a changed variant: the last results stay, marked as older than the variants now written
    box(at, 2, "prior_tau").set_value("HalfNormal(1)").run()
    assert any("have changed since" in w.value for w in at.warning)
    assert "Every group in every variant" in chart_titles(at)


def test_cancel_stops_the_fit():
    slow = SamplerSettings(chains=1, warmup=20_000, draws=20_000, seed=11)
    at = started(settings=slow)
    at.button(key="w_var_fit").click().run()
    assert not at.exception, at.exception
    job = at.session_state["hm_var_job"]
    assert job is not None and not job.done()
    assert at.button(key="w_var_fit").disabled
    assert box(at, 1, "name").disabled  # no edits while the variants are fitted
    at.button(key="w_var_cancel").click().run()
    assert job.wait(timeout=180), "the cancelled fit did not stop"
    assert job.status == "cancelled"
    at.run()
    assert not at.exception, at.exception
    assert any("cancelled" in w.value for w in at.warning)
    assert not at.button(key="w_var_fit").disabled
    assert names(at) == NAMES


def test_checks_decision_and_a_suggested_variant_in_one_click():
    from hiermod.check_thresholds import THRESHOLDS
    from hiermod.falsification import evaluate_checks

    at = started()
    for position in range(1, len(NAMES) + 1):  # robust too: instant serves a Student-t population
        box(at, position, "method").set_value("instant")
    at.run()
    fit_all(at)
    assert not errors(at), errors(at)
    headers = [h.value for h in at.header]
    assert "Falsification checks" in headers and "The decision, stage by stage" in headers
    assert [t.label for t in at.tabs][-4:] == NAMES  # a checks tab per variant
    # every check of every variant, with its status, measured value and meaning
    checks = [t.value for t in at.table]
    assert len(checks) == 4 and all(len(c) == len(THRESHOLDS) for c in checks)
    assert set(checks[0]["status"]) <= {"pass", "fail", "not applicable"}
    # they are the library's checks of these fits, against each variant's thresholds
    variants = at.session_state["hm_var_results"][at.session_state["hm_var_last"]][0]
    fits = at.session_state["hm_var_results"][at.session_state["hm_var_last"]][1]
    for variant, shown in zip(variants, checks):
        expected = evaluate_checks(fits[variant.name], variant.thresholds)
        assert [r.status for r in expected] == list(shown["status"])
        assert [r.meaning for r in expected] == list(shown["meaning"])
    # an instant fit has no sampler statistics: the computation checks do not apply
    assert checks[0].loc["Divergent transitions", "status"] == "not applicable"
    text = " ".join(m.value for m in (*at.markdown, *at.success, *at.info)).replace("\\", "")
    assert "Computation:" in text and "Plausibility:" in text and "Prediction:" in text
    assert "Recommended:" in text or "none is recommended" in text
    # the decision is the workflow report's (the page, the report and the CLI agree)
    from hiermod.report import workflow_report

    report = workflow_report(load_dataset("eight_schools"), list(variants), fits)
    for step in report["decision"]:
        assert step["text"] in text, step["text"]
    assert "Download report" in [d.proto.label for d in at.get("download_button")]
    # a failing check with a suggestion: its button adds that variant after the one it came from
    offers = [b for b in at.button if b.key.startswith("w_var_suggest_")]
    assert offers, "eight schools under the instant method: a prior check fails and suggests a prior"
    offer = offers[0]
    source = NAMES[int(offer.key.split("_")[3])]
    fitted = next(v for v in variants if v.name == source)
    assert offer.label.startswith("Add variant: ")
    failing = [r for r in evaluate_checks(fits[source], fitted.thresholds)
               if r.failed and r.suggestion and f"Add variant: {r.suggestion.label}" == offer.label]
    assert failing
    suggestion = failing[0].suggestion
    offer.click().run()
    assert not at.exception, at.exception
    assert any("Added the variant" in t.value for t in at.toast)
    new_name = f"{source} ({suggestion.label[0].lower()}{suggestion.label[1:]})"
    assert new_name in names(at)
    assert names(at).index(new_name) == NAMES.index(source) + 1
    added = at.session_state["hm_var_rows"][names(at).index(new_name)]
    expected_spec = suggestion.apply(fitted.spec)
    from hiermod.variants import prior_text

    assert added["priors"] == {k: prior_text(p) for k, p in expected_spec.priors}
    assert (added["pooling"], added["likelihood"], added["method"]) == (
        expected_spec.pooling.value, expected_spec.likelihood.value, "instant")
    assert not errors(at), errors(at)

"""The staged decision: computation, then plausibility, then prediction, then the LOO ranking."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import hiermod
from hiermod.check_thresholds import THRESHOLDS
from hiermod.errors import SpecError
from hiermod.falsification import CHECKS, FAIL, PASS, CheckResult, evaluate_checks
from hiermod.spec import ModelSpec
from hiermod.workflow_decision import DECISION_STAGES, SE_MULTIPLE, SMALL_ELPD_DIFFERENCE, decide, recommended


def _checks(failing=(), meanings=None):
    """A variant's results: every check passes except the keys in ``failing``."""
    meanings = meanings or {}
    return [CheckResult(k, c.stage, c.title, FAIL if k in failing else PASS, 1.0, THRESHOLDS[k].default,
                        meanings.get(k, f"{k} measured")) for k, c in CHECKS.items()]


def _loo(rows):
    """An az.compare-shaped table: {name: (elpd_loo, dse)}, best first."""
    best = max(v[0] for v in rows.values())
    frame = pd.DataFrame({"elpd_loo": [v[0] for v in rows.values()],
                          "elpd_diff": [best - v[0] for v in rows.values()],
                          "dse": [v[1] for v in rows.values()]}, index=list(rows))
    return frame.sort_values("elpd_loo", ascending=False)


def test_each_stage_sets_aside_the_variants_failing_it_in_order():
    checks = {
        "good": _checks(),
        "divergent": _checks({"max_divergence_fraction"}, {"max_divergence_fraction": "4% diverged"}),
        "prior-bound": _checks({"min_prior_kl"}),
        "unordered": _checks({"min_shrinkage_order"}),
        "misfit": _checks({"min_ppc_coverage"}),
    }
    loo = _loo({"misfit": (-30.0, 0.0), "good": (-31.0, 2.0), "divergent": (-32.0, 2.0),
                "prior-bound": (-33.0, 2.0), "unordered": (-34.0, 2.0)})
    stages = decide(checks, loo)
    assert [s.stage for s in stages] == [*DECISION_STAGES, "recommendation"]
    assert set(stages[0].set_aside) == {"divergent"} and "4% diverged" in stages[0].set_aside["divergent"]
    assert set(stages[1].set_aside) == {"prior-bound", "unordered"}   # shrinkage judged with plausibility
    assert set(stages[2].set_aside) == {"misfit"}
    assert stages[2].kept == ("good",)
    assert recommended(stages) == "good" and "Recommended: good" in stages[-1].text


def test_variants_within_two_se_are_named_indistinguishable():
    checks = {"a": _checks(), "b": _checks(), "c": _checks()}
    loo = _loo({"a": (-30.0, 0.0), "b": (-31.0, 1.5), "c": (-40.0, 2.0)})
    final = decide(checks, loo)[-1]
    assert final.recommended == "a" and final.kept == ("a", "b")
    assert f"Within {SE_MULTIPLE:g} SE or {SMALL_ELPD_DIFFERENCE:g} of it: b (lower by 1.0, SE 1.5)" in final.text
    assert "c" in final.set_aside and "more than 2 SE" in final.set_aside["c"]


def test_when_the_loo_top_was_set_aside_the_missing_se_is_said():
    checks = {"top": _checks({"max_rhat"}), "a": _checks(), "b": _checks()}
    loo = _loo({"top": (-28.0, 0.0), "a": (-30.0, 1.0), "b": (-31.0, 1.0)})
    final = decide(checks, loo)[-1]
    assert final.recommended == "a" and set(final.kept) == {"a", "b"}
    assert "measured against top, which was set aside" in final.text


def test_when_every_variant_fails_a_stage_the_fewest_failures_go_on():
    checks = {"one": _checks({"max_rhat"}), "two": _checks({"max_rhat", "min_ess_tau"})}
    first = decide(checks, None)[0]
    assert first.kept == ("one",) and set(first.set_aside) == {"two"}
    assert "every variant fails at least one computation check" in first.text


def test_without_loo_one_survivor_is_recommended_and_several_are_not_ranked():
    assert recommended(decide({"a": _checks(), "b": _checks({"min_ppc_coverage"})}, None)) == "a"
    final = decide({"a": _checks(), "b": _checks()}, None)[-1]
    assert final.recommended is None and final.kept == ("a", "b") and "cannot be ranked" in final.text


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(SpecError, match="at least one variant"):
        decide({}, None)
    with pytest.raises(SpecError, match="lacks dse"):
        decide({"a": _checks()}, pd.DataFrame({"elpd_loo": [1.0], "elpd_diff": [0.0]}, index=["a"]))


def test_eight_schools_variants_end_to_end(eight_schools):
    """Real instant fits, real checks, the real az.compare table: a tau prior that forces tau to 50
    is set aside at plausibility, and the recommendation is the best-predicting survivor."""
    import arviz as az

    specs = {
        "weakly informative": ModelSpec("normal_known_se", priors={"mu": "Normal(0, 20)", "tau": "HalfCauchy(10)"}),
        "skeptical": ModelSpec("normal_known_se", priors={"mu": "Normal(7.7, 5)", "tau": "HalfNormal(5)"}),
        "complete pooling": ModelSpec("normal_known_se", "complete", priors={"mu": "Normal(0, 20)"}),
        "tau about 50": ModelSpec("normal_known_se", priors={"tau": "LogNormal(3.912, 0.1)"}),
    }
    fits = {name: hiermod.fit(eight_schools, spec, method="instant") for name, spec in specs.items()}
    checks = {name: evaluate_checks(f) for name, f in fits.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.compare({name: f.idata for name, f in fits.items()}, ic="loo", var_name="y")
    stages = decide(checks, loo)
    assert "tau about 50" in stages[1].set_aside
    assert "tau within the groups' spread" in stages[1].set_aside["tau about 50"]
    survivors = stages[2].kept
    best = recommended(stages)
    assert best in survivors
    assert loo.loc[best, "elpd_loo"] == max(loo.loc[n, "elpd_loo"] for n in survivors)


def test_a_small_elpd_difference_is_indistinguishable_even_with_a_tiny_se():
    """Below 4 the difference is small and its SE unreliable (Sivula et al. 2022): not a reason to set aside."""
    loo = pd.DataFrame({"elpd_loo": [-30.0, -30.5], "elpd_diff": [0.0, 0.5], "dse": [0.0, 0.1]}, index=["a", "b"])
    final = decide({"a": [], "b": []}, loo)[-1]
    assert final.recommended == "a" and final.kept == ("a", "b") and not final.set_aside


def test_a_high_pareto_k_is_a_caveat_not_a_reason_to_set_aside():
    from hiermod.falsification import FAIL, CheckResult

    k = CheckResult("max_pareto_k", "prediction", "PSIS-LOO Pareto k", FAIL, 0.86, 0.7, "LOO is unreliable for A.")
    stages = decide({"a": [k], "b": []})
    prediction = next(d for d in stages if d.stage == "prediction")
    assert prediction.kept == ("a", "b") and not prediction.set_aside
    assert "Caveat" in prediction.text and "LOO is unreliable for A." in prediction.text

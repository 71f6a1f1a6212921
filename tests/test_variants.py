"""Model variants: the starting set, variants.toml in and out (every error names variant and key),
fitting them all with one progress."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import hiermod
from hiermod import limits
from hiermod.check_thresholds import default_thresholds
from hiermod.data import ColumnMap, load_data
from hiermod.errors import SpecError
from hiermod.methods import method_info
from hiermod.settings import SamplerSettings
from hiermod.spec import ModelSpec, parse_prior
from hiermod.variants import (Variant, check_variant, fit_variants, load_variants, nice_step, prior_text,
                              robust_likelihood, starting_set, variants_to_toml)
from synthetic import QUICK, simulate


@pytest.fixture(scope="module")
def schools():
    return hiermod.load_dataset("eight_schools")


# ------------------------------------------------------------------------------ starting set


def test_eight_schools_starting_set_is_the_issues_example(schools):
    variants = {v.name: v for v in starting_set(schools)}
    assert list(variants) == ["non-centered", "skeptical", "complete pooling", "robust"]
    weak, skeptical, complete, robust = variants.values()
    assert dict(weak.spec.priors) == {"mu": parse_prior("Normal(0, 20)"), "tau": parse_prior("HalfCauchy(10)")}
    assert weak.spec.parameterization.value == "non_centered" and weak.spec.pooling.value == "partial"
    # the pooled estimate: precision-weighted mean of the eight estimates
    w = 1 / schools.se**2
    pooled = float(np.sum(w * schools.y) / np.sum(w))
    assert dict(skeptical.spec.priors)["mu"].args == (pytest.approx(pooled, abs=0.005), 5.0)
    assert dict(skeptical.spec.priors)["tau"] == parse_prior("HalfNormal(5)")
    assert complete.spec.pooling.value == "complete" and "tau" not in dict(complete.spec.priors)
    # robust: the non-centered variant with a Student-t population (the se are known, so no robust
    # likelihood); its nu_groups keeps the data-scaled default prior
    assert robust.spec == weak.spec.replace(population="student_t")
    assert robust.spec.population.value == "student_t" and robust.spec.likelihood.value == "normal_known_se"
    assert robust.spec.pooling.value == "partial" and robust.spec.parameterization.value == "non_centered"
    assert dict(robust.spec.priors) == {"mu": parse_prior("Normal(0, 20)"), "tau": parse_prior("HalfCauchy(10)")}
    assert "nu_groups" in robust.spec.prior_names() and "nu_groups" not in dict(robust.spec.priors)
    assert all(v.method == "nuts" and v.thresholds == default_thresholds() for v in variants.values())
    # variants key caches: equal variants hash alike
    assert hash(starting_set(schools)[1]) == hash(skeptical) and len(set(variants.values())) == 4


@pytest.mark.parametrize("x, step", [(22, 20), (11, 10), (5.5, 5), (1, 1), (0.99, 0.5), (3.2, 2), (0.021, 0.02)])
def test_nice_step_is_the_largest_1_2_5_number_not_above(x, step):
    assert nice_step(x) == pytest.approx(step)


def test_robust_likelihood_comes_from_the_family_registry():
    assert robust_likelihood("gaussian") == "student_t"
    assert robust_likelihood("poisson") == "negative_binomial"
    assert robust_likelihood("summary") is None  # the se are known: the starting set uses a Student-t population
    assert robust_likelihood("binomial") is None


def _fit_method(data, spec) -> str:
    """The instant method where it serves the model, else NUTS."""
    reason = method_info("instant").unavailable_reason(data.for_groups(spec.groups), spec)
    return "instant" if reason is None else "nuts"


@pytest.mark.parametrize("likelihood", ["normal_known_se", "normal", "binomial", "poisson"])
def test_starting_set_of_each_data_kind_fits_the_data(likelihood):
    data = simulate(likelihood, n_groups=8, rows_per_group=5, seed=3)
    variants = starting_set(data)
    names = [v.name for v in variants]
    expected_robust = robust_likelihood(data.kind)
    robust = {v.name: v for v in variants}.get("robust")
    if expected_robust:
        assert robust.spec.likelihood.value == expected_robust
    elif likelihood == "normal_known_se":   # known se: robustness goes into the population
        assert robust.spec.population.value == "student_t" and robust.spec.likelihood.value == likelihood
    else:
        assert robust is None
    # robust, where the kind has one, comes after complete pooling
    assert names == ["non-centered", "skeptical", "complete pooling"] + (["robust"] if robust else [])
    variants = [dataclasses.replace(v, method=_fit_method(data, v.spec)) for v in variants]
    fits = fit_variants(data, variants, SamplerSettings(**QUICK))
    assert list(fits) == names
    estimates, _, _ = variants[0].spec.family.group_estimates(data)
    for v in variants:
        fit = fits[v.name]
        assert fit.spec == v.spec and fit.method == v.method
        for name, prior in v.spec.priors:
            assert fit.priors[name] == prior
        mu = fit.draws("mu")
        assert np.all(np.isfinite(mu))
        # the population mean lands among the groups' own estimates (link scale)
        assert estimates.min() - 0.5 < float(np.mean(mu)) < estimates.max() + 0.5


def test_starting_set_of_nested_data_puts_tau_priors_on_every_level():
    data = hiermod.load_dataset("simulated_nested")
    weak = starting_set(data)[0]
    assert weak.spec.groups == data.group_columns
    priors = dict(weak.spec.priors)
    assert {k for k in priors if k.startswith("tau")} == {f"tau_{c}" for c in data.group_columns}
    assert len({priors[f"tau_{c}"] for c in data.group_columns}) == 1


# ------------------------------------------------------------------------------- TOML errors


def _error(text: str, data=None) -> str:
    with pytest.raises(SpecError) as info:
        load_variants(text, data)
    return str(info.value)


GOOD = '[[variant]]\nname = "weak"\npriors = { mu = "Normal(0, 20)", tau = "HalfCauchy(10)" }\n'


@pytest.mark.parametrize("body, key", [
    ('name = "a"\nprior = { mu = "Normal(0, 1)" }', "prior"),
    ('name = "a"\npriors = { mu = "Normal(0, 1" }', "priors.mu"),
    ('name = "a"\npriors = { mu = "Wobbly(0, 1)" }', "priors.mu"),
    ('name = "a"\npriors = { mu = 3 }', "priors.mu"),
    ('name = "a"\npriors = { sigma = "HalfNormal(1)" }', "priors.sigma"),
    ('name = "a"\npriors = { tau = "Normal(0, 1)" }', "priors.tau"),
    ('name = "a"\npriors = "Normal(0, 1)"', "priors"),
    ('name = "a"\npooling = "some"', "pooling"),
    ('name = "a"\nparameterization = "sideways"', "parameterization"),
    ('name = "a"\nlikelihood = "normal"', "likelihood"),
    ('name = "a"\nlikelihood = "gaussian_process"', "likelihood"),
    ('name = "a"\npopulation = "beta"', "population"),
    ('name = "a"\nslope_correlation = "maybe"', "slope_correlation"),
    ('name = "a"\ncovariates = ["floor"]', "covariates"),
    ('name = "a"\ngroups = 3', "groups"),
    ('name = "a"\nlevel_parameterizations = ["centered", "centered"]', "level_parameterizations"),
    ('name = "a"\nmethod = "magic"', "method"),
    ('name = "a"\nchecks = { max_rhat = "low" }', "checks"),
    ('name = "a"\nchecks = { max_wobble = 1 }', "checks"),
    ('name = "a"\nchecks = { plausible_range = [10, -10] }', "checks"),
    ('name = "a"\nchecks = 0.5', "checks"),
    ('name = ""', "name"),
    ('name = 7', "name"),
])
def test_every_error_names_the_variant_and_the_key(schools, body, key):
    message = _error(GOOD + "\n[[variant]]\n" + body + "\n", schools)
    named = "variant 2 (no name)" if key == "name" else "variant 'a'"
    assert named in message, message
    assert f"key '{key}'" in message, message


def test_a_variant_without_a_name_is_named_by_its_position(schools):
    message = _error(GOOD + '\n[[variant]]\npooling = "complete"\n', schools)
    assert "variant 2 (no name)" in message and "key 'name'" in message


def test_duplicate_names_are_refused_naming_both(schools):
    message = _error(GOOD + "\n" + GOOD, schools)
    assert "variant 'weak'" in message and "key 'name'" in message and "variant 1" in message


def test_malformed_toml_gives_the_line():
    message = _error(GOOD + '[[variant]]\nname = "b"\npriors = { mu = "Normal(0, 1)" \n')
    assert "not valid TOML" in message and re.search(r"line 6\b", message), message


def test_unknown_top_level_keys_and_empty_files_are_refused():
    assert "top-level key 'name'" in _error('name = "x"\n' + GOOD)
    assert "no variants" in _error("# nothing here\n")
    assert "no variants" in _error("variant = 3\n")


def test_the_number_of_variants_is_limited(schools, monkeypatch):
    monkeypatch.setattr(limits, "MAX_VARIANTS", 3)
    text = "".join(f'[[variant]]\nname = "v{i}"\n' for i in range(4))
    assert "at most 3" in _error(text, schools)
    assert len(load_variants(text.rsplit("[[variant]]", 1)[0], schools)) == 3


def test_without_data_the_likelihood_is_required_and_with_data_it_defaults(schools):
    assert "key 'likelihood'" in _error('[[variant]]\nname = "a"\n')
    (v,) = load_variants('[[variant]]\nname = "a"\n', schools)
    assert v.spec == ModelSpec("normal_known_se")


def test_a_method_that_cannot_serve_the_variant_is_refused_with_the_key():
    data = simulate("normal", n_groups=4, rows_per_group=3)
    message = _error('[[variant]]\nname = "a"\nmethod = "exact"\n', data)
    assert "variant 'a'" in message and "key 'method'" in message
    variant = Variant("b", ModelSpec("normal"), "exact")
    with pytest.raises(SpecError, match="variant 'b', key 'method'"):
        check_variant(variant, data)
    with pytest.raises(SpecError, match="variant 'b', key 'method'"):
        fit_variants(data, [variant], SamplerSettings(**QUICK))


def test_too_few_groups_for_partial_pooling_names_the_pooling_key():
    frame = pd.DataFrame({"g": ["a"], "y": [1.0], "se": [1.0]})
    data = load_data(frame, ColumnMap("g", "y", "summary", se="se"))
    message = _error('[[variant]]\nname = "one"\npooling = "partial"\n', data)
    assert "variant 'one'" in message and "key 'pooling'" in message


# ------------------------------------------------------------------------------- round trip


def test_every_setting_round_trips(tmp_path, schools):
    nested = hiermod.load_dataset("simulated_nested")
    spec = ModelSpec("student_t", "partial", "centered", groups=nested.group_columns,
                     level_parameterizations=("centered", "non_centered"),
                     priors={"mu": "Normal(58.812345678912345, 5.5)", "tau_school": "HalfNormal(3) T(, 40)",
                             "nu": "Gamma(2, 0.1)"})
    thresholds = default_thresholds() | {"max_rhat": 1.02, "plausible_range": (-5.0, 100.0)}
    variants = [Variant("odd \"name\" [x]", spec, "vi", thresholds)] + starting_set(nested)
    text = variants_to_toml(variants)
    assert load_variants(text, nested) == variants
    path = tmp_path / "variants.toml"
    path.write_text(text, encoding="utf-8")
    assert load_variants(path, nested) == variants
    assert load_variants(str(path)) == variants
    assert load_variants(text.encode("utf-8")) == variants
    for data in (schools, simulate("poisson"), simulate("normal", covariate=True)):
        assert load_variants(variants_to_toml(starting_set(data)), data) == starting_set(data)


def test_prior_text_keeps_every_digit():
    for text in ("Normal(7.685616724956035, 5)", "HalfNormal(3) T(, 10)", "Normal(0, 5) T(1, )", "LKJ(2)"):
        prior = parse_prior(text)
        assert parse_prior(prior_text(prior)) == prior
    assert prior_text(parse_prior("Normal(0, 20)")) == "Normal(0, 20)"


def test_a_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_variants(tmp_path / "nope.toml")


# ------------------------------------------------------------------------------------ fitting


def test_fit_variants_one_merged_progress_naming_each_variant_and_done_in_order(schools):
    weak, skeptical, _, _ = starting_set(schools)
    variants = [dataclasses.replace(weak, method="instant"), skeptical]
    seen, finished = [], []
    settings = SamplerSettings(**QUICK)
    fits = fit_variants(schools, variants, settings, progress=seen.append,
                        done=lambda name, fit: finished.append((name, fit.method)))
    assert finished == [("non-centered", "instant"), ("skeptical", "nuts")]
    assert seen and all(p.message.startswith("Fit 2 of 2: skeptical") for p in seen)
    total = 2 * settings.chains * (settings.warmup + settings.draws)
    assert {p.total for p in seen} == {total}
    assert max(p.done for p in seen) <= total and seen[-1].done > total // 2
    # cached fits are taken as they are
    again = fit_variants(schools, variants, settings, cached=fits, done=lambda *a: finished.append(a))
    assert again["skeptical"] is fits["skeptical"] and len(finished) == 2


def test_fit_variants_refuses_duplicates_and_nothing(schools):
    weak = starting_set(schools)[0]
    with pytest.raises(SpecError, match="listed twice"):
        fit_variants(schools, [weak, weak], SamplerSettings(**QUICK))
    with pytest.raises(SpecError, match="at least one"):
        fit_variants(schools, [], SamplerSettings(**QUICK))

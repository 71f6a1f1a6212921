"""ModelSpec and the prior grammar: hashable specs, parsing without eval, clear errors."""

import pytest

from hiermod.errors import PriorError, SpecError
from hiermod.spec import ModelSpec, Prior, parse_prior


@pytest.mark.parametrize(
    "text, expected",
    [
        ("HalfCauchy(5)", Prior("HalfCauchy", (5,))),
        ("half_cauchy( 2.5 )", Prior("HalfCauchy", (2.5,))),
        ("normal(0, 1e1)", Prior("Normal", (0, 10))),
        ("t(3, 0, 2.5)", Prior("StudentT", (3, 0, 2.5))),
        ("HalfStudentT(3, 1)", Prior("HalfStudentT", (3, 1))),
        ("InverseGamma(0.001, 0.001)", Prior("InverseGamma", (0.001, 0.001))),
        ("Uniform(0, 100)", Prior("Uniform", (0, 100))),
    ],
)
def test_parse_prior(text, expected):
    assert parse_prior(text) == expected
    assert parse_prior(str(expected)) == expected  # round trip through text


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("__import__('os').system('id')", "Cannot read"),
        ("eval(1)", "Unknown prior family"),
        ("Normal(0)", "takes 2 argument"),
        ("HalfNormal(-1)", "must be > 0"),
        ("Normal(a, b)", "not a number"),
        ("Normal(0, 1", "Cannot read"),
        ("Uniform(5, 1)", "low < high"),
        ("Normal(0, inf)", "not a number"),
    ],
)
def test_bad_prior_text(text, fragment):
    with pytest.raises(PriorError, match=fragment):
        parse_prior(text)


def test_spec_is_hashable_and_normalised():
    a = ModelSpec("normal_known_se", priors={"tau": "HalfCauchy(5)", "mu": "Normal(0, 5)"})
    b = ModelSpec("normal_known_se", priors=(("mu", parse_prior("Normal(0,5)")), ("tau", Prior("HalfCauchy", (5,)))))
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert ModelSpec.from_dict(a.to_dict()) == a


@pytest.mark.parametrize(
    "pooling, likelihood, names",
    [
        ("partial", "normal_known_se", ("mu", "tau")),
        ("complete", "normal", ("mu", "sigma")),
        ("none", "student_t", ("theta", "sigma", "nu")),
        ("partial", "binomial", ("mu", "tau")),
        ("none", "poisson", ("theta",)),
    ],
)
def test_prior_names(pooling, likelihood, names):
    assert ModelSpec(likelihood, pooling).prior_names() == names


def test_covariate_prior_names():
    spec = ModelSpec("normal", covariates=("floor",), priors={"beta[floor]": "Normal(0, 1)"})
    assert spec.prior_names()[-1] == "beta[floor]"


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(likelihood="gamma"), "Unknown likelihood"),
        (dict(likelihood="normal", pooling="some"), "Unknown pooling"),
        (dict(likelihood="normal", priors={"tau": "HalfNormal(1)"}, pooling="complete"), "no parameter 'tau'"),
        (dict(likelihood="normal", priors={"sigma": "Normal(0, 1)"}), "positive numbers"),
        (dict(likelihood="normal", priors={"mu": "HalfNormal(1)"}), "real line"),
    ],
)
def test_bad_spec(kwargs, fragment):
    with pytest.raises(SpecError, match=fragment):
        ModelSpec(**kwargs)


def test_replace_drops_priors_that_no_longer_apply():
    spec = ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})
    complete = spec.replace(pooling="complete")
    assert dict(complete.priors) == {"mu": Prior("Normal", (0, 5))}
    assert spec.replace(pooling="none").priors == ()
    assert spec.replace(parameterization="centered").parameterization == "centered"


def test_replace_with_new_priors():
    spec = ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})
    assert spec.replace(pooling="complete", priors=()).priors == ()
    swapped = spec.replace(priors={"tau": "HalfNormal(2)"})
    assert dict(swapped.priors) == {"tau": Prior("HalfNormal", (2,))}

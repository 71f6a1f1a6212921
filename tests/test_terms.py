"""Group terms: names, priors and parameterization of one grouping factor."""

from __future__ import annotations

from hiermod.spec import ModelSpec
from hiermod.terms import GroupTerm, Parameterization, Pooling


def test_one_term_keeps_todays_names():
    (term,) = ModelSpec("normal").terms
    assert (term.location, term.scale, term.effect, term.decentered) == ("mu", "tau", "theta", "theta_decentered")
    assert term.prior_names() == ("mu", "tau") and term.scale_names() == ("tau",) and term.non_centered


def test_parameterization_only_matters_under_partial_pooling():
    assert GroupTerm(pooling="complete", parameterization="non_centered").parameterization == Parameterization.CENTERED
    assert GroupTerm(pooling=Pooling.NONE).prior_names() == ("theta",)
    assert not GroupTerm(pooling="partial", parameterization="centered").non_centered


def test_default_priors_scale_with_the_data():
    priors = GroupTerm().default_priors(m=2.0, s=4.0)
    assert str(priors["mu"]) == "Normal(2, 10)" and str(priors["tau"]) == "HalfNormal(4)"


def test_terms_are_hashable_for_caches():
    assert len({GroupTerm(), GroupTerm(), GroupTerm(pooling="none")}) == 2

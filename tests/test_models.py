"""NumPyro model functions: sites, shapes and structure sharing, for every pooling x likelihood."""

import numpy as np
import pytest

from hiermod.models import build_model, model_inputs, prepare, structure_of
from hiermod.priors import resolve_priors
from hiermod.spec import ModelSpec
from synthetic import simulate

LIKELIHOODS = ["normal_known_se", "normal", "student_t", "binomial", "poisson", "negative_binomial"]
STRUCTURES = [("partial", "non_centered"), ("partial", "centered"), ("none", "centered"), ("complete", "centered")]


def _trace(spec, data):
    import jax
    from numpyro.handlers import seed, trace

    model, kwargs, _, _ = prepare(data, spec, aggregate=False)
    return trace(seed(model, jax.random.PRNGKey(0))).get_trace(**kwargs)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("pooling, parameterization", STRUCTURES)
def test_sites_and_shapes(likelihood, pooling, parameterization):
    data = simulate(likelihood, n_groups=5)
    spec = ModelSpec(likelihood, pooling, parameterization)
    tr = _trace(spec, data)
    assert tr["theta"]["value"].shape == (5,)
    assert tr["y"]["value"].shape == (data.n_rows,) and tr["y"]["is_observed"]
    expected = {"none": {"theta"}, "complete": {"mu"}, "partial": {"mu", "tau"}}[pooling]
    sampled = {k for k, v in tr.items() if v["type"] == "sample" and not v["is_observed"]}
    assert expected <= sampled
    if pooling == "partial" and parameterization == "non_centered":
        assert "theta_decentered" in sampled and tr["theta"]["type"] == "deterministic"
    if likelihood in ("normal", "student_t"):
        assert "sigma" in sampled
    assert ("nu" in sampled) == (likelihood == "student_t")
    response = {"binomial": "p", "poisson": "rate"}.get(likelihood)
    if response:
        assert tr[response]["value"].shape == (5,)


def test_covariates_enter_the_linear_predictor():
    data = simulate("normal", covariate=True)
    spec = ModelSpec("normal", covariates=("x",))
    tr = _trace(spec, data)
    assert tr["beta"]["value"].shape == (1,)


def test_same_structure_same_function_for_any_prior_values():
    data = simulate("normal_known_se")
    a = ModelSpec("normal_known_se", priors={"tau": "HalfCauchy(5)"})
    b = ModelSpec("normal_known_se", priors={"tau": "HalfCauchy(1)", "mu": "Normal(3, 2)"})
    sa, sb = (structure_of(s, resolve_priors(data, s)) for s in (a, b))
    assert sa == sb and build_model(sa) is build_model(sb)
    ka, kb = (model_inputs(data, s, resolve_priors(data, s)) for s in (a, b))
    assert float(ka["hyper"]["tau"][0]) == 5.0 and float(kb["hyper"]["tau"][0]) == 1.0
    c = ModelSpec("normal_known_se", priors={"tau": "HalfNormal(5)"})
    assert structure_of(c, resolve_priors(data, c)) != sa  # a new family is a new structure


def test_prior_predictive_when_y_is_none():
    import jax
    from numpyro.infer import Predictive

    data = simulate("binomial")
    model, kwargs, _, _ = prepare(data, ModelSpec("binomial"), aggregate=False)
    kwargs = dict(kwargs, y=None)
    draws = Predictive(model, num_samples=20)(jax.random.PRNGKey(1), **kwargs)["y"]
    assert draws.shape == (20, data.n_rows)
    assert (np.asarray(draws) <= np.asarray(kwargs["trials"])).all()


@pytest.mark.parametrize("likelihood", ["normal", "binomial", "poisson"])
def test_aggregated_likelihood_is_the_same_posterior(likelihood):
    """log p(params | rows) - log p(params | sufficient statistics) is one constant for any params."""
    import jax
    from numpyro.infer import Predictive
    from numpyro.infer.util import log_density

    data = simulate(likelihood, n_groups=5, rows_per_group=7, seed=11)
    spec = ModelSpec(likelihood)
    rows_model, rows_kwargs, _, rows_structure = prepare(data, spec, aggregate=False)
    agg_model, agg_kwargs, _, agg_structure = prepare(data, spec)
    assert agg_structure.aggregated and not rows_structure.aggregated
    assert agg_kwargs["y"].shape == (5,)
    params = Predictive(rows_model, num_samples=6)(jax.random.PRNGKey(2), **dict(rows_kwargs, y=None))
    params = {k: v for k, v in params.items() if k in ("mu", "tau", "theta_decentered", "sigma")}
    diffs = []
    for s in range(6):
        point = {k: v[s] for k, v in params.items()}
        a = log_density(rows_model, (), rows_kwargs, point)[0]
        b = log_density(agg_model, (), agg_kwargs, point)[0]
        diffs.append(float(a - b))
    assert np.ptp(diffs) < 1e-3 * max(1.0, abs(np.mean(diffs)))


@pytest.mark.parametrize("likelihood", ["normal_known_se", "student_t", "binomial", "negative_binomial"])
def test_one_row_per_group_needs_no_gather_and_keeps_the_density(likelihood):
    """One row per group: the linear predictor is theta itself (no gather), the rows in group order;
    the log density equals the gathering model's on the rows as given, at any point."""
    import jax
    from numpyro.infer import Predictive
    from numpyro.infer.util import log_density

    data = simulate(likelihood, n_groups=12, rows_per_group=1, seed=4)
    spec = ModelSpec(likelihood)
    model, kwargs, priors, structure = prepare(data, spec)
    assert structure.rows_are_groups and not structure.aggregated
    assert np.all(np.diff(np.asarray(kwargs["group_idx"])) > 0)
    gathering = build_model(structure_of(spec, priors))
    rows = model_inputs(data, spec, priors)
    draws = Predictive(gathering, num_samples=4)(jax.random.PRNGKey(3), **dict(rows, y=None))
    latent = {k: v for k, v in draws.items() if k in {"mu", "tau", "theta", "theta_decentered", "sigma", "nu", "phi"}}
    for s in range(4):
        point = {k: v[s] for k, v in latent.items()}
        ours = float(log_density(model, (), kwargs, point)[0])
        reference = float(log_density(gathering, (), rows, point)[0])
        assert ours == pytest.approx(reference, rel=1e-5, abs=1e-4)


def test_rows_are_put_in_group_order():
    """``group_order``: every per-row input is permuted by the same stable sort of the group index."""
    import dataclasses

    data = simulate("binomial", n_groups=3, rows_per_group=2, seed=1)
    perm = np.array([3, 0, 5, 1, 4, 2])                                     # rows out of group order
    data = dataclasses.replace(data, group_idx=data.group_idx[perm], y=data.y[perm], trials=data.trials[perm],
                               X=data.X[perm])
    spec = ModelSpec("binomial")
    priors = resolve_priors(data, spec)
    given, ordered = model_inputs(data, spec, priors), model_inputs(data, spec, priors, group_order=True)
    order = np.argsort(np.asarray(data.group_idx), kind="stable")
    np.testing.assert_array_equal(np.asarray(ordered["group_idx"]), [0, 0, 1, 1, 2, 2])
    for key in ("group_idx", "y", "trials"):
        np.testing.assert_array_equal(np.asarray(ordered[key]), np.asarray(given[key])[order])

"""hiermod.live: the light instant Fit and the tables the live figures draw.

References: the full instant Fit (``hiermod.fit(method="instant")``: the same draws, so the same
shrinkage table), and hiermod.exact's grid posterior of tau (BDA3 section 5.4, closed form in mu)
for the density the live panel draws.
"""

from __future__ import annotations

import numpy as np
import pytest

import hiermod
from hiermod.datasets import load_dataset
from hiermod.errors import SpecError
from hiermod.exact import exact_posterior
from hiermod.live import DRAWS, SHOWN_MASS, central, continuum_served, live_fit, live_view
from hiermod.priors import resolve_priors
from hiermod.shrinkage import shrinkage_table
from hiermod.spec import ModelSpec

SCHOOLS_SPEC = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})


@pytest.mark.parametrize("sample,spec", [
    ("eight_schools", SCHOOLS_SPEC),
    ("radon", ModelSpec("normal", "partial")),
    ("rat_tumors", ModelSpec("binomial", "partial", population="beta")),
])
def test_the_live_fit_has_the_full_instant_fits_draws_and_tables(sample, spec):
    data = load_dataset(sample)
    light = live_fit(data, spec)
    full = hiermod.fit(data, spec, method="instant", chains=1, draws=DRAWS, seed=0)
    assert list(light.idata.groups()) == ["posterior"]
    assert light.method == "instant" and light.exact is not None
    for name in full.idata.posterior.data_vars:
        np.testing.assert_allclose(light.draws(name), full.draws(name), rtol=1e-6, atol=1e-6, err_msg=name)
    a, b = shrinkage_table(light, hdi_prob=0.9), shrinkage_table(full, hdi_prob=0.9)
    numeric = [c for c in a.columns if c not in ("group", "parent")]
    np.testing.assert_allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float), rtol=1e-5, atol=1e-6)


def test_the_live_tau_density_is_the_exact_posterior_of_tau():
    data = load_dataset("eight_schools")
    view = live_view(data, SCHOOLS_SPEC)
    [(name, dens, prior)] = view["hyper"]
    assert name == "tau" and list(prior.columns) == ["x", "density"]
    ep = exact_posterior(data, SCHOOLS_SPEC, resolve_priors(data, SCHOOLS_SPEC))
    x, y = dens["tau"].to_numpy(), dens["density"].to_numpy()
    reference = np.interp(x, ep.tau_grid, ep.tau_density)
    inside = x <= ep.tau_grid.max()
    assert np.max(np.abs(y[inside] - reference[inside])) < 0.01 * reference.max()
    assert np.trapezoid(y, x) == pytest.approx(SHOWN_MASS, abs=2e-3)  # the central 99.8% is drawn
    assert float(view["post"].mean("tau")) == pytest.approx(ep.means["tau"], rel=2e-3)
    assert view["continuum"] is not None and set(view["continuum"]["group"]) == set(data.labels)


def test_central_keeps_the_middle_mass():
    import pandas as pd
    from scipy import stats

    x = np.linspace(0, 40, 4001)
    d = pd.DataFrame({"t": x, "density": stats.expon.pdf(x, scale=2.0)})
    c = central(d, "t", 0.99)
    assert c["t"].iloc[0] <= stats.expon.ppf(0.005, scale=2.0) <= c["t"].iloc[1]
    assert c["t"].iloc[-2] <= stats.expon.ppf(0.995, scale=2.0) <= c["t"].iloc[-1]


def test_what_each_model_gets():
    radon = live_view(load_dataset("radon"), ModelSpec("normal", "partial"))
    assert [n for n, _, _ in radon["hyper"]] == ["tau", "sigma"] and radon["continuum"] is not None
    rats = live_view(load_dataset("rat_tumors"), ModelSpec("binomial", "partial", population="beta"))
    assert [n for n, _, _ in rats["hyper"]] == ["alpha", "beta"] and rats["continuum"] is None
    nested = load_dataset("simulated_nested")
    spec = ModelSpec("normal", "partial", groups=("school", "class"))
    view = live_view(nested, spec)
    assert not continuum_served(view["fit"].data, spec, view["post"]) and view["continuum"] is None
    assert {"tau_school", "tau_class"} <= {n for n, _, _ in view["hyper"]}
    none = live_view(load_dataset("eight_schools"), SCHOOLS_SPEC.replace(pooling="none"))
    assert none["hyper"] == [] and none["continuum"] is None and len(none["table"]) == 8


def test_a_model_the_instant_method_cannot_serve_is_refused_with_the_reason():
    with pytest.raises(SpecError):
        live_fit(load_dataset("radon"), ModelSpec("student_t", "partial"))


# ------------------------------------------------------------------------------- figures


def test_hyper_density_plot_draws_posterior_and_prior_with_literal_labels():
    import pandas as pd

    from hiermod.plots.live import hyper_density_plot

    x = np.linspace(0.0, 10.0, 50)
    post = pd.DataFrame({"<b>tau</b>": x, "density": np.exp(-x)})
    prior = pd.DataFrame({"x": x, "density": np.full(50, 0.1)})
    fig = hyper_density_plot(post, prior, "<b>tau</b>", posterior_label="instant posterior (grid + quadrature)",
                             prior_label="HalfNormal(5)", mark=1.0)
    assert [t.name for t in fig.data] == ["instant posterior (grid + quadrature)", "prior HalfNormal(5)"]
    assert "<b>" not in fig.layout.title.text and "&lt;b&gt;" in fig.layout.title.text
    assert fig.layout.xaxis.range[0] == 0.0  # reaches toward 0: the axis shows 0
    far = pd.DataFrame({"sigma": np.linspace(0.7, 0.8, 50), "density": np.ones(50)})
    assert hyper_density_plot(far, None, "sigma").layout.xaxis.range[0] > 0.6  # opens on the posterior


def test_the_live_continuum_is_the_labelled_one_for_few_groups_and_one_trace_for_many():
    from hiermod.continuum import pooling_continuum
    from hiermod.plots import continuum_plot
    from hiermod.plots.live import LABELLED_GROUPS, live_continuum_plot

    few = pooling_continuum(load_dataset("eight_schools"))
    assert live_continuum_plot(few).to_json() == continuum_plot(few).to_json()
    radon = load_dataset("radon")
    many = pooling_continuum(radon)
    assert radon.n_groups > LABELLED_GROUPS
    fig = live_continuum_plot(many, tau_mark=0.3, x_max=1.0)
    [lines] = fig.data
    x = np.asarray(lines.x, float)
    assert np.isnan(x).sum() == radon.n_groups - 1  # one gap between consecutive groups
    assert {str(c) for c in lines.customdata if c} == set(radon.labels)  # hover names each group
    assert tuple(fig.layout.xaxis.range) == (0.0, 1.0)

"""Every results page renders an instant fit of every structure the instant method serves (AppTest).

The instant Fit carries no sampler statistics and holds an InstantPosterior in ``fit.exact``; each
page must read it like any other fit (no exception, no traceback shown)."""

from __future__ import annotations

import pytest

import hiermod
from hiermod.datasets import load_dataset
from hiermod.spec import ModelSpec
from test_results_pages import new_app, with_fits

PAGES = ("pages/3_Fit.py", "pages/4_Shrinkage.py", "pages/5_Funnel_and_diagnostics.py",
         "pages/6_Checks_and_comparison.py", "pages/8_Sensitivity.py")

CASES = {
    "eight schools": ("eight_schools", ModelSpec("normal_known_se")),
    "radon": ("radon", ModelSpec("normal")),
    "nested": ("simulated_nested", ModelSpec("normal", groups=("school", "class"))),
    "slopes": ("simulated_slopes", ModelSpec("normal", slopes=("hours",))),
    "beta population": ("rat_tumors", ModelSpec("binomial", population="beta")),
    "binomial (quadrature)": ("surgical", ModelSpec("binomial")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_results_pages_render_an_instant_fit(case):
    name, spec = CASES[case]
    fit = hiermod.fit(load_dataset(name), spec, method="instant", chains=2, draws=300)
    at = with_fits(new_app(), fit)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        broken = [e.value for e in at.error if "went wrong" in e.value]  # components.show_error's catch-all
        assert not broken, (page, broken)

"""The methods table: what each method returns, availability, the unknown-method error, lightness."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import hiermod
from hiermod.errors import SpecError
from hiermod.methods import METHODS, Method, method_info
from hiermod.spec import ModelSpec
from synthetic import simulate

REPO = Path(__file__).resolve().parent.parent


def test_table_lists_nuts_exact_instant_vi():
    assert list(METHODS) == ["nuts", "exact", "instant", "vi"]
    assert all(isinstance(m, Method) and m.name == name for name, m in METHODS.items())
    nuts, exact, vi = METHODS["nuts"], METHODS["exact"], METHODS["vi"]
    assert nuts.has_sampler_stats and not nuts.exact and not nuts.approximate
    assert exact.exact and not exact.approximate and not exact.has_sampler_stats
    assert vi.approximate and not vi.exact and not vi.has_sampler_stats
    assert "tau" in vi.returns
    instant = METHODS["instant"]
    assert not instant.approximate and not instant.has_sampler_stats and "grid" in instant.returns
    assert hiermod.METHODS is METHODS and hiermod.method_info is method_info


def test_unknown_method_names_the_known_ones():
    with pytest.raises(SpecError, match=r"Unknown method 'laplace'; use 'nuts', 'exact', 'instant' or 'vi'\."):
        method_info("laplace")


def test_exact_availability_reasons():
    summary, rows = simulate("normal_known_se"), simulate("normal")
    exact = method_info("exact")
    assert exact.unavailable_reason(summary, ModelSpec("normal_known_se")) is None
    assert "only the likelihood 'normal_known_se'" in exact.unavailable_reason(rows, ModelSpec("normal"))
    assert method_info("nuts").unavailable_reason(rows, ModelSpec("normal")) is None
    with pytest.raises(SpecError, match="needs NUTS"):
        hiermod.fit(rows, ModelSpec("normal"), method="exact")


def test_fit_knows_its_method():
    result = hiermod.fit(simulate("normal_known_se"), ModelSpec("normal_known_se"), chains=1, draws=100,
                         method="exact")
    assert result.method_info is METHODS["exact"]


def test_methods_module_imports_nothing_heavy():
    code = ("import sys, hiermod.methods\n"
            "print(sorted(m for m in ('jax', 'numpyro', 'scipy', 'pandas', 'arviz') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr

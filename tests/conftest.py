"""Shared, session-scoped fixtures: sample data and fitted models (fitted once per test run).

Fits used only for structure checks run short chains (``QUICK``); fits compared with references
use the full default settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The app precompiles the sample datasets' samplers in the background after its first page; in the
# tests that would only compete with the fits under test (servers started by tests inherit this).
os.environ.setdefault("HIERMOD_PRECOMPILE", "0")


REPO = Path(__file__).resolve().parent.parent
import sys
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import QUICK  # noqa: E402,F401  (re-exported for fixtures)
from shared_paths import NOT_FOUND, SHARED_DATA  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real-browser end-to-end test (Playwright + chromium)")
    from hiermod.compilation import enable_persistent_cache

    enable_persistent_cache()  # JAX's on-disk cache: a second run on the same machine compiles less


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The reference data folder: ``$HIERMOD_SHARED_DATA``, ``../shared/data`` or ``/work/shared/data``."""
    if not SHARED_DATA.is_dir():
        pytest.fail(NOT_FOUND)
    return SHARED_DATA


@pytest.fixture(scope="session")
def eight_schools():
    from hiermod.datasets import load_dataset

    return load_dataset("eight_schools")


@pytest.fixture(scope="session")
def radon():
    from hiermod.datasets import load_dataset

    return load_dataset("radon")


@pytest.fixture(scope="session")
def reference_spec():
    """posteriordb's eight schools model: mu ~ Normal(0, 5), tau ~ HalfCauchy(5), non-centered."""
    from hiermod.spec import ModelSpec

    return ModelSpec("normal_known_se", "partial", "non_centered",
                     priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})


@pytest.fixture(scope="session")
def eight_schools_fit(eight_schools, reference_spec):
    """Full-length NUTS fit of the posteriordb eight schools model (4 x 1000 draws)."""
    from hiermod.fitting import fit

    return fit(eight_schools, reference_spec, seed=0)


@pytest.fixture(scope="session")
def eight_schools_centered_fit(eight_schools, reference_spec):
    """The same model, centered: the funnel makes NUTS diverge."""
    from hiermod.fitting import fit

    return fit(eight_schools, reference_spec.replace(parameterization="centered"), seed=0)


@pytest.fixture(scope="session")
def eight_schools_pooling_fits(eight_schools, reference_spec, eight_schools_fit):
    """No, complete and partial pooling fits of eight schools (partial = the reference fit)."""
    from hiermod.fitting import fit

    fits = {"partial": eight_schools_fit}
    for pooling in ("none", "complete"):
        fits[pooling] = fit(eight_schools, reference_spec.replace(pooling=pooling, priors=()), seed=0)
    return fits

"""hiermod.numpy_pages: importing hiermod turns numpy's huge-page advice off, unless numpy's own
switch or HIERMOD_NUMPY_HUGEPAGES=1 says otherwise (checked in fresh processes)."""

import os
import subprocess
import sys

import pytest

SCRIPT = ("import hiermod\n"
          "try:\n"
          "    from numpy._core.multiarray import _get_madvise_hugepage\n"
          "except ImportError:\n"
          "    from numpy.core.multiarray import _get_madvise_hugepage\n"
          "print(_get_madvise_hugepage())\n")


def _advice_after_import(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("NUMPY_MADVISE_HUGEPAGE", "HIERMOD_NUMPY_HUGEPAGES")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=clean | env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy advises huge pages on Linux only")
def test_importing_hiermod_turns_numpys_huge_page_advice_off():
    assert _advice_after_import() == "False"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy advises huge pages on Linux only")
def test_the_environment_can_keep_numpys_advice():
    assert _advice_after_import(HIERMOD_NUMPY_HUGEPAGES="1") == "True"
    assert _advice_after_import(NUMPY_MADVISE_HUGEPAGE="1") == "True"

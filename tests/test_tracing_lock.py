"""hiermod.tracing_lock.import_heavy_modules: the heavy imports, and what other libraries import
lazily, are complete after one call, in a fresh process (so no thread can later meet one of them
half imported)."""

import subprocess
import sys


def test_import_heavy_modules_imports_the_lazy_modules_up_front():
    script = (
        "import sys\n"
        "from hiermod.tracing_lock import LAZY_IMPORTS, import_heavy_modules\n"
        "assert not any(name in sys.modules for name in LAZY_IMPORTS), 'imported before the call'\n"
        "import_heavy_modules()\n"
        "import dask.array\n"
        "assert hasattr(dask.array, 'Array')\n"
        "for name in ('jax', 'numpyro.infer', 'arviz', 'scipy.special', *LAZY_IMPORTS):\n"
        "    assert name in sys.modules, name\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

"""numpy's huge-page advice, turned off for hiermod's processes (measured: it made every fresh large
array cost about 17x more here).

On Linux numpy advises the kernel to back every array of 4 MB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Where the kernel then compacts memory synchronously at the page fault
(``/sys/kernel/mm/transparent_hugepage/defrag`` = ``madvise``, a common default), each fresh large
array pays for it: on this 2-core VM a multiply that makes a new 160 MB array took 1.3-1.6 s with
the advice and 0.075 s without, and the 2,000-group x 200,000-row fit (whose post-processing makes
arrays of draws x rows) 14.0 -> 6.9 s cold and 8.3 -> 4.3 s warm. hiermod makes such arrays once and
streams through them, where huge pages gain little. ``NUMPY_MADVISE_HUGEPAGE`` (numpy's own switch),
when set, is left to decide; ``HIERMOD_NUMPY_HUGEPAGES=1`` keeps numpy's default.
"""

from __future__ import annotations

import os

__all__ = ["apply"]


def apply() -> bool:
    """Turn numpy's huge-page advice off unless the environment says otherwise; True when turned off."""
    if os.environ.get("NUMPY_MADVISE_HUGEPAGE") is not None or os.environ.get("HIERMOD_NUMPY_HUGEPAGES") == "1":
        return False
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy 1.x
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return False
    _set_madvise_hugepage(False)
    return True

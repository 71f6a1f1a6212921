"""Where the reference data (``shared/data``: datasets, posteriordb draws, the Stan radon run) live.

``$HIERMOD_SHARED_DATA`` if set, else ``shared/data`` beside the checkout (the team's machines), else
``/work/shared/data`` (a clone elsewhere on the same machine, such as CI's clean clone).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_CANDIDATES = [Path(p) for p in (os.environ.get("HIERMOD_SHARED_DATA"),) if p] + [
    REPO.parent / "shared" / "data",
    Path("/work/shared/data"),
]
SHARED_DATA = next((p for p in SHARED_CANDIDATES if p.is_dir()), SHARED_CANDIDATES[0])
NOT_FOUND = ("Reference data not found (looked in " + ", ".join(str(p) for p in SHARED_CANDIDATES)
             + "): set HIERMOD_SHARED_DATA or clone the checkout beside shared/.")

"""Helpers shared by the peers: minimum bulk ESS and a process-tree memory monitor."""

from __future__ import annotations

import os
import resource
import threading
import time

import numpy as np

ESS_VARS = ("mu", "tau", "sigma", "theta")


def min_bulk_ess(draws: dict[str, np.ndarray]) -> tuple[float, str]:
    """Smallest bulk ESS (ArviZ, rank-normalized) over every scalar in ``draws``.

    ``draws`` maps a name to an array shaped (chains, draws, ...). The same parameters are passed
    by every peer: mu, tau, sigma (where the model has it) and every theta_j.
    """
    import arviz as az

    ds = az.convert_to_dataset({k: np.asarray(v, dtype=float) for k, v in draws.items()})
    ess = az.ess(ds, method="bulk")
    worst, where = np.inf, ""
    for name in ess.data_vars:
        values = np.atleast_1d(ess[name].values)
        i = int(np.nanargmin(values))
        if values[i] < worst:
            worst, where = float(values[i]), name if values.size == 1 else f"{name}[{i}]"
    return worst, where


def _tree_rss(proc) -> int:
    total = 0
    try:
        total += proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # child ended between listing and reading
                pass
    except Exception:
        pass
    return total


class Monitor:
    """Peak resident memory of this process and all its descendants, per phase.

    A thread samples the summed RSS of the process tree every ``interval`` s (psutil). ``phase(name)``
    starts a new phase; ``peaks_mb()`` gives each phase's peak minus the baseline taken at start
    (after the peer's imports). Without psutil it falls back to ``getrusage`` peaks (no per phase).
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self.current = "setup"
        try:
            import psutil

            self._proc = psutil.Process(os.getpid())
        except ImportError:
            self._proc = None
        self.baseline = _tree_rss(self._proc) if self._proc else 0
        self._stop = threading.Event()
        self._thread = None
        if self._proc is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = _tree_rss(self._proc)
            self.peaks[self.current] = max(self.peaks.get(self.current, 0), rss)
            time.sleep(self.interval)

    def phase(self, name: str) -> None:
        if self._proc is not None:
            rss = _tree_rss(self._proc)
            self.peaks[self.current] = max(self.peaks.get(self.current, 0), rss)
        self.current = name

    def stop(self) -> dict:
        self.phase("end")
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = {"rss_baseline_mb": self.baseline / 2**20, "ru_maxrss_self_mb": own,
               "ru_maxrss_children_mb": kids, "memory_method": "psutil tree" if self._proc else "getrusage"}
        for name, peak in self.peaks.items():
            if name not in ("setup", "end"):
                out[f"mem_{name}_mb"] = max(peak - self.baseline, 0) / 2**20
        return out


class Stopwatch:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
        return False

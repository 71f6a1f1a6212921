"""Runs that are more than one fit: an instant preview before NUTS, several pooling modes at once.

No Streamlit here: the dashboard submits these as background tasks (``ui/cache.py``,
``ui/comparison.py``), and a notebook or script calls them directly::

    fit = fit_with_preview(data, spec, SamplerSettings(), publish=show)   # show(instant) first
    fits = fit_pooling_modes(data, spec, SamplerSettings(), progress=print)

``progress`` receives :class:`hiermod.jobs.Progress`; ``cancel`` is a ``threading.Event`` (or an
object with ``is_set()``), and a set cancel raises :class:`~hiermod.errors.FitCancelled` within
one chunk of the running NUTS fit; ``publish`` receives a partial result (None: nobody listens).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from .jobs import Progress
from .methods import method_info

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .result import Fit
    from .settings import SamplerSettings
    from .spec import ModelSpec

log = logging.getLogger(__name__)

MODES = ("none", "complete", "partial")
MODE_NAMES = {"none": "no pooling", "complete": "complete pooling", "partial": "partial pooling"}


PREVIEW_METHODS = ("exact", "instant")
"""The methods whose result is shown at once while a slower fit runs: the first that serves the
model (the exact method's result carries the exact tau density the pooling continuum reads)."""


def exact_available(data: "GroupedData", spec: "ModelSpec") -> bool:
    """True when the exact method can serve this model on these data (the method says so)."""
    return method_info("exact").unavailable_reason(data, spec) is None


def preview_method(data: "GroupedData", spec: "ModelSpec") -> str | None:
    """The first of :data:`PREVIEW_METHODS` that serves this model on these data, else None."""
    data = data.for_groups(spec.groups)
    return next((m for m in PREVIEW_METHODS if method_info(m).unavailable_reason(data, spec) is None), None)


def preview_available(data: "GroupedData", spec: "ModelSpec") -> bool:
    """True when a result can be shown at once (:func:`preview_method`)."""
    return preview_method(data, spec) is not None


def run_method(data, spec, settings: "SamplerSettings", method: str, progress=None, cancel=None) -> "Fit":
    """:func:`hiermod.fitting.fit` with ``settings`` and ``method`` (no preview)."""
    from .fitting import fit_with

    return fit_with(data, spec, settings, method, progress=progress, cancel=cancel)


def _preview(data, spec, settings) -> "Fit | None":
    """The exact or instant fit when one of them serves the model, else None; a failure is logged."""
    method = preview_method(data, spec)
    if method is None:
        return None
    try:
        return run_method(data, spec, settings, method)
    except Exception:  # noqa: BLE001 - the preview is a bonus: the main fit still runs
        log.warning("Preview (%s) failed; continuing with the main fit", method, exc_info=True)
        return None


def fit_with_preview(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings", *,
                     method: str = "nuts", progress: Callable[[Progress], None] | None = None,
                     cancel: Any = None, publish: Callable[[Any], None] | None = None) -> "Fit":
    """Fit ``spec`` with ``method`` (NUTS by default; any name of :data:`hiermod.methods.METHODS`);
    when the exact or instant method can serve the model (and ``method`` is not itself computed in
    one step), fit it that way first and ``publish(instant_fit)`` before the main fit starts.

    A failing preview is logged and the main fit still runs.
    """
    if not method_info(method).deterministic:
        preview = _preview(data, spec, settings)
        if preview is not None and publish is not None:
            publish(preview)
    result = run_method(data, spec, settings, method, progress=progress, cancel=cancel)
    log.info("Fit %s/%s (%s) done: %s", spec.likelihood.value, spec.pooling.value, method,
             {k: round(v, 3) for k, v in result.timings.items()})
    return result


def fit_pooling_modes(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings", *,
                      modes: Iterable[str] = MODES, method: str = "nuts",
                      progress: Callable[[Progress], None] | None = None,
                      cancel: Any = None, publish: Callable[[Any], None] | None = None,
                      cached: Mapping[str, "Fit"] | None = None,
                      done: Callable[[str, "Fit"], None] | None = None) -> dict[str, "Fit"]:
    """Fits (``method``, NUTS by default) of ``spec.replace(pooling=m)`` for every mode ``m``:
    {mode: Fit}, in ``modes`` order. Priors that do not apply to a mode (tau under complete pooling,
    mu under no pooling) are dropped and defaults fill the rest.

    Modes in ``cached`` (mode -> Fit) are taken as they are, not fitted. When the instant method can
    serve the model (and ``method`` is not itself computed in one step), ``publish`` first receives
    {mode: cached or instant Fit} so the three can be shown while NUTS runs. ``progress`` receives one merged :class:`Progress` over all the fits
    still to run (iterations done of the total, divergences summed); ``done(mode, fit)`` is called
    as each fit finishes.
    """
    modes = tuple(str(m) for m in modes)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        from .errors import SpecError

        raise SpecError(f"Unknown pooling mode(s) {', '.join(unknown)}; use none, complete, partial.")
    specs = {m: spec.replace(pooling=m) for m in modes}
    fits = {m: f for m, f in (cached or {}).items() if m in specs}
    if (publish is not None and not method_info(method).deterministic
            and all(preview_available(data, s) for s in specs.values())):
        try:  # instant posteriors first: shown while NUTS checks them
            publish({m: fits.get(m) or run_method(data, s, settings, preview_method(data, s)) for m, s in specs.items()})
        except Exception:  # noqa: BLE001 - NUTS still runs
            log.warning("Instant pooling comparison failed; continuing with NUTS", exc_info=True)
    _fit_each(data, specs, settings, method, fits, MODE_NAMES, progress, cancel, done)
    return {m: fits[m] for m in modes}


def _fit_each(data, specs: Mapping[str, "ModelSpec"], settings: "SamplerSettings",
              method: "str | Mapping[str, str]", fits: dict, names: Mapping[str, str], progress=None,
              cancel=None, done=None) -> None:
    """Fit every spec of ``specs`` not in ``fits`` yet (in order) into ``fits``, with ONE merged
    Progress over them all and ``done(name, fit)`` as each finishes. ``method``: one method for
    all, or {name: method}."""
    todo = [m for m in specs if m not in fits]
    per = settings.chains * (settings.most_warmup + settings.draws)
    total = max(per * len(todo), 1)
    t0 = time.time()
    divergences = 0
    for i, mode in enumerate(todo):
        offset = per * i

        def report(p, i=i, mode=mode, offset=offset):
            if progress is None:
                return
            phase = "sampling" if p.phase in ("done", "queued") else p.phase
            if phase == "postprocessing" and i < len(todo) - 1:
                phase = "sampling"
            progress(Progress(phase=phase, done=min(offset + p.done, total), total=total,
                              divergences=divergences + p.divergences, elapsed_s=time.time() - t0,
                              eta_s=None,
                              message=f"Fit {i + 1} of {len(todo)}: {names.get(mode, mode)} ({p.phase})"))

        chosen = method if isinstance(method, str) else method[mode]
        result = run_method(data, specs[mode], settings, chosen, progress=report, cancel=cancel)
        if result.method_info.has_sampler_stats:
            divergences += int(result.idata.sample_stats["diverging"].values.sum())
        fits[mode] = result
        if done is not None:
            done(mode, result)
        log.info("Fits: %s done (%s)", mode, {k: round(v, 3) for k, v in result.timings.items()})


def fit_structures(data: "GroupedData", specs: Mapping[str, "ModelSpec"], settings: "SamplerSettings", *,
                   method: "str | Mapping[str, str]" = "nuts", progress: Callable[[Progress], None] | None = None,
                   cancel: Any = None, cached: Mapping[str, "Fit"] | None = None,
                   done: Callable[[str, "Fit"], None] | None = None) -> dict[str, "Fit"]:
    """Fits of several model structures on the same data: {name: Fit} in ``specs`` order (e.g.
    {"one level": spec.replace(groups=("class",)), "two levels": spec}). Names in ``cached`` are
    taken as they are; ``method`` is one method for all or {name: method} (model variants);
    ``progress`` receives one merged :class:`Progress` over the fits still to run;
    ``done(name, fit)`` is called as each finishes."""
    specs = dict(specs)
    if not specs:
        from .errors import SpecError

        raise SpecError("Give at least one model structure to fit.")
    fits = {m: f for m, f in (cached or {}).items() if m in specs}
    _fit_each(data, specs, settings, method, fits, {}, progress, cancel, done)
    return {m: fits[m] for m in specs}


__all__ = ["MODES", "MODE_NAMES", "exact_available", "fit_with_preview", "run_method", "fit_pooling_modes",
           "fit_structures"]

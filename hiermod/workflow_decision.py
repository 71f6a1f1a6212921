"""The staged decision between model variants: computation, then plausibility, then prediction.

At each stage every variant still in the running is judged by its checks of that stage
(:mod:`hiermod.falsification`; the plausibility stage also holds the shrinkage checks): a variant
with a failing check is set aside, with the failing checks' meanings as the reason, except for
checks whose threshold does not set aside (``Threshold.sets_aside``: Pareto k judges the LOO
estimate, not the model), which are reported as caveats. When every
variant still in the running fails a stage, none can be trusted on that count; those with the
fewest failures go on and the text says so. Last, the survivors are ranked by PSIS-LOO (the table
``az.compare`` returns: index = variant name, columns elpd_loo, elpd_diff, dse): the recommended
variant has the largest elpd_loo, and the others whose elpd_loo is within
:data:`SE_MULTIPLE` standard errors of the difference, or within :data:`SMALL_ELPD_DIFFERENCE`, are
named as indistinguishable from it.
``dse`` is the standard error of each variant's difference from the table's top variant, so the
comparison is exact when that variant survived; otherwise the text says the SEs are missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from .errors import SpecError
from .check_thresholds import THRESHOLDS
from .falsification import FAIL, CheckResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DECISION_STAGES", "SE_MULTIPLE", "SMALL_ELPD_DIFFERENCE", "LOO_COLUMNS", "StageDecision", "decide", "recommended"]

DECISION_STAGES: dict[str, tuple[str, ...]] = {
    "computation": ("computation",),
    "plausibility": ("plausibility", "shrinkage"),
    "prediction": ("prediction",),
}
"""The decision's stages in order, each with the check stages (``Threshold.stage``) it judges."""
SE_MULTIPLE = 2.0
"""Variants whose elpd_loo differs from the best by at most this many SE are indistinguishable."""
SMALL_ELPD_DIFFERENCE = 4.0
"""So are variants whose elpd_loo is within this of the best: below it the difference is small and
its SE unreliable (Sivula, Magnusson & Vehtari 2022; the LOO FAQ's rule of thumb)."""
LOO_COLUMNS = ("elpd_loo", "elpd_diff", "dse")
RECOMMENDATION = "recommendation"


@dataclass(frozen=True)
class StageDecision:
    """One stage: the variants ``kept``, those ``set_aside`` {name: reason}, and ``text`` in plain
    words. The last stage (``stage == "recommendation"``) names the ``recommended`` variant."""

    stage: str
    kept: tuple[str, ...]
    set_aside: dict[str, str] = field(default_factory=dict)
    text: str = ""
    recommended: str | None = None


def _names(names) -> str:
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _stage(stage: str, running: list[str], checks: Mapping[str, list[CheckResult]]) -> StageDecision:
    wanted = DECISION_STAGES[stage]
    results = {name: [r for r in checks[name] if r.stage in wanted] for name in running}
    failed = {name: [r for r in rs if r.status == FAIL and THRESHOLDS[r.key].sets_aside]
              for name, rs in results.items()}
    caveats = {name: [r for r in rs if r.status == FAIL and not THRESHOLDS[r.key].sets_aside]
               for name, rs in results.items()}
    applied = any(r.applies for rs in results.values() for r in rs)
    title = stage.capitalize()
    decision = _judge_stage(stage, title, running, failed, results, applied)
    noted = {n: c for n, c in caveats.items() if c and n in decision.kept}
    if noted:
        text = decision.text + " Caveat (reported, not a reason to set a variant aside): " + " ".join(
            f"{n}: {_reason(c)}" for n, c in noted.items())
        decision = StageDecision(decision.stage, decision.kept, decision.set_aside, text)
    return decision


def _judge_stage(stage: str, title: str, running: list[str], failed: dict, results: dict, applied: bool
                 ) -> StageDecision:
    if not applied:
        why = sorted({r.meaning for rs in results.values() for r in rs})
        return StageDecision(stage, tuple(running), {}, f"{title}: no {stage} check applies to "
                             f"{_names(running)}, so all go on." + (f" {why[0]}" if len(why) == 1 else ""))
    if all(failed[name] for name in running):
        fewest = min(len(failed[name]) for name in running)
        kept = [name for name in running if len(failed[name]) == fewest]
        aside = {name: _reason(failed[name]) for name in running if name not in kept}
        text = (f"{title}: every variant fails at least one {stage} check, so none can be trusted on this "
                f"count. {_names(kept)} {'fails' if len(kept) == 1 else 'fail'} the fewest ({fewest}) and "
                f"{'goes' if len(kept) == 1 else 'go'} on with that caveat: " + " ".join(f"{n}: {_reason(failed[n])}" for n in kept))
        if aside:
            text += " Set aside: " + " ".join(f"{n}: {r}" for n, r in aside.items())
        return StageDecision(stage, tuple(kept), aside, text)
    kept = [name for name in running if not failed[name]]
    aside = {name: _reason(failed[name]) for name in running if failed[name]}
    text = f"{title}: {_names(kept)} {'passes' if len(kept) == 1 else 'pass'} every {stage} check."
    if aside:
        text += " Set aside: " + " ".join(f"{n}: {r}" for n, r in aside.items())
    return StageDecision(stage, tuple(kept), aside, text)


def _reason(failed: list[CheckResult]) -> str:
    return " ".join(f"[{r.title}] {r.meaning}" for r in failed)


def _check_loo(loo) -> None:
    missing = [c for c in LOO_COLUMNS if c not in getattr(loo, "columns", ())]
    if missing:
        raise SpecError(f"The LOO table needs the columns {', '.join(LOO_COLUMNS)} (as az.compare returns "
                        f"them, one row per variant); it lacks {', '.join(missing)}.")


def _recommend(running: list[str], loo) -> StageDecision:
    if loo is None or not any(str(i) in running for i in loo.index):
        if len(running) == 1:
            return StageDecision(RECOMMENDATION, tuple(running), {}, f"Recommended: {running[0]}, the only "
                                 "variant left.", running[0])
        return StageDecision(RECOMMENDATION, tuple(running), {}, (
            f"No LOO values for {_names(running)}: they cannot be ranked by prediction, so none is "
            "recommended over the others."), None)
    _check_loo(loo)
    table = loo.copy()
    table.index = table.index.astype(str)
    scored = [n for n in running if n in table.index]
    unscored = [n for n in running if n not in table.index]
    elpd = table["elpd_loo"].astype(float)
    best = max(scored, key=lambda n: elpd[n])
    top = str(elpd.idxmax())
    kept, aside, notes = [best], {}, []
    for name in scored:
        if name == best:
            continue
        diff = float(elpd[best] - elpd[name])
        se = float(table.loc[name, "dse"]) if best == top else math.nan
        if math.isnan(se):
            notes.append(f"{name} (elpd_loo lower by {diff:.1f}; the SE of this difference is not in the table)")
            kept.append(name)
        elif diff <= SE_MULTIPLE * se or diff < SMALL_ELPD_DIFFERENCE:
            notes.append(f"{name} (lower by {diff:.1f}, SE {se:.1f})")
            kept.append(name)
        else:
            aside[name] = (f"elpd_loo lower than {best}'s by {diff:.1f}, more than {SE_MULTIPLE:g} SE "
                           f"({se:.1f}): it predicts left-out data worse.")
    text = f"Recommended: {best}, the best expected log predictive density (elpd_loo {elpd[best]:.1f}) of " \
           f"the variants left."
    if notes and best == top:
        text += (f" Within {SE_MULTIPLE:g} SE or {SMALL_ELPD_DIFFERENCE:g} of it: {_names(notes)}: the data "
                 "cannot tell these apart by prediction, so prefer the simpler or the one whose assumptions "
                 "you find more plausible.")
    elif notes:
        text += (f" The LOO table's SEs are measured against {top}, which was set aside, so how far "
                 f"{_names(notes)} {'is' if len(notes) == 1 else 'are'} from {best} has no SE here: compare "
                 "the kept variants alone (az.compare) for it.")
    if aside:
        text += " Set aside: " + " ".join(f"{n}: {r}" for n, r in aside.items())
    if unscored:
        text += f" No LOO value for {_names(unscored)}, so {'it was' if len(unscored) == 1 else 'they were'} not ranked."
    return StageDecision(RECOMMENDATION, tuple(kept + unscored), aside, text, best)


def decide(checks_by_variant: Mapping[str, list[CheckResult]], loo: "pd.DataFrame | None" = None
           ) -> list[StageDecision]:
    """The staged decision (module docstring): one :class:`StageDecision` per stage of
    :data:`DECISION_STAGES`, then the recommendation. ``checks_by_variant``: {variant name: its
    :func:`hiermod.falsification.evaluate_checks` results}; ``loo``: the ``az.compare`` table of the
    variants (or None)."""
    if not checks_by_variant:
        raise SpecError("decide needs at least one variant with its checks.")
    checks = {str(k): list(v) for k, v in checks_by_variant.items()}
    if loo is not None:
        _check_loo(loo)
    running = list(checks)
    out = []
    for stage in DECISION_STAGES:
        decision = _stage(stage, running, checks)
        out.append(decision)
        running = list(decision.kept)
    out.append(_recommend(running, loo))
    return out


def recommended(decisions: list[StageDecision]) -> str | None:
    """The recommended variant of a :func:`decide` result (None when none could be ranked)."""
    return decisions[-1].recommended if decisions else None

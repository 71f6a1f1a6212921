"""The modelling workflow's report: fitted variants, their checks and the decision, as JSON and HTML.

:func:`workflow_report` gathers everything into one JSON-able dict: the comparison of the variants
(:func:`hiermod.variant_comparison.comparison_report`), every variant's falsification checks
(:mod:`hiermod.falsification`), the staged decision (:mod:`hiermod.workflow_decision`) and, for
the recommended variant, the group-level questions (ranks, pooling, each group predicted from the
others). :func:`report_html` renders it as one self-contained page: the interactive figures carry
plotly.js inline, so the file opens offline in any browser. Every text that comes from the user's
data (group labels, column names, variant names) is HTML-escaped.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .data import GroupedData
    from .result import Fit
    from .variants import Variant

__all__ = ["workflow_report", "staged_decision", "report_html", "write_report", "loo_for_decision"]

STATUS_STYLE = {"pass": "pass", "fail": "fail", "not applicable": "na"}


def loo_for_decision(loo: "pd.DataFrame") -> "pd.DataFrame | None":
    """The rows of :func:`~hiermod.variant_comparison.loo_across` that were compared, indexed by
    variant (the shape :func:`hiermod.workflow_decision.decide` reads); None when none were."""
    if loo is None or loo.empty or "compared" not in loo:
        return None
    rows = loo[loo["compared"].astype(bool)]
    return None if rows.empty else rows.set_index("variant")


def _focus_variant(fits: Mapping[str, "Fit"], recommended: str | None, kept: Sequence[str]) -> str | None:
    """The variant whose groups the report describes: the recommended one when it pools partially,
    else the first partially pooled variant still kept at the end, else the first of any."""
    partial = [n for n, f in fits.items() if f.spec.pooling.value == "partial"]
    for name in [recommended, *kept, *partial]:
        if name in partial:
            return name
    return None


def _group_questions(fit: "Fit") -> dict:
    """Ranks, pooling and leave-one-group-out of one fit (each None with a note if it cannot apply)."""
    from .errors import HiermodError
    from .group_ranks import rank_table
    from .leave_group_out import leave_group_out
    from .pooling_factor import pooling_summary
    from .variant_comparison import _records

    out: dict = {}
    for key, build in (("ranks", rank_table), ("pooling", pooling_summary), ("leave_group_out", leave_group_out)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = build(fit)
        except HiermodError as err:
            out[key] = {"rows": None, "note": str(err)}
            continue
        out[key] = {"rows": _records(table), "note": str(table.attrs.get("verdict", ""))}
    return out


def staged_decision(variants: Sequence["Variant"], fits: Mapping[str, "Fit"]) -> tuple[dict, list]:
    """({variant: its checks}, the staged decision): every variant's checks against its thresholds,
    then :func:`hiermod.workflow_decision.decide` with the LOO comparison of the variants that passed
    every stage (the stages do not read LOO; the ranking does). One place for the page, the report
    and the CLI."""
    from .falsification import evaluate_checks
    from .variant_comparison import loo_across
    from .workflow_decision import decide

    checks = {v.name: evaluate_checks(fits[v.name], v.overrides(), f"variant '{v.name}'") for v in variants}
    survivors = decide(checks)[-2].kept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = loo_across({name: fits[name] for name in survivors}) if survivors else None
    return checks, decide(checks, loo_for_decision(loo))


def workflow_report(data: "GroupedData", variants: Sequence["Variant"], fits: Mapping[str, "Fit"]) -> dict:
    """The whole workflow as one JSON-able dict: :func:`comparison_report`'s keys plus ``checks``
    {variant: rows of :func:`checks_table`}, ``decision`` (one entry per stage: stage, kept,
    set_aside, text; then the recommendation among the variants that passed every stage, ranked by
    a LOO comparison of those variants alone), ``recommended`` and ``groups`` (the focus variant's
    ranks, pooling and leave-one-group-out tables), ``created`` and ``version``."""
    from . import __version__
    from .falsification import checks_table
    from .variant_comparison import _plain, _records, comparison_report
    from .workflow_decision import recommended

    report = comparison_report(data, variants, fits)
    checks, decisions = staged_decision(variants, fits)
    best = recommended(decisions)
    focus = _focus_variant(fits, best, decisions[-1].kept)
    report.update(_plain({
        "checks": {name: _records(checks_table(results)) for name, results in checks.items()},
        "decision": [{"stage": d.stage, "kept": list(d.kept), "set_aside": dict(d.set_aside), "text": d.text}
                     for d in decisions],
        "recommended": best,
        "groups": {"variant": focus, **(_group_questions(fits[focus]) if focus else {})},
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
    }))
    return report


# ------------------------------------------------------------------------------------------ HTML

_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.7rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.pass { background: #e6f4ea; } td.fail { background: #fde7e7; font-weight: 600; } td.na { color: #777; }
.decision { background: #f7f9fc; border-left: 4px solid #3366aa; padding: .5rem 1rem; margin: .5rem 0; }
.muted { color: #666; font-size: .9rem; }
details { margin: .4rem 0; }
"""


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return _esc(value)


def _table(rows: list[dict] | None, columns: Sequence[str] | None = None, status_column: str | None = None) -> str:
    """An HTML table of JSON rows (every cell escaped); the ``status_column`` cells get a class."""
    if not rows:
        return '<p class="muted">(none)</p>'
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            css = f' class="{STATUS_STYLE.get(row.get(c), "")}"' if c == status_column else ""
            cells.append(f"<td{css}>{_number(row.get(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figures(data, variants, fits, report: dict) -> dict[str, str]:
    """HTML of each interactive figure (plotly.js inline in the first one only)."""
    import pandas as pd

    from .plots.groups import group_rank_plot, leave_group_out_plot
    from .plots.variants import forest_across_plot, loo_across_plot, tau_overlay_plot
    from .variant_comparison import forest_across, loo_across, tau_overlay

    figures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = tau_overlay(fits)
        if not tau.empty:
            figures["tau"] = tau_overlay_plot(tau)
        figures["forest"] = forest_across_plot(forest_across(fits))
        loo = loo_across(fits)
        if loo["compared"].astype(bool).any():
            figures["loo"] = loo_across_plot(loo)
    groups = report.get("groups", {})
    if groups.get("ranks", {}).get("rows"):
        figures["ranks"] = group_rank_plot(pd.DataFrame(groups["ranks"]["rows"]))
    if groups.get("leave_group_out", {}).get("rows"):
        logo = pd.DataFrame(groups["leave_group_out"]["rows"])
        logo.attrs["verdict"] = groups["leave_group_out"]["note"]
        figures["leave_group_out"] = leave_group_out_plot(logo)
    out, first = {}, True
    for key, fig in figures.items():
        out[key] = fig.to_html(full_html=False, include_plotlyjs="inline" if first else False,
                               config={"displaylogo": False})
        first = False
    return out


def report_html(data: "GroupedData", variants: Sequence["Variant"], fits: Mapping[str, "Fit"],
                report: dict | None = None) -> str:
    """One self-contained HTML page of :func:`workflow_report` (computed here when not given)."""
    report = report if report is not None else workflow_report(data, variants, fits)
    figures = _figures(data, variants, fits, report)
    d = report["data"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>hiermod report: {len(report['variants'])} model variants</title><style>{_CSS}</style></head><body>",
        "<h1>Model variants: the workflow report</h1>",
        f"<p class='muted'>hiermod {_esc(report['version'])}, {_esc(report['created'])}. Data: "
        f"{_esc(d['kind'])}, {d['n_groups']} groups, {d['n_rows']} rows (outcome column "
        f"'{_esc(d['columns']['y'])}', groups '{_esc(', '.join(d['columns']['group']))}').</p>",
        "<h2>The decision</h2>",
        "<p>Each variant was judged in stages: computation first (could the sampler be trusted?), then "
        "plausibility (is tau at its boundary, does the prior dominate, is shrinkage ordered by "
        "precision?), then prediction (posterior predictive coverage, PSIS-LOO).</p>",
    ]
    for step in report["decision"]:
        parts.append(f"<div class='decision'>{_esc(step['text'])}</div>")
    parts.append("<h2>The variants</h2>")
    parts.append(_table([{"variant": v["name"], "model": v["description"], "method": v["method_label"],
                          "priors": "; ".join(f"{k} ~ {p}" for k, p in v["priors"].items())}
                         for v in report["variants"]]))
    parts.append("<h2>Falsification checks</h2><p>Stated before fitting; each with its threshold, the "
                 "value measured and what it means.</p>")
    for name, rows in report["checks"].items():
        parts.append(f"<h3>{_esc(name)}</h3>")
        parts.append(_table(rows, ["stage", "check", "status", "value", "threshold", "meaning", "detail",
                                   "suggestion"], status_column="status"))
    parts.append("<h2>The population scale tau</h2><p>Posterior (solid) and prior (dashed) per variant.</p>")
    parts.append(figures.get("tau", "<p class='muted'>No variant has a population scale.</p>"))
    parts.append("<h2>Every group in every variant</h2>" + figures["forest"])
    parts.append("<h2>Prediction</h2><h3>PSIS-LOO</h3>")
    parts.append(figures.get("loo", ""))
    parts.append(_table(report["loo"]["rows"], ["variant", "rank", "elpd_loo", "se", "elpd_diff", "dse",
                                                "p_loo", "warning", "note"]))
    if report["loo"].get("reason"):
        parts.append(f"<p class='muted'>{_esc(report['loo']['reason'])}</p>")
    parts.append(f"<h3>Posterior predictive coverage ({report['ppc_coverage']['prob']:.0%} intervals)</h3>")
    parts.append(_table(report["ppc_coverage"]["rows"]))
    groups = report.get("groups", {})
    if groups.get("variant"):
        parts.append(f"<h2>Exceptional or lucky? The groups of '{_esc(groups['variant'])}'</h2>")
        if groups["variant"] != report["recommended"]:
            parts.append(f"<p class='muted'>'{_esc(report['recommended'])}' does not pool partially, so the "
                         "groups are described by the partially pooled variant that got furthest.</p>")
        parts.append(figures.get("ranks", ""))
        parts.append(_table(groups["ranks"]["rows"], ["group", "rank_median", "rank_low", "rank_high", "p_best",
                                                      "p_worst", "p_above_mean"]) if groups["ranks"]["rows"]
                     else f"<p class='muted'>{_esc(groups['ranks']['note'])}</p>")
        parts.append("<h3>How much each estimate borrows from the others</h3>")
        parts.append(_table(groups["pooling"]["rows"]) if groups["pooling"]["rows"]
                     else f"<p class='muted'>{_esc(groups['pooling']['note'])}</p>")
        parts.append("<h3>Each group predicted from the others</h3>")
        parts.append(f"<p>{_esc(groups['leave_group_out']['note'])}</p>")
        parts.append(figures.get("leave_group_out", ""))
    parts.append("<h2>Parameters of each variant</h2>")
    for name, rows in report["parameters"].items():
        parts.append(f"<details><summary>{_esc(name)}</summary>{_table(rows)}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir: str | Path, data: "GroupedData", variants: Sequence["Variant"],
                 fits: Mapping[str, "Fit"]) -> dict:
    """Write ``out_dir/report.json`` and ``out_dir/report.html``; returns the report dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = workflow_report(data, variants, fits)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                                     encoding="utf-8")
    (out / "report.html").write_text(report_html(data, variants, fits, report), encoding="utf-8")
    return report

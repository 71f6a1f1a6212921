"""Command line: ``python -m hiermod fit | compare | sbc | describe | datasets``.

Bad input (a :class:`~hiermod.errors.HiermodError`, a missing file, a wrong option, a bad
``--prior``) ends with exit status 2 and one line on stderr starting with ``hiermod: error:``.
Anything unexpected ends with exit status 1 and one line (the traceback only when the
environment variable ``HIERMOD_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Sequence

from .errors import HiermodError
from .families import FAMILIES
from .kind_registry import KINDS
from .terms import Parameterization, Pooling, Population, SlopeCorrelation
from .methods import METHODS, method_info
from .settings import DEFAULT_TARGET_ACCEPT, DEFAULT_WARMUP, INSTANT_START_WARMUP, START_CHOICES

PROG = "hiermod"
EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE = 0, 1, 2

_KINDS = tuple(KINDS)
_LIKELIHOODS = tuple(FAMILIES)
_POOLINGS = tuple(p.value for p in Pooling)
_PARAMETERIZATIONS = tuple(p.value for p in Parameterization)
_SLOPE_CORRELATIONS = tuple(c.value for c in SlopeCorrelation)
_POPULATIONS = tuple(p.value for p in Population)


class UsageError(HiermodError):
    """Wrong use of the command line (raised instead of argparse's exit)."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised as :class:`UsageError`."""

    def error(self, message: str):  # noqa: D401 - argparse API
        hint = f" (see '{self.prog} --help')"
        raise UsageError(_one_line(message) + hint)


# ------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Hierarchical Bayesian models for grouped data (NumPyro + ArviZ).",
        epilog="Run 'hiermod COMMAND --help' for the options of a command. "
               "Set HIERMOD_DEBUG=1 to see tracebacks of unexpected errors.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"hiermod {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p_fit = sub.add_parser(
        "fit", help="fit a model to a CSV file and write summary.json and posterior.nc",
        description="Fit a hierarchical model to a CSV file. Writes OUT/summary.json, "
                    "OUT/posterior.nc (ArviZ netCDF), OUT/summary.csv and OUT/reproduce.py.",
    )
    _add_data_arguments(p_fit)
    model = _add_model_arguments(p_fit)
    model.add_argument("--show-model", action="store_true",
                       help="print the model in mathematical notation and stop (no fit, no --out needed)")
    sampler = p_fit.add_argument_group("sampler")
    sampler.add_argument("--method", choices=tuple(METHODS), default="nuts",
                         help="; ".join(f"{m.name}: {m.label}" + (
                             ", an approximation that understates uncertainty" if m.approximate else "")
                             for m in METHODS.values())
                         + " (default: nuts; exact: normal with known se, no covariates)")
    _add_sampler_settings(sampler)
    p_fit.add_argument("--out", metavar="DIR", help="folder for the results (created; required unless --show-model)")
    _add_scheduler_argument(p_fit)
    _add_sbc_parser(sub)
    _add_compare_parser(sub)

    p_desc = sub.add_parser(
        "describe", help="show the column roles (guessed or given) and a per-group table",
        description="Read a CSV file and show which column plays which role and a per-group table.",
    )
    _add_data_arguments(p_desc)

    sub.add_parser("datasets", help="list the sample data sets and their files",
                   description="List the sample data sets that ship with hiermod.")
    return parser


def _add_compare_parser(sub) -> None:
    from .limits import MAX_VARIANTS

    p = sub.add_parser(
        "compare", help="fit several model variants of the same data side by side",
        description="Fit named model variants (variants.toml: one [[variant]] table each, with "
                    "name, likelihood, pooling, parameterization, priors = { mu = \"Normal(0, 20)\" }, "
                    f"checks, method and any other model setting; at most {MAX_VARIANTS}) to one data "
                    "set and compare them: parameter tables, LOO, posterior predictive coverage, "
                    "every group across variants. Without --variants the starting set for the data "
                    "kind is fitted. Writes OUT/report.json and OUT/variants.toml.",
    )
    _add_data_arguments(p)
    p.add_argument("--variants", metavar="FILE.toml",
                   help="the variants to fit (default: the starting set for the data kind)")
    sampler = p.add_argument_group("sampler (every variant)")
    sampler.add_argument("--method", choices=tuple(METHODS), default=None,
                         help="fit every variant with this method (default: each variant's own, nuts "
                              "for the starting set)")
    _add_sampler_settings(sampler)
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the results (created)")
    _add_scheduler_argument(p)


def _add_scheduler_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="run the fit(s) on the Dask cluster whose scheduler is at this address (each item "
                        "of a batch is its own task); default: on this machine")


def _executor(args):
    """A DaskExecutor on ``--scheduler``, or None (fit here)."""
    if not getattr(args, "scheduler", None):
        return None
    from .dask_executor import DaskExecutor

    executor = DaskExecutor(args.scheduler)
    workers = len(executor.client.scheduler_info().get("workers", {}))
    _print(f"cluster: {args.scheduler} ({workers} worker{'s' if workers != 1 else ''})")
    return executor


def _settings(args) -> "SamplerSettings":
    """The NUTS settings the command line gives (:func:`_add_sampler_settings`)."""
    from .settings import SamplerSettings

    return SamplerSettings(args.chains, args.warmup, args.draws, args.seed, args.target_accept, start=args.start)


def _add_sampler_settings(sampler) -> None:
    """The NUTS settings shared by ``fit`` and ``compare``: chains, warmup, draws, seed, target accept."""
    sampler.add_argument("--chains", type=int, default=4, metavar="N", help="default 4")
    sampler.add_argument("--warmup", type=int, default=None, metavar="N",
                         help=f"default {INSTANT_START_WARMUP} when the chains start from the instant "
                              f"posterior, else {DEFAULT_WARMUP}")
    sampler.add_argument("--start", choices=START_CHOICES, default="instant",
                         help="where NUTS chains start: 'instant' (default) = at instant-posterior draws, "
                              "with their mass matrix, when an instant engine serves the model; 'random' = "
                              "NumPyro's random starts, the mass matrix adapted in warmup")
    sampler.add_argument("--draws", type=int, default=1000, metavar="N", help="per chain; default 1000")
    sampler.add_argument("--seed", type=int, default=0, metavar="N", help="default 0")
    sampler.add_argument("--target-accept", type=float, default=DEFAULT_TARGET_ACCEPT, metavar="X",
                         help=f"NUTS target acceptance in [0.5, 1); default {DEFAULT_TARGET_ACCEPT}")


def _add_sbc_parser(sub) -> None:
    from .sbc import DRAW_LIMITS, MAX_REPS, MIN_REPS

    p = sub.add_parser(
        "sbc", help="simulation-based calibration: does the method recover known truth on this design?",
        description="Simulation-based calibration (Talts et al. 2018) on the data's own design: draw "
                    "parameters and a data set from the priors (same groups, sizes, se / trials / "
                    "exposure), fit it, and rank the true values among the posterior draws; a "
                    "calibrated method gives uniform ranks. Prints a verdict and a table; writes "
                    "OUT/ranks.csv, OUT/tests.csv, OUT/summary.json, OUT/rank_histograms.html and "
                    "OUT/ecdf.html.",
    )
    _add_data_arguments(p)
    _add_model_arguments(p)
    run = p.add_argument_group("calibration")
    run.add_argument("--method", choices=("instant", "nuts"), default="instant",
                     help="instant: independent draws of the instant posterior (seconds for 500 "
                          "replications); nuts: a short NUTS fit per replication (slow; default "
                          "instant)")
    run.add_argument("--reps", type=int, default=None, metavar="R",
                     help=f"replications, {MIN_REPS} to {MAX_REPS} (default 500 instant, 100 nuts)")
    run.add_argument("--draws", type=int, default=None, metavar="L",
                     help=f"posterior draws per replication: ranks take L + 1 values, {DRAW_LIMITS[0]} "
                          f"to {DRAW_LIMITS[1]} (default 199 instant, 99 nuts)")
    run.add_argument("--seed", type=int, default=0, metavar="N", help="default 0")
    run.add_argument("--warmup", type=int, default=500, metavar="N", help="nuts: warmup per fit; default 500")
    run.add_argument("--thin", type=int, default=10, metavar="N",
                     help="nuts: keep every N-th draw (L x N draws per fit); default 10")
    run.add_argument("--chains", type=int, default=1, metavar="N", help="nuts: chains per fit; default 1")
    run.add_argument("--tasks", type=int, default=None, metavar="N",
                     help="with --scheduler: split the replications into N tasks (default: up to 8, "
                          "at least 10 replications each)")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the results (created)")
    _add_scheduler_argument(p)


def _add_model_arguments(p: argparse.ArgumentParser):
    """The model flags shared by ``fit`` and ``sbc``; returns their argument group."""
    model = p.add_argument_group("model")
    model.add_argument("--likelihood", choices=_LIKELIHOODS,
                       help="observation model (default: the usual one for the data kind)")
    model.add_argument("--pooling", choices=_POOLINGS, default="partial",
                       help="how groups share information (default: partial)")
    model.add_argument("--parameterization", type=_parameterizations, default=("non_centered",),
                       metavar="{" + ",".join(_PARAMETERIZATIONS) + "}",
                       help="partial pooling as theta ~ Normal(mu, tau) or mu + tau*z (default: "
                            "non_centered); one per --group, comma-separated, e.g. centered,non_centered")
    model.add_argument("--slope", action="append", default=[], metavar="COL",
                       help="a row-level covariate whose effect varies by the innermost group (repeatable)")
    model.add_argument("--slope-correlation", choices=_SLOPE_CORRELATIONS, default="lkj",
                       help="intercept/slope correlation: an LKJ prior (default) or none (independent)")
    model.add_argument("--population", choices=_POPULATIONS, default="normal",
                       help="distribution of the group values: normal (default; on the link scale), "
                            "student_t (robust, on the link scale: theta_j ~ StudentT(nu_groups, mu, tau); one level, "
                            "partial pooling), beta (binomial: p_j ~ Beta(alpha, beta)) or gamma (poisson: "
                            "rate_j ~ Gamma(alpha, beta))")
    model.add_argument("--prior", action="append", default=[], metavar="NAME=Family(args)",
                       help="a prior, e.g. --prior 'tau=HalfCauchy(5)' (repeatable; others get "
                            "data-scaled defaults)")
    return model


def _add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA.csv",
                   help="CSV file (comma, semicolon or tab separated), or a sample data set name")
    cols = p.add_argument_group("columns (guessed when --group/--y are not given)")
    cols.add_argument("--group", action="append", default=[], metavar="COL",
                      help="column with the group labels; repeat for nested groups, outermost first "
                           "(--group school --group class), up to 3")
    cols.add_argument("--y", metavar="COL", help="outcome column")
    roles = cols.add_mutually_exclusive_group()
    roles.add_argument("--se", metavar="COL", help="standard errors of y (summary data)")
    roles.add_argument("--trials", metavar="COL", help="number of trials (binomial data)")
    roles.add_argument("--exposure", metavar="COL", help="exposure (poisson data)")
    cols.add_argument("--covariate", action="append", default=[], metavar="COL",
                      help="numeric covariate column (repeatable)")
    cols.add_argument("--kind", choices=_KINDS,
                      help="what a row holds (default: from --se/--trials/--exposure, else guessed)")


# ------------------------------------------------------------------------------- column roles


def _resolve_source(data_arg: str):
    """(path, registered ColumnMap or None): a file path, or a sample data set's file."""
    path = Path(data_arg)
    if path.is_file():
        return path, None
    from . import datasets

    if data_arg.strip().lower() in datasets.dataset_names():
        info = datasets.dataset_info(data_arg)
        return datasets.dataset_path(info.name), info.columns
    if path.exists():
        raise UsageError(f"{data_arg!r} is not a file.")
    raise UsageError(
        f"File not found: {data_arg!r}. Give a CSV file, or a sample data set name "
        f"({', '.join(datasets.dataset_names())})."
    )


def column_map(args, frame, registered=None):
    """(ColumnMap, notes): the roles given on the command line, the rest guessed."""
    from .data import ColumnMap, DataKind, guess_columns
    from .kind_registry import ROLES, owner_of

    notes: list[str] = []
    if args.group and args.y:
        base = None
    elif registered is not None and not (args.group or args.y):
        base = registered
        notes.append("using the sample data set's column roles")
    else:
        base = guess_columns(frame)
    groups = tuple(args.group) or base.group_columns
    group = groups[-1]
    y = args.y or base.y
    if not args.group:
        notes.append(f"guessed group column {group!r}")
    if not args.y:
        notes.append(f"guessed outcome column {y!r}")
    se, trials, exposure = args.se, args.trials, args.exposure
    if args.kind:
        kind = DataKind(args.kind)
    elif se:
        kind = DataKind.SUMMARY
    elif trials:
        kind = DataKind.BINOMIAL
    elif exposure:
        kind = DataKind.POISSON
    else:
        guess = base if base is not None and base.y == y else None
        if guess is None:
            try:
                guess = guess_columns(frame)
            except HiermodError:
                guess = None
        if guess is not None and guess.y == y and guess.group in groups:
            kind = guess.kind
            se, trials, exposure = guess.se, guess.trials, guess.exposure
            extra = ", ".join(f"{r} column {c!r}" for r, c in
                              (("se", se), ("trials", trials), ("exposure", exposure)) if c)
            notes.append(f"guessed data kind {kind.value!r}" + (f" with {extra}" if extra else ""))
        else:
            kind = DataKind.GAUSSIAN
            notes.append("no --se/--trials/--exposure/--kind given: treating rows as gaussian observations")
    for role in ROLES:
        owner = owner_of(role)
        if getattr(args, role) and owner.name != kind.value:
            raise UsageError(f"--{role} is for {owner.name} data, but --kind is {kind.value}.")
    covariates = tuple(args.covariate)
    covariates += tuple(x for x in getattr(args, "slope", ()) if x not in covariates)
    return ColumnMap(group=group, y=y, kind=kind, se=se, trials=trials, exposure=exposure,
                     covariates=covariates, outer_groups=groups[:-1]), notes


def _load(args):
    from .data import load_data, read_table

    path, registered = _resolve_source(args.data)
    frame = read_table(path)
    columns, notes = column_map(args, frame, registered)
    data = load_data(path, columns)
    return path, data, notes


def _describe_columns(columns) -> str:
    groups = " > ".join(repr(g) for g in columns.group_columns)
    roles = [f"group={groups}", f"y={columns.y!r}", f"kind={columns.kind.value}"]
    for role in ("se", "trials", "exposure"):
        value = getattr(columns, role)
        if value:
            roles.append(f"{role}={value!r}")
    if columns.covariates:
        roles.append("covariates=" + ", ".join(repr(c) for c in columns.covariates))
    return " ".join(roles)


def _parameterizations(text: str) -> tuple[str, ...]:
    """``centered`` or ``centered,non_centered`` (one per grouping column)."""
    values = tuple(v.strip() for v in str(text).split(","))
    bad = [v for v in values if v not in _PARAMETERIZATIONS]
    if bad:
        raise argparse.ArgumentTypeError(f"invalid choice: {bad[0]!r} (choose from "
                                         f"{', '.join(_PARAMETERIZATIONS)}, comma-separated per --group)")
    return values


def model_spec(args, data, likelihood, priors):
    """The ModelSpec the command line asks for: one level, or every --group nested."""
    from .spec import ModelSpec

    groups = data.group_columns if len(data.group_columns) > 1 else ()
    levels = args.parameterization
    n_levels = max(1, len(groups))
    if len(levels) not in (1, n_levels):
        raise UsageError(f"--parameterization has {len(levels)} values; give one, or one per --group ({n_levels}).")
    return ModelSpec(likelihood, args.pooling, levels[0], priors=priors,
                     covariates=tuple(c for c in data.covariate_names if c not in args.slope),
                     groups=groups, level_parameterizations=levels if len(levels) > 1 else (),
                     slopes=tuple(args.slope), slope_correlation=args.slope_correlation,
                     population=args.population)


def parse_priors(texts: Sequence[str]) -> dict:
    """``["tau=HalfCauchy(5)", ...]`` -> {"tau": Prior}; raises PriorError on bad text."""
    from .errors import PriorError
    from .spec import parse_prior

    out = {}
    for text in texts:
        name, sep, body = str(text).partition("=")
        name = name.strip()
        if not sep or not name or not body.strip():
            raise PriorError(
                f"Cannot read --prior {text!r}: write NAME=Family(args), e.g. --prior 'tau=HalfCauchy(5)'."
            )
        out[name] = parse_prior(body)
    return out


# ------------------------------------------------------------------------------------ commands


def _print(text: str = "") -> None:
    print(text, flush=True)


def _table_text(frame, max_rows: int = 30) -> str:
    import pandas as pd

    with pd.option_context("display.width", 120, "display.max_columns", 20,
                           "display.max_rows", max_rows + 10, "display.max_colwidth", 40):
        shown = frame.head(max_rows)
        text = shown.to_string()
    if len(frame) > max_rows:
        text += f"\n... ({len(frame) - max_rows} more rows)"
    return text


def cmd_fit(args) -> int:
    from .spec import ModelSpec, default_likelihood

    priors = parse_priors(args.prior)  # before reading anything: bad prior text fails fast
    if not args.out and not args.show_model:
        raise UsageError("the following arguments are required: --out (or --show-model to print the model only)")
    out_dir = Path(args.out or ".")
    if args.out and out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a folder.")
    path, data, notes = _load(args)
    for note in notes:
        _print(f"note: {note}")
    for line in data.report:
        _print(f"data: {line}")
    likelihood = args.likelihood or default_likelihood(data.kind)
    spec = model_spec(args, data, likelihood, priors)
    if args.show_model:
        from .model_math import model_text
        from .priors import resolve_priors

        _print(model_text(spec, resolve_priors(data, spec), data))
        return EXIT_OK
    _print(f"data: {path} ({data.tree_text()}; {_describe_columns(data.columns)})")
    info = method_info(args.method)
    if args.method == "exact":
        what = "exact posterior"
    elif args.method == "nuts":
        what = f"NUTS, {_settings(args).describe()}"
    else:
        what = f"{info.label}, {args.chains} x {args.draws} draws"
    _print(f"model: {spec.describe()}; {what}")
    if info.approximate:
        _print(f"warning: --method {info.name} gives an approximation, not the posterior, and it "
               "understates uncertainty (most for tau, the spread between groups): intervals come "
               "out too narrow. Refit with --method nuts before trusting them.")

    from .export import reproduction_script, summary_csv, summary_dict, write_netcdf
    from .compilation import enable_persistent_cache
    from .fitting import fit

    if args.method != "exact":
        enable_persistent_cache()  # a repeated command-line fit of the same structure compiles less

    executor = _executor(args)
    if executor is None:
        result = fit(data, spec, chains=args.chains, warmup=args.warmup, draws=args.draws,
                     seed=args.seed, target_accept=args.target_accept, method=args.method, start=args.start)
    else:
        from .batch import map_fits
        from .settings import SamplerSettings

        settings = _settings(args)
        try:
            result = map_fits(executor, data, {"fit": spec}, settings, args.method)["fit"]
        finally:
            executor.shutdown(wait=False, cancel=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summary_dict(result)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False,
                                                     allow_nan=False) + "\n", encoding="utf-8")
    write_netcdf(result, out_dir / "posterior.nc")
    (out_dir / "summary.csv").write_text(summary_csv(result), encoding="utf-8")
    (out_dir / "reproduce.py").write_text(
        reproduction_script(result, str(Path(path).resolve()), "hiermod"), encoding="utf-8")

    _print("priors: " + ", ".join(f"{k} ~ {v}" for k, v in result.priors.items()))
    _print()
    _print_summary(summary)
    _print()
    _print(f"wrote {out_dir / 'summary.json'}, {out_dir / 'posterior.nc'}, "
           f"{out_dir / 'summary.csv'}, {out_dir / 'reproduce.py'}")
    return EXIT_OK


def _print_summary(summary: dict) -> None:
    import pandas as pd

    params = pd.DataFrame(summary["parameters"]).T
    cols = [c for c in ("mean", "sd", "hdi_low", "hdi_high", "ess_bulk", "r_hat") if c in params]
    table = params[cols].apply(pd.to_numeric, errors="coerce")
    table = table.rename(columns={"hdi_low": "hdi_3%", "hdi_high": "hdi_97%"})
    _print(_table_text(table.round({"mean": 2, "sd": 2, "hdi_3%": 2, "hdi_97%": 2,
                                    "ess_bulk": 0, "r_hat": 3}), max_rows=25))
    _print()
    diag = summary.get("diagnostics", {})
    for v in diag.get("verdicts", []):
        line = f"[{str(v.get('level', '')).upper()}] {v.get('topic', '')}: {v.get('message', '')}"
        if v.get("advice"):
            line += f" {v['advice']}"
        _print(_one_line(line))
    timings = summary.get("timings", {})
    if timings.get("total_s") is not None:
        _print(f"time: {timings['total_s']:.1f} s")


def cmd_describe(args) -> int:
    path, data, notes = _load(args)
    for note in notes:
        _print(f"note: {note}")
    _print(f"file: {path}")
    _print(f"columns: {_describe_columns(data.columns)}")
    _print(f"{data.n_rows} rows, {data.n_groups} groups")
    from .spec import default_likelihood

    _print(f"usual likelihood: {default_likelihood(data.kind).value}")
    for line in data.report:
        _print(f"data: {line}")
    _print()
    _print(_table_text(data.group_summary().round(4), max_rows=50))
    return EXIT_OK


def cmd_datasets(args) -> int:
    from .datasets import list_datasets

    infos = list_datasets()
    width = max(len(i.name) for i in infos)
    _print(f"{'name':<{width}}  groups   rows  title")
    for info in infos:
        _print(f"{info.name:<{width}}  {info.n_groups:>6} {info.n_rows:>6}  {info.title}")
    _print()
    for info in infos:
        _print(f"{info.name:<{width}}  {info.path}")
    return EXIT_OK


def cmd_sbc(args) -> int:
    from .spec import default_likelihood

    priors = parse_priors(args.prior)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a folder.")
    instant = args.method == "instant"
    reps = args.reps if args.reps is not None else (500 if instant else 100)
    draws = args.draws if args.draws is not None else (199 if instant else 99)
    path, data, notes = _load(args)
    for note in notes:
        _print(f"note: {note}")
    spec = model_spec(args, data, args.likelihood or default_likelihood(data.kind), priors)
    _print(f"data: {path} ({data.tree_text()}; {_describe_columns(data.columns)})")
    how = ("instant posterior" if instant else
           f"NUTS, {args.chains} chain(s) x ({args.warmup} warmup + {draws} x {args.thin} draws, every "
           f"{args.thin}th kept)")
    _print(f"model: {spec.describe()}; SBC with {how}: {reps} replications, L = {draws}")

    from .sbc import run_sbc

    def progress(p) -> None:
        step = max(1, reps // 10)
        rep = int(p.message.split()[1]) if p.message.startswith("Replication ") else 0
        if rep and (rep % step == 0) and rep != progress.last:
            progress.last = rep
            _print(f"  replication {rep} of {reps} ({p.elapsed_s:.0f} s)")

    progress.last = 0
    if not instant:
        from .compilation import enable_persistent_cache

        enable_persistent_cache()
    options = dict(warmup=args.warmup, thin=args.thin, chains=args.chains)
    executor = _executor(args)
    if executor is None:
        if args.tasks is not None:
            raise UsageError("--tasks splits the replications over a cluster: give --scheduler too.")
        result = run_sbc(data, spec, reps=reps, draws=draws, method=args.method, seed=args.seed,
                         progress=None if instant else progress, **options)
    else:
        from .batch import sbc_replicates

        try:
            result = sbc_replicates(executor, data, spec, reps=reps, draws=draws, method=args.method,
                                    seed=args.seed, tasks=args.tasks, **options)
        finally:
            executor.shutdown(wait=False, cancel=True)
    _write_sbc(result, out_dir)
    _print("priors: " + ", ".join(f"{k} ~ {v}" for k, v in result.spec.priors))
    _print()
    table = result.tests[["ecdf_p", "chi2_p", "mean_rank", "flagged"]].copy()
    table["shape"] = result.tests["shape"]
    _print(_table_text(table.round({"ecdf_p": 4, "chi2_p": 4, "mean_rank": 3}), max_rows=40))
    _print()
    _print(f"[{result.verdict.level.upper()}] {result.verdict.headline} {result.verdict.message}")
    _print(f"time: {result.seconds:.1f} s for {result.R} replications")
    _print(f"wrote {out_dir / 'ranks.csv'}, {out_dir / 'tests.csv'}, {out_dir / 'summary.json'}, "
           f"{out_dir / 'rank_histograms.html'}, {out_dir / 'ecdf.html'}")
    return EXIT_OK


def _write_sbc(result, out_dir: Path) -> None:
    from .export import figure_html
    from .plots.sbc import ecdf_difference_plot, rank_histogram_plot

    out_dir.mkdir(parents=True, exist_ok=True)
    result.ranks.to_csv(out_dir / "ranks.csv", lineterminator="\n")
    result.tests.to_csv(out_dir / "tests.csv", lineterminator="\n")
    (out_dir / "summary.json").write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False,
                                                     allow_nan=False) + "\n", encoding="utf-8")
    shown = dict(params=result.shown_parameters(), subtitles=result.panel_notes(), flagged=result.verdict.flagged)
    (out_dir / "rank_histograms.html").write_text(
        figure_html(rank_histogram_plot(result.histogram_table(), **shown)), encoding="utf-8")
    (out_dir / "ecdf.html").write_text(figure_html(ecdf_difference_plot(result.ecdf_table(), **shown)),
                                       encoding="utf-8")


def cmd_compare(args) -> int:
    import dataclasses

    from .settings import SamplerSettings
    from .variants import fit_variants, load_variants, starting_set, variants_to_toml

    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a folder.")
    settings = _settings(args)
    if args.variants and not Path(args.variants).is_file():
        raise UsageError(f"--variants: file not found: {args.variants!r}.")
    path, data, notes = _load(args)
    for note in notes:
        _print(f"note: {note}")
    for line in data.report:
        _print(f"data: {line}")
    _print(f"data: {path} ({data.tree_text()}; {_describe_columns(data.columns)})")
    if args.variants:
        variants = load_variants(Path(args.variants), data)
        _print(f"variants: {len(variants)} from {args.variants}")
    else:
        variants = starting_set(data)
        _print(f"variants: no --variants given, fitting the starting set for {data.kind.value} data "
               f"({', '.join(v.name for v in variants)})")
    if args.method:
        variants = [dataclasses.replace(v, method=args.method) for v in variants]
        from .variants import check_variant

        for position, v in enumerate(variants, start=1):
            check_variant(v, data, position)
    for v in variants:
        _print(f"  {v.name}: {v.spec.describe()}; {method_info(v.method).label}"
               + ("".join(f"; {k} ~ {p}" for k, p in v.spec.priors)))
    if any(method_info(v.method).approximate for v in variants):
        _print("warning: an approximate method understates uncertainty (most for tau); refit with nuts "
               "before trusting those intervals.")
    if any(not method_info(v.method).deterministic for v in variants):
        from .compilation import enable_persistent_cache

        enable_persistent_cache()

    def done(name, fit) -> None:
        _print(f"  fitted {name} ({fit.timings.get('total_s', float('nan')):.1f} s)")

    executor = _executor(args)
    if executor is None:
        fits = fit_variants(data, variants, settings, done=done)
    else:
        from .batch import variant_fits

        try:
            fits = variant_fits(executor, data, variants, settings, done=done)
        finally:
            executor.shutdown(wait=False, cancel=True)
    from .report import write_report

    report = write_report(out_dir, data, variants, fits)
    (out_dir / "variants.toml").write_text(variants_to_toml(variants), encoding="utf-8")
    _print()
    _print_comparison(report)
    _print()
    _print(f"wrote {out_dir / 'report.json'}, {out_dir / 'report.html'}, {out_dir / 'variants.toml'}")
    return EXIT_OK


def _print_comparison(report: dict) -> None:
    import pandas as pd

    loo = pd.DataFrame(report["loo"]["rows"]).set_index("variant")
    cols = ["rank", "elpd_loo", "se", "elpd_diff", "dse", "n_bad_pareto_k"]
    _print("LOO (higher elpd predicts better; dse: standard error of the difference from the best):")
    _print(_table_text(loo[cols].apply(pd.to_numeric, errors="coerce").round(2)))
    for row in report["loo"]["rows"]:
        if row.get("warning"):
            _print(_one_line(f"  {row['variant']}: {row['warning']}"))
    if report["loo"].get("reason"):
        _print(_one_line(f"  {report['loo']['reason']}"))
    _print()
    prob = report["ppc_coverage"]["prob"]
    _print(f"Posterior predictive coverage (share of observed values inside their {100 * prob:.0f}% interval):")
    cov = pd.DataFrame(report["ppc_coverage"]["rows"]).set_index("variant")
    _print(_table_text(cov[["n_observations", "n_inside", "coverage", "group_coverage"]].round(3)))
    _print()
    tau = report["tau"]["per_variant"]
    for name, scales in tau.items():
        for p, s in scales.items():
            _print(f"{name}: {p} median {s['median']:.3g}, {100 * report['tau']['hdi_prob']:.0f}% HDI "
                   f"[{s['hdi_low']:.3g}, {s['hdi_high']:.3g}]")
    for name in report["tau"]["without_tau"]:
        _print(f"{name}: no tau (no spread between groups is modelled)")
    _print()
    _print("Falsification checks (fail: the measured value crosses the variant's threshold):")
    for name, rows in report["checks"].items():
        failed = [r for r in rows if r["status"] == "fail"]
        summary = ", ".join(f"{r['check']} ({r['value']:.3g})" for r in failed) if failed else "all pass"
        _print(_one_line(f"  {name}: {summary}"))
    _print()
    _print("Decision:")
    for step in report["decision"]:
        _print(_one_line(f"  {step['stage']}: {step['text']}"))


COMMANDS = {"fit": cmd_fit, "describe": cmd_describe, "datasets": cmd_datasets, "sbc": cmd_sbc,
            "compare": cmd_compare}


# --------------------------------------------------------------------------------------- main


def _fail(message: str, code: int) -> int:
    sys.stdout.flush()
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr, flush=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises, except SystemExit from --help)."""
    debug = os.environ.get("HIERMOD_DEBUG", "") not in ("", "0")
    with warnings.catch_warnings():
        if not debug:  # numpy/pandas/arviz warnings (e.g. overflow rounding 1e308) are noise here
            warnings.simplefilter("ignore")
        return _main(argv, debug)


def _main(argv: Sequence[str] | None, debug: bool) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_UNEXPECTED
    except (HiermodError, OSError) as exc:
        if debug:
            traceback.print_exc()
        text = str(exc) if isinstance(exc, HiermodError) else f"{exc.strerror or exc}" + (
            f": {exc.filename!r}" if getattr(exc, "filename", None) else "")
        return _fail(text or type(exc).__name__, EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (set HIERMOD_DEBUG=1 to see the traceback)"
        return _fail(f"unexpected {type(exc).__name__}: {exc}{hint}", EXIT_UNEXPECTED)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Which instant engine serves a model: one function per engine, ``(data, spec) -> reason or None``.

They read the model description (terms, family attributes), never a likelihood's name.
"""

from __future__ import annotations

from ..spec import Pooling

__all__ = ["known_se", "student_t_known_se", "conjugate", "group_quadrature", "latent", "normal_population",
           "MAX_GRID_DIMENSIONS"]

MAX_GRID_DIMENSIONS = 4
"""Most hyperparameters the grid integrates (tau per level, slope sds, a correlation, sigma / phi)."""


def normal_population(data, spec) -> str | None:
    """``known_se``, ``group_quadrature`` and ``latent`` integrate a normal population of effects; a
    Student-t one (``nu_groups``) is served by ``student_t_known_se`` for summary data only (and its
    limits are the reason given when those are the obstacle)."""
    if spec.row_term.robust:
        return _student_t_limits(data, spec) or (
            "The instant method serves a Student-t population (population='student_t') only for "
            "summary data (an estimate and its standard error per group) without covariates; this "
            "model needs NUTS (method 'nuts'), or population='normal' for an instant posterior.")
    return None


def student_t_known_se(data, spec) -> str | None:
    if not spec.row_term.robust:
        return "not a Student-t population"
    if not spec.family.normal_known_se or data.se is None or not _one_level_plain(spec):
        return normal_population(data, spec)
    return _student_t_limits(data, spec)


def _student_t_limits(data, spec) -> str | None:
    """Why ``student_t_known_se`` cannot serve summary data it otherwise fits (None: it can, or the
    data are not summary data without covariates)."""
    import numpy as np

    from .student_t_known_se import MAX_GROUPS

    if not spec.family.normal_known_se or data.se is None or not _one_level_plain(spec):
        return None
    if data.n_groups > MAX_GROUPS:
        return (f"The instant method serves a Student-t population for at most {MAX_GROUPS} groups (its "
                f"three-hyperparameter grid grows with every group; these data have {data.n_groups}): "
                "use NUTS (method 'nuts'), or population='normal' for an instant posterior.")
    return None if np.all(np.asarray(data.se) > 0) else "The instant method needs every standard error to be > 0."


def _one_level_plain(spec) -> bool:
    return not spec.covariates and not spec.nested and not spec.row_term.slopes


def known_se(data, spec) -> str | None:
    if (reason := normal_population(data, spec)) is not None:
        return reason
    if not spec.family.normal_known_se:
        return "not the normal model with known standard errors"
    if not _one_level_plain(spec):
        return "covariates, nested levels or slopes (the latent engine serves them)"
    from ..exact import unavailable_reason

    return unavailable_reason(data, spec)


def conjugate(data, spec) -> str | None:
    return None if spec.row_term.conjugate else "not a Beta or Gamma population"


def group_quadrature(data, spec) -> str | None:
    if (reason := normal_population(data, spec)) is not None:
        return reason
    if spec.family.latent_gaussian or spec.family.eta_derivatives is None:
        return "not a count likelihood with a link"
    if not _one_level_plain(spec):
        return "covariates, nested levels or slopes (the latent engine serves them)"
    return None


def grid_dimensions(spec) -> int:
    """How many hyperparameters the latent engine would put on its grid."""
    n = sum(len(t.scale_names()) + len(t.correlation_names()) for t in spec.terms)
    return n + len(spec.family.param_names)


def latent(data, spec) -> str | None:
    if (reason := normal_population(data, spec)) is not None:
        return reason
    family = spec.family
    if family.eta_derivatives is None:
        return (f"The instant method cannot serve the '{spec.likelihood.value}' likelihood (its latent "
                "field given the hyperparameters is far from Gaussian); use method 'nuts'.")
    term = spec.row_term
    if term.correlated and len(term.slopes) > 1:
        return ("The instant method handles correlated varying slopes on one covariate; with "
                f"{len(term.slopes)} it needs NUTS (method 'nuts'), or set the slope correlation to 'none'.")
    d = grid_dimensions(spec)
    if d > MAX_GRID_DIMENSIONS:
        return (f"This model has {d} hyperparameters; the instant method integrates at most "
                f"{MAX_GRID_DIMENSIONS} on its grid. Use method 'nuts'.")
    from ..priors import resolve_priors

    priors = resolve_priors(data, spec)
    gaussian = [n for n in spec.prior_names() if n in LATENT_LOCATIONS or n.startswith("beta[")
                or (n == spec.row_term.effect and spec.pooling == Pooling.NONE)]
    odd = [f"{n} ~ {priors[n]}" for n in gaussian if n in priors
           and (priors[n].family != "Normal" or priors[n].bounded)]
    if odd:
        return (f"The instant method integrates locations and coefficients as a Gaussian field, so their "
                f"priors must be Normal without bounds; this model has {', '.join(odd)}. Use a Normal "
                "prior or method 'nuts'.")
    return None


LATENT_LOCATIONS = ("mu",)


def _support_edges(prior) -> tuple[float, float]:
    from ..prior_families import frozen

    dist = frozen(prior)
    return float(dist.ppf(0.0)), float(dist.ppf(1.0))


def bounded_hyperparameters(data, spec) -> str | None:
    """A reason when a hyperparameter the grid would integrate (a scale, the family's sigma / phi, a
    population's alpha / beta or nu_groups, mu of a one-level count model or of a Student-t
    population) has a prior whose support is cut short (``T(..)`` bounds, ``Uniform``): the grid
    lives on log scales that assume the whole half-line."""
    from ..priors import resolve_priors

    priors = resolve_priors(data, spec)
    names = [n for t in spec.terms for n in t.scale_names()] + list(spec.family.param_names)
    mu_on_grid = group_quadrature(data, spec) is None or student_t_known_se(data, spec) is None
    if mu_on_grid and spec.pooling != Pooling.NONE:
        names.append(spec.terms[0].location)
    cut = []
    for name in names:
        prior = priors.get(name)
        if prior is None:
            continue
        lo, hi = _support_edges(prior)
        natural_lo = 0.0 if prior.support == "positive" else -float("inf")
        if hi < float("inf") or lo > natural_lo:
            cut.append(f"{name} ~ {prior}")
    if not cut:
        return None
    exact = " or 'exact'" if spec.family.normal_known_se and not spec.row_term.robust else ""
    return (f"The instant method's grid needs hyperparameter priors without bounds (it spans their "
            f"whole range on a log or linear scale); "
            f"{', '.join(cut)} {'is' if len(cut) == 1 else 'are'} cut short. Drop the bound, or use "
            f"method 'nuts'{exact}.")

"""What every fitting method returns: :class:`Fit`, and the InferenceData it holds.

The engines (:mod:`hiermod.nuts`, :mod:`hiermod.exact`, :mod:`hiermod.vi`) build their results
here; this module imports none of them. InferenceData groups: ``posterior`` (coords ``group`` =
labels, ``covariate`` = names), ``sample_stats`` (NUTS only), ``log_likelihood`` and
``posterior_predictive`` (``y``, dim ``obs``; thinned for large data, see :func:`pointwise_draws`),
``prior``, ``prior_predictive``, ``observed_data`` and ``constant_data``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import predictive
from .methods import Method, method_info
from .settings import SamplerSettings
from .spec import ModelSpec, Prior

if TYPE_CHECKING:  # pragma: no cover
    import arviz as az

    from .data import GroupedData

__all__ = ["Fit", "to_inference_data", "inference_data_from_draws", "pointwise_draws", "thin_for_pointwise",
           "settings_dict", "PRIOR_DRAWS", "MAX_POINTWISE"]

PRIOR_DRAWS = 500
MAX_POINTWISE = predictive.MAX_ROW_VALUES  # values in one (chains x draws x rows) array: 80 MB in float32


@dataclass
class Fit:
    """A fitted model: ArviZ InferenceData plus everything needed to explain and reproduce it."""

    idata: "az.InferenceData"
    data: "GroupedData"
    spec: ModelSpec
    priors: dict[str, Prior]
    method: str
    settings: SamplerSettings
    timings: dict[str, float] = field(default_factory=dict)
    exact: Any = None
    """The :class:`hiermod.exact.ExactPosterior` (exact moments) of an exact fit, the
    :class:`hiermod.instant.InstantPosterior` of an instant fit, else None. Not imported for the
    annotation: those modules import this one."""

    @property
    def labels(self) -> tuple[str, ...]:
        return self.data.labels

    @property
    def method_info(self) -> Method:
        """The :class:`~hiermod.methods.Method` that made this fit (exact? approximate? sampler stats?)."""
        return method_info(self.method)

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of ``name`` flattened over chains: shape (chains * draws, ...)."""
        values = self.idata.posterior[name].values
        return values.reshape((-1,) + values.shape[2:])


def pointwise_draws(chains: int, draws: int, n_rows: int) -> int:
    """Draws per chain kept in the per-row groups (log-likelihood, posterior predictive).

    All of them, unless chains * draws * rows would exceed ``MAX_POINTWISE`` values; then the
    draws are thinned evenly so memory stays bounded for large data (LOO's standard error grows
    accordingly; the posterior itself keeps every draw).
    """
    return max(1, min(draws, MAX_POINTWISE // max(1, chains * n_rows)))


def thin_for_pointwise(flat: dict[str, np.ndarray], chains: int, draws: int, n_rows: int) -> dict[str, np.ndarray]:
    """``flat`` draws (chains * draws, ...) thinned to :func:`pointwise_draws` per chain."""
    keep = pointwise_draws(chains, draws, n_rows)
    if keep == draws:
        return flat
    idx = np.linspace(0, draws - 1, keep).round().astype(int)
    return {k: v.reshape((chains, draws) + v.shape[1:])[:, idx].reshape((chains * keep,) + v.shape[1:])
            for k, v in flat.items()}


def inference_data_from_draws(flat: dict[str, np.ndarray], data, spec, priors, settings: SamplerSettings,
                              sample_stats: dict | None = None, stream: int = 1) -> "az.InferenceData":
    """InferenceData from flat posterior draws (chains * draws, ...): adds the pointwise
    log-likelihood and a posterior predictive data set per draw (float32, thinned for large data,
    see :func:`pointwise_draws`) and prior draws (numpy, seeded by ``(settings.seed, stream)``)."""
    chains, draws = settings.chains, settings.draws
    posterior = {k: v.reshape((chains, draws) + v.shape[1:]) for k, v in flat.items()}
    rng = np.random.default_rng([settings.seed, stream])
    thin = thin_for_pointwise(flat, chains, draws, data.n_rows)
    pw_shape = (chains, pointwise_draws(chains, draws, data.n_rows), -1)
    loglik = predictive.pointwise_log_likelihood(thin, data, spec).astype(np.float32).reshape(pw_shape)
    ppc = predictive.draw_outcomes(thin, data, spec, rng).astype(np.float32).reshape(pw_shape)
    prior = {k: v[None] for k, v in predictive.prior_draws(data, spec, priors, PRIOR_DRAWS, rng).items()}
    prior["y"] = prior["y"].astype(np.float32)
    return to_inference_data(data, spec, posterior, sample_stats, loglik, ppc, prior)


def to_inference_data(data: "GroupedData", spec: ModelSpec, posterior: dict, sample_stats: dict | None,
                      loglik: np.ndarray, ppc: np.ndarray, prior: dict) -> "az.InferenceData":
    """Assemble InferenceData with group labels and covariate names as coordinates."""
    import arviz as az

    dims, coords = dims_and_coords(data, spec)
    prior_vars = {k: v for k, v in prior.items() if k != "y"}
    constant = {"group_idx": np.asarray(data.group_idx)}
    for name in ("se", "trials", "exposure"):
        value = getattr(data, name)
        if value is not None:
            constant[name] = np.asarray(value)
            dims[name] = ["obs"]
    dims["group_idx"] = ["obs"]
    return az.from_dict(
        posterior=posterior,
        sample_stats=sample_stats,
        log_likelihood={"y": loglik},
        posterior_predictive={"y": ppc},
        prior=prior_vars,
        prior_predictive={"y": prior["y"]},
        observed_data={"y": np.asarray(data.y)},
        constant_data=constant,
        coords=coords,
        dims=dims,
    )


def dims_and_coords(data: "GroupedData", spec: ModelSpec) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
    """ArviZ dims and coords: one dimension per grouping level (``group`` for a one-level model,
    else the column's name) with its labels, ``covariate``, ``coefficient`` (intercept and slopes
    of varying-slope terms) and ``obs``."""
    data = data.for_groups(spec.groups)
    levels = data.levels[-len(spec.terms):]
    dims: dict[str, list[str]] = {"y": ["obs"]} | ({"beta": ["covariate"]} if spec.covariates else {})
    # numpy arrays, not lists: ArviZ deep-copies coords for every variable (15,000 copy calls, 20 ms
    # for 1,000 groups as a list)
    coords = {"covariate": np.asarray(spec.covariates, dtype=str), "obs": np.arange(data.n_rows)}
    for term, level in zip(spec.terms, levels):
        coords[term.dim] = np.asarray(level.labels, dtype=str)
        names = [term.effect, term.population_value, *(term.slope_effect(x) for x in term.slopes)]
        dims.update({name: [term.dim] for name in names if name})
        if term.slopes:
            coords["coefficient"] = np.asarray(("intercept",) + term.slopes, dtype=str)
            for joint in (f"{term.effect}_coefficients", f"{term.effect}_and_slopes_decentered"):
                dims[joint] = [term.dim, "coefficient"]
        dims[term.decentered] = [term.dim]
    if spec.family.response:
        dims.setdefault(spec.family.response, [spec.row_term.dim])
    return dims, coords


def settings_dict(settings: SamplerSettings) -> dict:
    """Plain JSON-able form of the sampler settings."""
    return asdict(settings)

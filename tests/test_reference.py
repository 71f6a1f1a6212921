"""Agreement with posteriors we did not write, judged by Monte Carlo standard errors.

For each parameter: z = (our mean - reference mean) / sqrt(our MCSE^2 + reference MCSE^2), with the
reference's MCSE = sd / sqrt(ESS_bulk). |z| < 4 for every parameter: with ~90 parameters the chance
that a correct sampler fails this is under 1%.
"""

import arviz as az
import numpy as np
import pandas as pd
import pytest

from hiermod.datasets import dataset_path, load_dataset, simulated_truth
from hiermod.fitting import fit
from hiermod.spec import ModelSpec

Z_MAX = 4.0


def _reference(shared_data, name):
    return pd.read_csv(shared_data / "posteriors" / name / "reference_summary.csv").set_index("parameter")


def _z_scores(result, ref, mapping):
    ours = az.summary(result.idata, kind="all", round_to="none")
    rows = []
    for ours_name, ref_name in mapping.items():
        r = ref.loc[ref_name]
        ref_mcse = r["sd"] / np.sqrt(r["ess_bulk"])
        z = (ours.loc[ours_name, "mean"] - r["mean"]) / np.hypot(ours.loc[ours_name, "mcse_mean"], ref_mcse)
        rows.append((ours_name, ours.loc[ours_name, "mean"], r["mean"], z))
    return pd.DataFrame(rows, columns=["parameter", "ours", "reference", "z"]).set_index("parameter")


def test_eight_schools_nuts_matches_posteriordb(eight_schools_fit, shared_data):
    ref = _reference(shared_data, "eight_schools-eight_schools_noncentered")
    mapping = {"mu": "mu", "tau": "tau"} | {f"theta[{s}]": f"theta[{i + 1}]" for i, s in enumerate("ABCDEFGH")}
    z = _z_scores(eight_schools_fit, ref, mapping)
    print("\neight schools z-scores vs posteriordb:\n", z.round(3).to_string())
    assert (z["z"].abs() < Z_MAX).all(), z
    assert int(eight_schools_fit.idata.sample_stats["diverging"].sum()) <= 10  # non-centered: (almost) none


@pytest.fixture(scope="module")
def radon_fit(radon):
    spec = ModelSpec("normal", "partial", "non_centered",
                     priors={"mu": "Normal(0, 10)", "tau": "HalfNormal(1)", "sigma": "HalfNormal(1)"})
    return fit(radon, spec, seed=0)


def test_radon_matches_stan_reference(radon_fit, shared_data):
    ref = _reference(shared_data, "radon_mn-radon_partially_pooled_noncentered")
    raw = pd.read_csv(dataset_path("radon"))
    index_of = dict(zip(raw["county"].astype(str), raw["county_idx"]))
    mapping = {"mu": "mu_alpha", "tau": "sigma_alpha", "sigma": "sigma_y"}
    mapping |= {f"theta[{c}]": f"alpha[{index_of[c]}]" for c in radon_fit.labels}
    z = _z_scores(radon_fit, ref, mapping)
    print("\nradon z-scores vs Stan (hyperparameters):\n", z.loc[["mu", "tau", "sigma"]].round(3).to_string())
    print("radon: max |z| over", len(z), "parameters:", round(float(z["z"].abs().max()), 3))
    assert len(z) == 88
    assert (z["z"].abs() < Z_MAX).all(), z[z["z"].abs() >= Z_MAX]


def test_simulated_truth_inside_90_percent_intervals():
    """Each school's true effect lies in its 90% interval at about the nominal rate.

    30 schools: the count inside is ~ Binomial(30, 0.9); fewer than 22 has probability < 0.3%.
    """
    data = load_dataset("simulated_schools")
    truth = simulated_truth()
    result = fit(data, ModelSpec("normal"), chains=4, warmup=500, draws=500, seed=3)
    theta = result.draws("theta")
    lo, hi = np.quantile(theta, [0.05, 0.95], axis=0)
    true = np.array([truth["theta"][label] for label in data.labels])
    inside = int(((true >= lo) & (true <= hi)).sum())
    print(f"\nsimulated schools: {inside}/30 true effects inside their 90% intervals")
    assert inside >= 22
    for name in ("mu", "tau", "sigma"):
        draws = result.draws(name)
        q = np.quantile(draws, [0.005, 0.995])
        assert q[0] <= truth[name] <= q[1], (name, q, truth[name])

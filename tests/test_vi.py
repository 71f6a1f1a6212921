"""The variational preview agrees with NUTS on group means for data with many rows per group."""

import numpy as np

from synthetic import QUICK
from hiermod.fitting import fit
from hiermod.spec import ModelSpec
from synthetic import simulate


def test_vi_group_means_agree_with_nuts():
    data = simulate("normal", n_groups=20, rows_per_group=50, seed=21)
    spec = ModelSpec("normal", parameterization="centered")
    nuts = fit(data, spec, **QUICK)
    vi = fit(data, spec, method="vi", **QUICK)
    assert vi.method == "vi" and "sample_stats" not in vi.idata.groups()
    nuts_mean, nuts_sd = nuts.draws("theta").mean(0), nuts.draws("theta").std(0)
    gap = np.abs(vi.draws("theta").mean(0) - nuts_mean) / nuts_sd
    assert gap.max() < 0.5, gap  # largest gap in NUTS posterior sds
    assert vi.idata.log_likelihood["y"].shape[-1] == data.n_rows

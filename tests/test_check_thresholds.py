"""The falsification checks' threshold table: defaults, overrides, and errors that name the key."""

import pytest

from hiermod.check_thresholds import STAGES, THRESHOLDS, default_thresholds, validate_thresholds
from hiermod.errors import SpecError


def test_every_threshold_belongs_to_a_stage_and_has_a_default_of_its_kind():
    for t in THRESHOLDS.values():
        assert t.stage in STAGES
        assert (t.default is None) if t.is_range else isinstance(t.default, float)


def test_overrides_replace_the_defaults_and_keep_the_rest():
    values = validate_thresholds({"max_rhat": 1.05, "plausible_range": [-40, 60]}, "variant 'robust'")
    assert values["max_rhat"] == 1.05
    assert values["plausible_range"] == (-40.0, 60.0)
    assert values["min_ppc_coverage"] == default_thresholds()["min_ppc_coverage"]


@pytest.mark.parametrize("overrides, words", [
    ({"max_rhatt": 1.1}, ["variant 'a'", "unknown check 'max_rhatt'", "max_rhat"]),
    ({"max_rhat": "high"}, ["variant 'a'", "'max_rhat' needs a number"]),
    ({"max_rhat": True}, ["'max_rhat' needs a number"]),
    ({"min_ess_tau": -1}, ["'min_ess_tau'", "0 or more"]),
    ({"plausible_range": [5, 1]}, ["'plausible_range' needs low < high"]),
    ({"plausible_range": 3}, ["'plausible_range' needs two numbers"]),
])
def test_bad_overrides_name_the_variant_and_the_key(overrides, words):
    with pytest.raises(SpecError) as err:
        validate_thresholds(overrides, "variant 'a'")
    for word in words:
        assert word in str(err.value)

"""The workflow report (hiermod.report): JSON with checks and the staged decision, an offline HTML page."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import hiermod
from hiermod.check_thresholds import THRESHOLDS
from hiermod.data import ColumnMap, load_data
from hiermod.report import report_html, workflow_report, write_report
from hiermod.settings import SamplerSettings
from hiermod.variants import fit_variants, starting_set

SETTINGS = SamplerSettings(chains=2, warmup=300, draws=300, seed=1)


def _instant(variants):
    import dataclasses

    return [dataclasses.replace(v, method="instant") for v in variants]


@pytest.fixture(scope="module")
def eight_schools_set():
    data = hiermod.load_dataset("eight_schools")
    variants = _instant(starting_set(data))
    return data, variants, fit_variants(data, variants, SETTINGS)


def test_the_report_holds_every_check_of_every_variant_and_a_decision_per_stage(eight_schools_set):
    data, variants, fits = eight_schools_set
    report = workflow_report(data, variants, fits)
    assert set(report["checks"]) == {v.name for v in variants}
    for rows in report["checks"].values():
        assert [r["key"] for r in rows] == list(THRESHOLDS)
        assert {r["status"] for r in rows} <= {"pass", "fail", "not applicable"}
    assert [d["stage"] for d in report["decision"]] == ["computation", "plausibility", "prediction", "recommendation"]
    kept = report["decision"][-2]["kept"]
    assert report["recommended"] in kept
    assert report["groups"]["variant"] == report["recommended"] or fits[report["groups"]["variant"]].spec.pooling.value == "partial"
    json.dumps(report, allow_nan=False)   # strict JSON


def test_the_html_opens_offline_and_shows_every_section(eight_schools_set, tmp_path):
    data, variants, fits = eight_schools_set
    report = write_report(tmp_path, data, variants, fits)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["recommended"] == report["recommended"]
    for heading in ("The decision", "The variants", "Falsification checks", "The population scale tau",
                    "Every group in every variant", "Prediction", "Exceptional or lucky?"):
        assert heading in page
    assert "<script src=" not in page          # plotly.js is inline: no network needed
    assert page.count("Plotly.newPlot") >= 4   # tau, forest, LOO, ranks (and leave-one-group-out)
    for v in variants:
        assert v.name in page
    assert [v.name for v in variants][-1] == "robust" and "Student-t population" in page  # robust's model


def test_labels_from_the_data_are_escaped(tmp_path):
    frame = pd.DataFrame({"school": ["<script>alert(1)</script>", "B & C", "D", "E"],
                          "y": [10.0, 2.0, -1.0, 5.0], "se": [5.0, 6.0, 7.0, 5.0]})
    data = load_data(frame, ColumnMap("school", "y", "summary", se="se"))
    variants = _instant(starting_set(data))
    fits = fit_variants(data, variants, SETTINGS)
    page = report_html(data, variants, fits)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

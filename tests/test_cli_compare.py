"""``python -m hiermod compare``: in-process runs of hiermod.cli.main on eight schools."""

from __future__ import annotations

import json

import pytest

import hiermod
from hiermod.cli import EXIT_OK, EXIT_USAGE, main
from hiermod.datasets import dataset_path
from hiermod.variants import load_variants, starting_set

SCHOOLS = str(dataset_path("eight_schools"))
COLUMNS = ["--group", "school", "--y", "effect", "--se", "se"]
QUICK = ["--chains", "2", "--warmup", "300", "--draws", "300"]


def test_without_variants_the_starting_set_is_fitted_and_reported(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["compare", SCHOOLS, *COLUMNS, "--method", "instant", *QUICK, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == EXIT_OK
    assert "no --variants given, fitting the starting set" in printed and "LOO" in printed
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    data = hiermod.load_dataset("eight_schools")
    names = [v.name for v in starting_set(data)]
    assert [v["name"] for v in report["variants"]] == names
    assert all(v["method"] == "instant" for v in report["variants"])
    assert report["variants"][0]["priors"] == {"mu": "Normal(0, 20)", "tau": "HalfCauchy(10)"}
    # the fourth, robust: the same priors on a Student-t population, nu_groups at its default
    assert names == ["non-centered", "skeptical", "complete pooling", "robust"]
    robust = report["variants"][3]
    assert robust["spec"]["population"] == "student_t" and robust["spec"]["likelihood"] == "normal_known_se"
    assert robust["priors"] == {"mu": "Normal(0, 20)", "tau": "HalfCauchy(10)", "nu_groups": "Gamma(2, 0.1)"}
    assert "tau" in report["tau"]["per_variant"]["robust"]
    assert report["tau"]["without_tau"] == ["complete pooling"]
    assert sorted(r["variant"] for r in report["loo"]["rows"]) == sorted(names)
    assert [r["variant"] for r in report["ppc_coverage"]["rows"]] == names
    assert len(report["forest"]["rows"]) == 8 * len(names)
    assert set(report["parameters"]) == set(names)
    # variants.toml holds the variants used (with the method the command line chose)
    written = load_variants(out / "variants.toml", data)
    assert [v.name for v in written] == names and {v.method for v in written} == {"instant"}
    assert [v.spec for v in written] == [v.spec for v in starting_set(data)]


def test_a_variants_file_is_fitted_with_each_variants_method(tmp_path, capsys):
    variants = tmp_path / "variants.toml"
    variants.write_text(
        '[[variant]]\nname = "skeptical NUTS"\nmethod = "nuts"\n'
        'priors = { mu = "Normal(7.7, 5)", tau = "HalfNormal(5)" }\nchecks = { max_rhat = 1.05 }\n\n'
        '[[variant]]\nname = "pooled"\nmethod = "instant"\npooling = "complete"\n', encoding="utf-8")
    out = tmp_path / "out"
    code = main(["compare", SCHOOLS, *COLUMNS, "--variants", str(variants), *QUICK, "--out", str(out)])
    assert code == EXIT_OK, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    first, second = report["variants"]
    assert (first["name"], first["method"], second["method"]) == ("skeptical NUTS", "nuts", "instant")
    assert first["thresholds"]["max_rhat"] == 1.05 and first["settings"]["draws"] == 300
    assert first["spec"]["priors"] == {"mu": "Normal(7.7, 5)", "tau": "HalfNormal(5)"}
    assert report["tau"]["without_tau"] == ["pooled"]
    nuts_rows = report["parameters"]["skeptical NUTS"]
    assert {r["parameter"] for r in nuts_rows} >= {"mu", "tau"} and all(r["r_hat"] is not None for r in nuts_rows)
    assert load_variants(out / "variants.toml") == load_variants(variants, hiermod.load_dataset("eight_schools"))


def test_a_bad_variants_file_exits_2_naming_the_variant_and_key(tmp_path, capsys):
    variants = tmp_path / "variants.toml"
    variants.write_text('[[variant]]\nname = "weak"\nprior = { tau = "HalfCauchy(10)" }\n', encoding="utf-8")
    out = tmp_path / "out"
    code = main(["compare", SCHOOLS, *COLUMNS, "--variants", str(variants), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.startswith("hiermod: error:") and "variant 'weak'" in err and "key 'prior'" in err
    assert not out.exists()


@pytest.mark.parametrize("text, expected", [
    ('[[variant]]\nname = "a"\npriors = { tau = "HalfCauchy(10)" \n', "line 3"),
    ('[[variant]]\nname = "a"\nlikelihood = "binomial"\n', "key 'likelihood'"),
    ('[[variant]]\nname = "a"\nchecks = { max_rhat = -1 }\n', "key 'checks'"),
])
def test_other_bad_files_exit_2(tmp_path, capsys, text, expected):
    variants = tmp_path / "variants.toml"
    variants.write_text(text, encoding="utf-8")
    code = main(["compare", SCHOOLS, *COLUMNS, "--variants", str(variants), "--out", str(tmp_path / "o")])
    assert code == EXIT_USAGE and expected in capsys.readouterr().err


def test_a_missing_variants_file_or_a_method_that_cannot_serve_exit_2(tmp_path, capsys):
    code = main(["compare", SCHOOLS, *COLUMNS, "--variants", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")])
    assert code == EXIT_USAGE and "not found" in capsys.readouterr().err
    rats = str(dataset_path("rat_tumors"))
    code = main(["compare", rats, "--method", "exact", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "variant 'non-centered'" in err and "key 'method'" in err

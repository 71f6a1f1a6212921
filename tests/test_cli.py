"""The command line, run as a real subprocess: ``python -m hiermod ...``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
EIGHT = str(REPO / "sample_data" / "eight_schools.csv")
REFERENCE = "posteriors/eight_schools-eight_schools_noncentered/reference_summary.csv"
SCHOOLS = "ABCDEFGH"


def run_cli(*args: str, cwd: Path | None = None, env_extra: dict | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    env.pop("HIERMOD_DEBUG", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "hiermod", *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The posteriordb eight schools model fitted through the CLI with the default 4 x 1000 draws."""
    out = tmp_path_factory.mktemp("cli") / "out"
    proc = run_cli("fit", EIGHT, "--group", "school", "--y", "effect", "--se", "se",
                   "--prior", "mu=Normal(0,5)", "--prior", "tau=HalfCauchy(5)", "--out", str(out))
    return proc, out


def test_fit_writes_files_and_prints_summary(reference_run):
    proc, out = reference_run
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.json").is_file() and (out / "posterior.nc").is_file()
    assert "Traceback" not in proc.stderr
    assert "mu" in proc.stdout and "tau" in proc.stdout and "theta[A]" in proc.stdout
    assert "[OK]" in proc.stdout or "[WARNING]" in proc.stdout or "[PROBLEM]" in proc.stdout


def test_summary_json_layout(reference_run):
    _, out = reference_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= {"parameters", "diagnostics", "timings", "spec", "settings", "method", "data",
                            "versions"}
    assert set(summary["parameters"]) == {"mu", "tau"} | {f"theta[{s}]" for s in SCHOOLS}
    assert summary["spec"]["priors"] == {"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"}
    assert summary["spec"]["pooling"] == "partial"
    assert summary["spec"]["parameterization"] == "non_centered"
    assert summary["spec"]["likelihood"] == "normal_known_se"  # default for summary data
    assert summary["method"] == "nuts"
    assert summary["settings"]["chains"] == 4 and summary["settings"]["draws"] == 1000
    assert summary["data"]["labels"] == list(SCHOOLS)
    assert summary["data"]["columns"]["se"] == "se"


def test_posterior_nc_opens_with_group_coords(reference_run):
    import arviz as az

    _, out = reference_run
    idata = az.from_netcdf(out / "posterior.nc")
    assert list(idata.posterior.coords["group"].values) == list(SCHOOLS)
    assert idata.posterior["mu"].shape == (4, 1000)
    assert "sample_stats" in idata.groups()


def test_cli_fit_matches_posteriordb_reference(reference_run, shared_data):
    """|mean - ref_mean| < 4 sqrt(mcse^2 + (ref_sd / sqrt(ref_ess_bulk))^2) for mu, tau, theta[1..8]."""
    _, out = reference_run
    params = json.loads((out / "summary.json").read_text(encoding="utf-8"))["parameters"]
    ref = pd.read_csv(shared_data / REFERENCE).set_index("parameter")
    names = {"mu": "mu", "tau": "tau"} | {f"theta[{i + 1}]": f"theta[{s}]" for i, s in enumerate(SCHOOLS)}
    z_scores = {}
    for ref_name, ours in names.items():
        r, p = ref.loc[ref_name], params[ours]
        se = math.sqrt(p["mcse_mean"] ** 2 + (r["sd"] / math.sqrt(r["ess_bulk"])) ** 2)
        z_scores[ours] = (p["mean"] - r["mean"]) / se
    print("z-scores vs posteriordb:", {k: round(float(v), 2) for k, v in z_scores.items()})
    bad = {k: v for k, v in z_scores.items() if abs(v) >= 4}
    assert not bad, bad


def test_fit_exact_method(tmp_path):
    out = tmp_path / "exact"
    proc = run_cli("fit", EIGHT, "--group", "school", "--y", "effect", "--se", "se",
                   "--prior", "mu=Normal(0,5)", "--prior", "tau=HalfCauchy(5)", "--method", "exact",
                   "--chains", "2", "--draws", "500", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["method"] == "exact"
    mu = summary["parameters"]["mu"]
    assert abs(mu["mean"] - 4.41) < 4 * mu["mcse_mean"] + 0.2
    assert (out / "posterior.nc").is_file()


def test_fit_vi_method_says_it_is_an_approximation(tmp_path):
    out = tmp_path / "vi"
    proc = run_cli("fit", EIGHT, "--method", "vi", "--chains", "2", "--draws", "200", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stdout.splitlines() if line.startswith("warning: --method vi")]
    assert len(warning) == 1 and "approximation" in warning[0] and "understates uncertainty" in warning[0]
    assert "tau" in warning[0]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["method"] == "vi"
    assert [v["level"] for v in summary["diagnostics"]["verdicts"]] == ["warning"]


def test_fit_guesses_columns_and_reports_them(tmp_path):
    out = tmp_path / "guessed"
    proc = run_cli("fit", EIGHT, "--method", "exact", "--chains", "2", "--draws", "200", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "guessed group column 'school'" in proc.stdout
    assert "guessed outcome column 'effect'" in proc.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["data"]["columns"] == {"group": "school", "y": "effect", "kind": "summary", "se": "se",
                                          "trials": None, "exposure": None, "covariates": []}


def test_fit_quick_nuts_with_options(tmp_path):
    """Complete pooling, a sample data set given by name, short chains."""
    out = tmp_path / "complete"
    proc = run_cli("fit", "eight_schools", "--pooling", "complete", "--chains", "2", "--warmup", "300",
                   "--draws", "300", "--seed", "3", "--target-accept", "0.9", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["spec"]["pooling"] == "complete"
    assert summary["settings"] == {"chains": 2, "warmup": 300, "draws": 300, "seed": 3,
                                   "target_accept": 0.9, "max_tree_depth": 10, "start": "instant"}
    assert "tau" not in summary["parameters"]


def test_datasets_lists_six():
    proc = run_cli("datasets")
    assert proc.returncode == 0, proc.stderr
    names = ["eight_schools", "efron_morris", "rat_tumors", "surgical", "radon", "simulated_schools"]
    for name in names:
        assert name in proc.stdout
    table_rows = [line for line in proc.stdout.splitlines() if line.split()[:1] and line.split()[0] in names]
    assert len(table_rows) == 12  # one table row and one path row each
    assert "eight_schools.csv" in proc.stdout and "Eight schools" in proc.stdout


def test_describe_prints_mapping_and_groups():
    proc = run_cli("describe", str(REPO / "sample_data" / "surgical.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "kind=binomial" in proc.stdout and "12 groups" in proc.stdout
    assert "estimate" in proc.stdout


def test_help_and_no_command():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "fit" in proc.stdout and "datasets" in proc.stdout
    assert run_cli().returncode == 2


# ------------------------------------------------------------------------------ bad input


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_CASES = {
    "missing file": lambda t: ["fit", str(t / "nope.csv"), "--group", "g", "--y", "y", "--out", str(t / "o")],
    "unknown column": lambda t: ["fit", EIGHT, "--group", "school", "--y", "effects", "--se", "se",
                                 "--out", str(t / "o")],
    "bad prior text": lambda t: ["fit", EIGHT, "--group", "school", "--y", "effect", "--se", "se",
                                 "--prior", "tau=HalfCauchy(five)", "--out", str(t / "o")],
    "prior without name": lambda t: ["fit", EIGHT, "--prior", "HalfCauchy(5)", "--out", str(t / "o")],
    "prior on unknown parameter": lambda t: ["fit", EIGHT, "--prior", "sigma=HalfNormal(1)",
                                             "--out", str(t / "o")],
    "negative prior scale": lambda t: ["fit", EIGHT, "--prior", "tau=HalfNormal(-1)", "--out", str(t / "o")],
    "se <= 0": lambda t: ["fit", _write(t, "se0.csv", "g,y,se\nA,1,1\nB,2,0\nC,3,-1\n"),
                          "--group", "g", "--y", "y", "--se", "se", "--out", str(t / "o")],
    "non-numeric": lambda t: ["fit", _write(t, "text.csv", "g,y,se\nA,1,1\nB,two,1\nC,three,1\n"),
                              "--group", "g", "--y", "y", "--se", "se", "--out", str(t / "o")],
    "pooling wrong": lambda t: ["fit", EIGHT, "--pooling", "wrong", "--out", str(t / "o")],
    "missing --out": lambda t: ["fit", EIGHT],
    "unknown option": lambda t: ["fit", EIGHT, "--frobnicate", "--out", str(t / "o")],
    "bad chains": lambda t: ["fit", EIGHT, "--chains", "0", "--out", str(t / "o")],
    "chains not a number": lambda t: ["fit", EIGHT, "--chains", "many", "--out", str(t / "o")],
    "exact for binomial": lambda t: ["fit", str(REPO / "sample_data" / "surgical.csv"), "--method", "exact",
                                     "--out", str(t / "o")],
    "likelihood does not fit": lambda t: ["fit", EIGHT, "--likelihood", "poisson", "--out", str(t / "o")],
    "se and trials together": lambda t: ["fit", EIGHT, "--se", "se", "--trials", "se", "--out", str(t / "o")],
    "unknown command": lambda t: ["frobnicate"],
    "describe missing file": lambda t: ["describe", str(t / "nope.csv")],
    "empty file": lambda t: ["describe", _write(t, "empty.csv", "")],
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_exits_2_with_one_line(case, tmp_path):
    proc = run_cli(*BAD_CASES[case](tmp_path))
    assert proc.returncode == 2, (proc.returncode, proc.stderr, proc.stdout[-500:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("hiermod: error: ")
    assert len(lines[0]) > len("hiermod: error: ") + 5
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "o" / "summary.json").exists()


def test_error_messages_name_the_problem(tmp_path):
    proc = run_cli(*BAD_CASES["unknown column"](tmp_path))
    assert "effects" in proc.stderr
    proc = run_cli(*BAD_CASES["bad prior text"](tmp_path))
    assert "five" in proc.stderr
    proc = run_cli(*BAD_CASES["pooling wrong"](tmp_path))
    assert "wrong" in proc.stderr and "partial" in proc.stderr


def test_unexpected_error_exits_1_without_traceback(tmp_path):
    """An internal failure (a command that raises RuntimeError) is reported in one line, exit 1."""
    code = ("import sys, hiermod.cli as c\n"
            "def boom(args):\n    raise RuntimeError('kaboom')\n"
            "c.COMMANDS['datasets'] = boom\n"
            "sys.exit(c.main(['datasets']))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("HIERMOD_DEBUG", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hiermod: error: ") and "kaboom" in lines[0]
    assert "Traceback" not in proc.stderr
    env["HIERMOD_DEBUG"] = "1"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" in proc.stderr

"""The model written out (hiermod.model_math): every structure and likelihood names all its
parameters and priors, the LaTeX is balanced and renders line by line through matplotlib's
mathtext, and hostile column names cannot break it. No snapshots."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiermod import families
from hiermod.data import ColumnMap, load_data
from hiermod.errors import SpecError
from hiermod.model_math import model_latex, model_lines, model_text
from hiermod.priors import resolve_priors
from hiermod.spec import ModelSpec, Prior

REPO = Path(__file__).resolve().parent.parent
LIKELIHOODS = tuple(families.FAMILIES)


def make_data(kind: str, names: dict | None = None, seed: int = 0):
    """Three nested grouping columns (district > school > class), a covariate x, an outcome of
    ``kind``; ``names`` renames the columns (hostile names)."""
    n = {"district": "district", "school": "school", "class": "class", "y": "y", "x": "x",
         "se": "se", "n": "n", "t": "t"} | (names or {})
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(2):
        for s in range(2):
            for c in range(2 + (s + d) % 2):
                reps = 1 if kind == "summary" else 4
                for _ in range(reps):
                    rows.append({n["district"]: f"D{d}", n["school"]: f"S{s}", n["class"]: f"C{c}",
                                 n["x"]: rng.normal()})
    frame = pd.DataFrame(rows)
    size = len(frame)
    roles = {}
    if kind == "summary":
        frame[n["y"]] = rng.normal(size=size)
        frame[n["se"]] = rng.uniform(0.5, 1.5, size)
        roles["se"] = n["se"]
    elif kind == "gaussian":
        frame[n["y"]] = rng.normal(10, 2, size)
    elif kind == "binomial":
        frame[n["n"]] = rng.integers(5, 20, size)
        frame[n["y"]] = rng.binomial(frame[n["n"]], 0.3)
        roles["trials"] = n["n"]
    else:
        frame[n["t"]] = rng.uniform(0.5, 2, size)
        frame[n["y"]] = rng.poisson(2 * frame[n["t"]])
        roles["exposure"] = n["t"]
    return load_data(frame, ColumnMap(group=n["class"], outer_groups=(n["district"], n["school"]), y=n["y"],
                                      kind=kind, covariates=(n["x"],), **roles)), n


STRUCTURES = {
    "one_level_nc": dict(groups=("class",)),
    "one_level_centered": dict(groups=("class",), parameterization="centered"),
    "nested2": dict(groups=("school", "class"), level_parameterizations=("centered", "non_centered")),
    "nested3": dict(groups=("district", "school", "class"),
                    level_parameterizations=("non_centered", "centered", "non_centered")),
    "nested2_covariate": dict(groups=("school", "class"), covariates=("x",)),
    "slopes_lkj": dict(groups=("class",), slopes=("x",)),
    "slopes_lkj_centered": dict(groups=("class",), slopes=("x",), parameterization="centered"),
    "slopes_none": dict(groups=("class",), slopes=("x",), slope_correlation="none"),
    "nested_slopes": dict(groups=("school", "class"), slopes=("x",)),
    "beta": dict(groups=("class",), population="beta"),
    "gamma": dict(groups=("class",), population="gamma"),
    "student_t": dict(groups=("class",), population="student_t", covariates=("x",)),
    "student_t_centered": dict(groups=("class",), population="student_t", parameterization="centered"),
    "none": dict(groups=("school", "class"), pooling="none"),
    "complete": dict(groups=("class",), pooling="complete", covariates=("x",)),
}

_DATA: dict = {}


def data_for(likelihood: str):
    kind = families.get(likelihood).kind
    if kind not in _DATA:
        _DATA[kind] = make_data(kind)[0]
    return _DATA[kind]


def _valid(likelihood: str, structure: dict) -> bool:
    try:
        ModelSpec(likelihood, **structure)
    except SpecError:  # e.g. a Beta population with a normal likelihood
        return False
    return True


CASES = [(s, lik) for s in STRUCTURES for lik in LIKELIHOODS if _valid(lik, STRUCTURES[s])]


# --------------------------------------------------------------------------- LaTeX checking


def check_balanced(latex: str) -> None:
    """Braces balance (ignoring escaped ones) and every \\begin{x} has its \\end{x}, nested right."""
    depth = 0
    stack = []
    i = 0
    while i < len(latex):
        ch = latex[i]
        if ch == "\\":
            m = re.match(r"\\(begin|end)\{(\w+)\}", latex[i:])
            if m:
                if m.group(1) == "begin":
                    stack.append(m.group(2))
                else:
                    assert stack and stack.pop() == m.group(2), f"unmatched \\end{{{m.group(2)}}}"
                i += m.end()
                continue
            i += 2  # an escaped character or the first letter of a command
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, f"'}}' without '{{' at {i}: {latex[max(0, i - 40):i + 1]!r}"
        i += 1
    assert depth == 0, "unclosed '{'"
    assert not stack, f"unclosed environments {stack}"
    lefts = len(re.findall(r"\\left\b", latex))
    rights = len(re.findall(r"\\right\b", latex))
    assert lefts == rights


def render_lines(latex: str) -> None:
    """Each row of the aligned block through matplotlib's mathtext (which has no aligned, pmatrix,
    \\& or \\$: alignment marks dropped, matrix rows skipped, those two escapes swapped)."""
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("agg")
    body = latex.removeprefix("\\begin{aligned}\n").removesuffix("\n\\end{aligned}")
    for row in body.split(" \\\\\n"):
        if "\\begin{pmatrix}" in row:
            continue
        row = row.replace(r"\&", "+").replace(r"\$", "S").replace("&&", r"\quad ").replace("&", "")
        row = row.replace(r"\left", "").replace(r"\right", "")
        parser.parse(f"${row}$", dpi=72)


def _prior_strings(spec, priors):
    return {name: str(priors[name]) for name in spec.prior_names()}


# ---------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("structure, likelihood", CASES, ids=[f"{s}-{lik}" for s, lik in CASES])
def test_every_parameter_and_prior_is_written(structure, likelihood):
    spec = ModelSpec(likelihood, **STRUCTURES[structure])
    data = data_for(likelihood)
    priors = resolve_priors(data, spec)
    text = model_text(spec, priors, data)
    for name, prior_text in _prior_strings(spec, priors).items():
        assert re.search(rf"(?<![\w\[]){re.escape(name)}(?![\w])", text), (name, text)
        assert prior_text in text, (prior_text, text)
    for column in spec.covariates:
        assert f"{column}_i" in text
    assert f"{data.columns.y}_i ~" in text
    latex = model_latex(spec, priors, data)
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}")
    check_balanced(latex)
    render_lines(latex)


def test_structures_are_written_as_the_contract_says():
    data = data_for("normal")
    nested = ModelSpec("normal", groups=("school", "class"), level_parameterizations=("non_centered", "centered"))
    text = model_text(nested, resolve_priors(data, nested), data)
    assert "theta_class[k] ~ Normal(theta_school[school(k)], tau_class)" in text
    assert "theta_school[j] = mu + tau_school · z_school[j]" in text
    assert "z_school[j] ~ Normal(0, 1)" in text
    assert "eta_i = theta_class[class(i)]" in text
    three = ModelSpec("normal", groups=("district", "school", "class"), parameterization="centered")
    text = model_text(three, resolve_priors(data, three), data)
    assert "theta_class[l] ~ Normal(theta_school[school(l)], tau_class)" in text
    assert "theta_school[k] ~ Normal(theta_district[district(k)], tau_school)" in text
    assert "theta_district[j] ~ Normal(mu, tau_district)" in text

    slopes = ModelSpec("normal", groups=("class",), slopes=("x",), parameterization="centered")
    text = model_text(slopes, resolve_priors(data, slopes), data)
    assert "(theta[j], slope_x[j]) ~ MVN((mu, beta[x]), Sigma)" in text
    assert "rho_x · tau · tau_x" in text and "R ~ LKJ(2)" in text
    assert "eta_i = theta[class(i)] + slope_x[class(i)] · x_i" in text
    flat = slopes.replace(slope_correlation="none")
    text = model_text(flat, resolve_priors(data, flat), data)
    assert "R = I" in text and "rho" not in text and "LKJ" not in text

    covariate = ModelSpec("normal", groups=("class",), covariates=("x",))
    text = model_text(covariate, resolve_priors(data, covariate), data)
    assert "eta_i = theta[class(i)] + beta[x] · x_i" in text
    complete = ModelSpec("normal", groups=("class",), pooling="complete")
    assert "eta_i = mu" in model_text(complete, resolve_priors(data, complete), data)


def test_populations_and_row_columns():
    data = data_for("binomial")
    beta = ModelSpec("binomial", groups=("class",), population="beta")
    text = model_text(beta, resolve_priors(data, beta), data)
    assert "y_i ~ Binomial(n_i, logit⁻¹(eta_i))" in text
    assert "p[j] ~ Beta(alpha, beta)" in text and "theta[j] = logit(p[j])" in text
    data = data_for("poisson")
    gamma = ModelSpec("poisson", groups=("class",), population="gamma")
    text = model_text(gamma, resolve_priors(data, gamma), data)
    assert "rate[j] ~ Gamma(alpha, beta)" in text and "Poisson(t_i · exp(eta_i))" in text
    data = data_for("normal_known_se")
    known = ModelSpec("normal_known_se", groups=("class",))
    assert "y_i ~ Normal(eta_i, se_i)" in model_text(known, resolve_priors(data, known), data)


def test_bounds_are_written():
    data = data_for("normal")
    spec = ModelSpec("normal", groups=("class",), priors={"tau": "HalfNormal(5) T(, 20)",
                                                          "mu": "Normal(10, 5) T(0, 20)"})
    priors = resolve_priors(data, spec)
    text, latex = model_text(spec, priors, data), model_latex(spec, priors, data)
    assert "tau ~ HalfNormal(5) T(, 20)" in text and "mu ~ Normal(10, 5) T(0, 20)" in text
    assert r"\mathrm{HalfNormal}(5)\,T[0, 20]" in latex
    assert r"\mathrm{Normal}(10, 5)\,T[0, 20]" in latex
    small = ModelSpec("normal", groups=("class",), priors={"mu": Prior("Normal", (0, 1e-5), None, 1e-5)})
    latex = model_latex(small, resolve_priors(data, small).copy() | {"mu": Prior("Normal", (0, 1e-5), None, 1e-5)})
    assert r"10^{-5}" in latex and r"-\infty" in latex


HOSTILE = {"district": "dist_rict #1", "school": "sch{o}ol\\%", "class": "cl&ss $x$",
           "y": "score^2 ~ 50%", "x": "x_{1} }{", "n": "n\\_trials", "t": "t\\begin{x}"}


@pytest.mark.parametrize("kind", ["gaussian", "binomial", "poisson", "summary"])
def test_hostile_column_names_are_escaped(kind):
    data, n = make_data(kind, HOSTILE)
    likelihood = families.for_kind(kind)[0].name
    for structure in (dict(groups=(n["district"], n["school"], n["class"])),
                      dict(groups=(n["class"],), slopes=(n["x"],)), dict(pooling="none")):
        spec = ModelSpec(likelihood, **structure)
        priors = resolve_priors(data, spec)
        latex = model_latex(spec, priors, data)
        check_balanced(latex)
        render_lines(latex)
        assert "\\begin{x}" not in latex and "$x$" not in latex
        text = model_text(spec, priors, data)
        assert f"{n['y']}_i" in text and n["class"] in text


def test_every_family_declares_its_line():
    for family in families.FAMILIES.values():
        assert family.math_latex and family.math_text, family.name
        for template in (family.math_latex, family.math_text):
            tokens = set(re.findall(r"\{(se_i|trials_i|exposure_i)\}", template))
            assert tokens <= {f"{row}_i" for row in family.rows}, (family.name, tokens)
        check_balanced(family.math_latex.replace("{se_i}", "s").replace("{trials_i}", "n")
                       .replace("{exposure_i}", "e"))


def test_without_data_and_missing_priors():
    spec = ModelSpec("normal", groups=("school", "class"))
    priors = {"mu": Prior("Normal", (0, 10)), "tau_school": Prior("HalfNormal", (5,)),
              "tau_class": Prior("HalfNormal", (5,)), "sigma": Prior("HalfNormal", (5,))}
    text = model_text(spec, priors)
    assert "y_i ~ Normal(eta_i, sigma)" in text and "theta_class[class(i)]" in text
    with pytest.raises(SpecError, match="no prior for sigma"):
        model_lines(spec, {k: v for k, v in priors.items() if k != "sigma"})


def test_cli_show_model(tmp_path):
    import os

    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "hiermod", "fit", str(REPO / "sample_data" / "simulated_nested.csv"),
                           "--group", "school", "--group", "class", "--y", "score", "--show-model"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "tau_class ~" in proc.stdout and "theta_school[j]" in proc.stdout

"""The model written out: LaTeX for the Model page and plain text for ``fit --show-model``.

Generated from the model description alone: the observation line is the family's declarative
``math_latex`` / ``math_text`` (:mod:`hiermod.families`), every level comes from a
:class:`hiermod.terms.GroupTerm` (pooling, parameterization, parent, slopes, population), and the
priors are written as they are (with their bounds). The user's column names appear as they are in
the text and escaped for LaTeX (every character that means something to TeX is escaped, and the
names sit in ``\\mathrm{...}``), so a column called ``50% & {x}_1\\`` cannot break the formula.

Reading order, top to bottom: the observation of each row i, its linear predictor, the group
levels from the innermost (rows' groups) to the outermost, then the priors of
``spec.prior_names()`` in that order. Group indices are j, k, l from the outermost level in; the
group of row i at a column c is written c(i), the enclosing group of group k is c(k).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import families, populations
from .prior_families import Prior
from .terms import CORRELATION_PRIOR, GroupTerm, Pooling

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .spec import ModelSpec

LETTERS = ("j", "k", "l")
"""Group indices, outermost level first (rows are i)."""

GREEK = ("mu", "tau", "theta", "sigma", "nu", "phi", "alpha", "beta", "rho", "eta")
_BASES = ("theta", "tau", "slope", "rho", "mu", "sigma", "nu", "phi", "alpha", "beta", "p", "rate", "z")

# TeX escapes: inside \mathrm{...} (_ % { } and spaces) and outside it (the rest, see _latex_name)
_INSIDE = {"_": r"\_", "%": r"\%", "{": r"\{", "}": r"\}", " ": r"\ "}
_OUTSIDE = {"#": r"\#", "&": r"\&", "$": r"\$", "\\": r"\backslash{}", "^": r"\wedge{}", "~": r"\sim{}"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Expr:
    """One piece of the model in both notations."""

    latex: str
    text: str

    def __add__(self, other: "Expr | str") -> "Expr":
        other = other if isinstance(other, Expr) else Expr(other, other)
        return Expr(self.latex + other.latex, self.text + other.text)

    def __radd__(self, other: str) -> "Expr":
        return Expr(other, other) + self


@dataclass(frozen=True)
class Line:
    """``lhs rel rhs`` with an optional note (index range, what a symbol means)."""

    lhs: Expr
    rel: str  # "~" or "="
    rhs: Expr
    note: Expr | None = None


def _join(parts, sep: str | Expr = ", ") -> Expr:
    out: Expr | None = None
    for part in parts:
        out = part if out is None else out + sep + part
    return out if out is not None else Expr("", "")


# ------------------------------------------------------------------------------ names


def _latex_name(name: str) -> str:
    """A user's column name as TeX: runs of ordinary characters in \\mathrm{...}, the characters
    TeX treats specially escaped (inside the run where TeX allows it, between runs otherwise)."""
    name = _CONTROL.sub(" ", str(name))
    out, run = [], []

    def flush():
        if run:
            out.append(r"\mathrm{" + "".join(run) + "}")
            run.clear()

    for ch in name:
        if ch in _OUTSIDE:
            flush()
            out.append(_OUTSIDE[ch])
        else:
            run.append(_INSIDE.get(ch, ch))
    flush()
    return "".join(out) or r"\mathrm{?}"


def _text_name(name: str) -> str:
    return _CONTROL.sub(" ", str(name))


def column(name: str) -> Expr:
    """A data column's name."""
    return Expr(_latex_name(name), _text_name(name))


def symbol(name: str) -> Expr:
    """A parameter of the model: Greek letters for mu, tau, theta ...; a column suffix
    (``tau_school``, ``slope_hours``) or covariate (``beta[hours]``) as a subscript."""
    match = re.fullmatch(r"beta\[(.*)\]", name, flags=re.S)
    if match:
        return Expr(r"\beta_{" + _latex_name(match.group(1)) + "}", _text_name(name))
    for base in _BASES:
        if name == base or name.startswith(base + "_"):
            sub = name[len(base) + 1:]
            head = "\\" + base if base in GREEK else base if len(base) == 1 else r"\mathrm{" + base + "}"
            if sub:
                head += "_{" + _latex_name(sub) + "}"
            return Expr(head, _text_name(name))
    return Expr(_latex_name(name), _text_name(name))


def indexed(sym: Expr, index: Expr) -> Expr:
    """``theta[j]``: a subscript when the symbol has none and the index is one letter, else brackets."""
    simple = re.fullmatch(r"[a-z]", index.text) and "_" not in sym.latex
    latex = f"{sym.latex}_{{{index.latex}}}" if simple else f"{sym.latex}[{index.latex}]"
    return Expr(latex, f"{sym.text}[{index.text}]")


def group_of(col: str, index: Expr) -> Expr:
    """The group at column ``col`` of row / group ``index``: school(i)."""
    return column(col) + Expr("(", "(") + index + Expr(")", ")")


def _number(x: float) -> str:
    text = f"{x:g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = f"10^{{{int(exponent)}}}"
        return power if mantissa == "1" else rf"{mantissa} \times {power}"
    return text


def prior_expr(prior: Prior) -> Expr:
    """A prior as written, with its bounds: Normal(0, 5) T(0, 20)."""
    latex = rf"\mathrm{{{prior.family}}}({', '.join(_number(a) for a in prior.args)})"
    if prior.bounded:
        lo, hi = prior.interval
        edges = [_number(v) if abs(v) != float("inf") else ("-" if v < 0 else "") + r"\infty" for v in (lo, hi)]
        latex += rf"\,T[{edges[0]}, {edges[1]}]"
    return Expr(latex, str(prior))


def _normal(mean: Expr, sd: Expr) -> Expr:
    return Expr(r"\mathrm{Normal}(", "Normal(") + mean + ", " + sd + ")"


def _effects(term: GroupTerm, mean: Expr, sd: Expr) -> Expr:
    """The population of a term's effects: Normal(mean, sd), or StudentT(nu_groups, mean, sd)."""
    if not term.robust:
        return _normal(mean, sd)
    return Expr(r"\mathrm{StudentT}(", "StudentT(") + symbol(term.df) + ", " + mean + ", " + sd + ")"


def _vector(parts: list[Expr]) -> Expr:
    return Expr(r"\left(", "(") + _join(parts) + Expr(r"\right)^{\top}", ")")


def _diag(parts: list[Expr]) -> Expr:
    return Expr(r"\mathrm{diag}\left(", "diag(") + _join(parts) + Expr(r"\right)", ")")


ETA = Expr(r"\eta_{i}", "eta_i")
ROW = Expr("i", "i")
TIMES = Expr(r"\,", " · ")


# ------------------------------------------------------------------------------ the model


class _Writer:
    def __init__(self, spec: "ModelSpec", priors: dict[str, Prior], data: "GroupedData | None"):
        self.spec, self.priors, self.data = spec, dict(priors), data
        self.terms = spec.terms
        self.family = spec.family
        self.lines: list[Line] = []

    # -- data ---------------------------------------------------------------------------------
    def _role(self, role: str, default: str) -> str | None:
        if self.data is None:
            return default
        return getattr(self.data.columns, role, None)

    def column_of(self, term: GroupTerm) -> str:
        """The grouping column a term's groups come from (one level: the data's group column)."""
        if self.spec.groups:
            return term.factor
        return self.data.columns.group if self.data is not None else term.factor

    def n_groups(self, term: GroupTerm) -> int | None:
        if self.data is None:
            return None
        sizes = {level.column: level.n_groups for level in self.data.levels}
        return sizes.get(self.column_of(term), self.data.n_groups)

    def letter(self, t: int) -> Expr:
        return Expr(LETTERS[t], LETTERS[t])

    def range_note(self, what: str, index: Expr, n: int | None) -> Expr:
        words = column(what) if what else Expr("", "")
        each = Expr(r"\mathrm{each}\ ", "for each ")
        tail = index + Expr(r" = 1, \dots, " + str(n), " = 1, …, " + str(n)) if n else index
        return each + words + Expr(r"\ ", " ") + tail

    # -- lines --------------------------------------------------------------------------------
    def observation(self) -> None:
        fills = {}
        for role in families.ROW_FIELDS:
            col = self._role(role, role)
            default = self.family.row_defaults.get(role)
            fills[role] = (column(col) + Expr("_{i}", "_i") if col is not None
                           else Expr(_number(default if default is not None else 1.0),
                                     _number(default if default is not None else 1.0)))

        def fill(template: str, which: str) -> str:
            return re.sub(r"\{(se|trials|exposure)_i\}", lambda m: getattr(fills[m.group(1)], which), template)

        rhs = Expr(fill(self.family.math_latex, "latex"), fill(self.family.math_text, "text"))
        y = column(self._role("y", "y")) + Expr("_{i}", "_i")
        n_rows = self.data.n_rows if self.data is not None else None
        self.lines.append(Line(y, "~", rhs, self.range_note("row", ROW, n_rows)))

    def predictor(self) -> None:
        term = self.spec.row_term
        col = self.column_of(term)
        g = group_of(col, ROW)
        if term.pooling == Pooling.COMPLETE:
            parts = [symbol(term.location)]
        else:
            parts = [indexed(symbol(term.effect), g)]
        slopes = term.slopes if term.partial else ()
        for x in slopes:
            parts.append(indexed(symbol(term.slope_effect(x)), g) + TIMES + column(x) + Expr("_{i}", "_i"))
        for c in self.spec.covariates:
            if c not in slopes:
                parts.append(symbol(f"beta[{c}]") + TIMES + column(c) + Expr("_{i}", "_i"))
        self.lines.append(Line(ETA, "=", _join(parts, " + ")))

    def level(self, t: int) -> None:
        term = self.terms[t]
        index = self.letter(t)
        col = self.column_of(term)
        note = self.range_note(col, index, self.n_groups(term))
        effect = indexed(symbol(term.effect), index)
        if term.pooling == Pooling.NONE:
            self.lines.append(Line(effect, "~", prior_expr(self.priors[term.effect]),
                                   note + Expr(r"\ (\mathrm{separately})", " (separately)")))
            return
        if term.pooling == Pooling.COMPLETE:
            self.lines.append(Line(effect, "=", symbol(term.location), note + Expr(r"\ (\mathrm{all\ the\ same})",
                                                                                " (all the same)")))
            return
        if term.parent is None:
            location = symbol(term.location)
        else:
            location = indexed(symbol(term.location), group_of(term.parent, index))
        if term.conjugate:
            self.population(term, index, effect, note)
        elif term.slopes:
            self.slopes(term, index, effect, location, note)
        elif term.non_centered:
            z = indexed(symbol("z" + term.effect[len("theta"):]), index)
            self.lines.append(Line(effect, "=", location + " + " + symbol(term.scale) + TIMES + z, note))
            self.lines.append(Line(z, "~", _effects(term, Expr("0", "0"), Expr("1", "1"))))
        else:
            self.lines.append(Line(effect, "~", _effects(term, location, symbol(term.scale)), note))

    def population(self, term: GroupTerm, index: Expr, effect: Expr, note: Expr) -> None:
        pop = populations.get(term.population)
        value = indexed(symbol(pop.value), index)
        dist = Expr(rf"\mathrm{{{pop.label}}}(\alpha, \beta)", f"{pop.label}(alpha, beta)")
        self.lines.append(Line(value, "~", dist, note))
        link = families.LINKS[self.family.link].name
        self.lines.append(Line(effect, "=", Expr(rf"\mathrm{{{link}}}(", f"{link}(") + value + ")"))

    def slopes(self, term: GroupTerm, index: Expr, effect: Expr, location: Expr, note: Expr) -> None:
        xs = term.slopes
        vector = _vector([effect] + [indexed(symbol(term.slope_effect(x)), index) for x in xs])
        mean = _vector([location] + [symbol(f"beta[{x}]") for x in xs])
        scales = [symbol(term.scale)] + [symbol(term.slope_scale(x)) for x in xs]
        sigma = Expr(r"\Sigma", "Sigma")
        corr = Expr("R", "R")
        if term.non_centered:
            z = indexed(symbol("z" + term.effect[len("theta"):]), index)
            self.lines.append(Line(vector, "=", mean + " + " + _diag(scales) + TIMES + Expr("L", "L") + TIMES + z,
                                   note))
            self.lines.append(Line(z, "~", Expr(r"\mathrm{Normal}(0, I)", "Normal(0, I)"),
                                   Expr(r"L L^{\top} = R,\ \mathrm{so\ the\ covariance\ is}\ \Sigma",
                                        "L Lᵀ = R, so the covariance is Sigma")))
        else:
            self.lines.append(Line(vector, "~", Expr(r"\mathrm{MVN}\left(", "MVN(") + mean + ", " + sigma
                                   + Expr(r"\right)", ")"), note))
        if len(xs) == 1:
            tau, tau_x = scales
            off = (symbol(term.slope_correlation(xs[0])) + TIMES + tau + TIMES + tau_x if term.correlated
                   else Expr("0", "0"))
            sq = Expr("^{2}", "²")
            latex = (r"\begin{pmatrix} " + (tau + sq).latex + " & " + off.latex + r" \\ " + off.latex + " & "
                     + (tau_x + sq).latex + r" \end{pmatrix}")
            text = f"[[{(tau + sq).text}, {off.text}], [{off.text}, {(tau_x + sq).text}]]"
            self.lines.append(Line(sigma, "=", Expr(latex, text)))
        else:
            self.lines.append(Line(sigma, "=", _diag(scales) + TIMES + corr + TIMES + _diag(scales)))
        if term.correlated:
            rhos = _join([symbol(term.slope_correlation(x)) + Expr(f" = R_{{1{n + 2}}}", f" = R[1, {n + 2}]")
                          for n, x in enumerate(xs)])
            self.lines.append(Line(corr, "~", prior_expr(self.priors[CORRELATION_PRIOR]),
                                   Expr(r"\mathrm{prior}\ \rho:\ ", "prior rho: ") + rhos))
        else:
            self.lines.append(Line(corr, "=", Expr("I", "I"),
                                   Expr(r"\mathrm{no\ intercept/slope\ correlation}",
                                        "no intercept/slope correlation")))

    def prior_lines(self) -> None:
        for name in self.spec.prior_names():
            if name == CORRELATION_PRIOR or (self.spec.pooling == Pooling.NONE and name == self.spec.row_term.effect):
                continue  # written with the slopes / the groups themselves
            prior = self.priors.get(name)
            if prior is not None:
                self.lines.append(Line(symbol(name), "~", prior_expr(prior)))

    def build(self) -> list[Line]:
        self.observation()
        self.predictor()
        for t in reversed(range(len(self.terms))):
            self.level(t)
        self.prior_lines()
        return self.lines


def model_lines(spec: "ModelSpec", priors: dict[str, Prior], data: "GroupedData | None" = None) -> list[Line]:
    """The model as :class:`Line` objects (both notations), top to bottom."""
    missing = [n for n in spec.prior_names() if n not in priors]
    if missing:
        from .errors import SpecError

        raise SpecError(f"Cannot write the model out: no prior for {', '.join(missing)} "
                        "(pass hiermod.priors.resolve_priors(data, spec)).")
    return _Writer(spec, priors, data).build()


_REL_LATEX = {"~": r"\sim", "=": "="}


def model_latex(spec: "ModelSpec", priors: dict[str, Prior], data: "GroupedData | None" = None) -> str:
    """The model as one LaTeX ``aligned`` block (for ``st.latex``)."""
    rows = []
    for line in model_lines(spec, priors, data):
        row = f"{line.lhs.latex} &{_REL_LATEX[line.rel]} {line.rhs.latex}"
        if line.note is not None:
            row += r" && " + line.note.latex
        rows.append(row)
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def model_text(spec: "ModelSpec", priors: dict[str, Prior], data: "GroupedData | None" = None) -> str:
    """The model in plain text (Unicode), one relation per line, aligned for a terminal."""
    lines = model_lines(spec, priors, data)
    width = max(len(line.lhs.text) for line in lines)
    body = [f"{line.lhs.text.rjust(width)} {line.rel} {line.rhs.text}" for line in lines]
    note_at = min(max(len(b) for b in body) + 3, 64)
    out = [b if line.note is None else f"{b.ljust(note_at - 3)}   {line.note.text}" for b, line in zip(body, lines)]
    pooling = {Pooling.NONE: "no pooling", Pooling.COMPLETE: "complete pooling",
               Pooling.PARTIAL: "partial pooling"}[spec.pooling]
    head = f"Model: {spec.family.label}, {pooling}"
    return "\n".join([head, ""] + out)


__all__ = ["model_latex", "model_text", "model_lines", "prior_expr", "symbol", "column", "Expr", "Line"]

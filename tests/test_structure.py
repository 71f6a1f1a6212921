"""The package's shape: no import cycles, and no branch on a likelihood's or data kind's name
outside the registries (families.py, kind_registry.py) -- adding a likelihood stays one entry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRANCH = re.compile(r"likelihood\s*(==|!=|\bin\b|is\b)|(==|!=)\s*Likelihood\.|Likelihood\.\w+\s*(==|!=|\bin\b)"
                    r"|kind\s*(==|!=)\s*(DataKind|\"|')")


def _modules() -> dict[str, Path]:
    out = {}
    for p in (ROOT / "hiermod").rglob("*.py"):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        found |= {t for t in targets if t in known and t not in (name, "hiermod")}
    return found


def test_no_import_cycles():
    mods = _modules()
    graph = {m: _imports(m, p, set(mods)) for m, p in mods.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, "import cycle: " + " -> ".join(stack + [m, n])
            if n not in state:
                visit(n, stack + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_no_likelihood_or_kind_branches_outside_the_registries():
    hits = []
    for base in ("hiermod", "ui", "pages"):
        for p in (ROOT / base).rglob("*.py"):
            if "famil" in p.name or "registry" in p.name:
                continue
            for n, line in enumerate(p.read_text().splitlines(), 1):
                if BRANCH.search(line) and not line.strip().startswith("#"):
                    hits.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)

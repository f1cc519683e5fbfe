"""The package's layers (ARCHITECTURE.md) hold: contracts, no import cycles, the public surface.

Oracles: import-linter's contracts in pyproject.toml (layers, exhaustive: every module is in one),
and an import graph computed here from the source with ``ast`` (every import statement, deferred
ones inside functions included), so neither can drift from the code.
"""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import cdsolve as cd

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "cdsolve"
LAYERS = ["optics", "scattering", "dynamics", "theory", "experiment", "workflow"]  # bottom to top
RANK = {"optics": 0, "scattering": 1, "dynamics": 2, "theory": 3, "experiment": 3, "workflow": 4}  # siblings share a rank


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """``module -> modules of cdsolve it imports`` from every import statement in the source."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    deps.add(sub if sub in modules else target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _cycles(graph):
    """All strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_import_graph_has_no_cycle():
    graph = import_graph()
    # the package root re-exports the public surface; nothing below may import it back
    inner = {m: {d for d in deps if d != "cdsolve"} for m, deps in graph.items() if m != "cdsolve"}
    assert len(inner) >= 40, "module discovery found too little"
    assert _cycles(inner) == []
    importers_of_root = sorted(m for m, deps in graph.items() if "cdsolve" in deps and m != "cdsolve.__main__")
    assert importers_of_root == [], f"modules importing the package root (upward): {importers_of_root}"


def test_no_upward_import_between_layers():
    # the same rule as the import-linter contract, from the ast graph (a second, independent check)
    rank = RANK
    bad = []
    for module, deps in import_graph().items():
        parts = module.split(".")
        if len(parts) < 3 or parts[1] not in rank:
            continue
        for d in deps:
            dp = d.split(".")
            if len(dp) >= 2 and dp[1] in rank and rank[dp[1]] > rank[parts[1]]:
                bad.append(f"{module} -> {d}")
    assert bad == []


def test_only_init_main_and_version_at_top_level():
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "_version.py"]
    assert sorted(p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(LAYERS)


def test_lint_imports_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():  # the test extra installs import-linter; without it this test cannot run
        pytest.fail("lint-imports not found next to the interpreter: pip install -e '.[test]'")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.stdout.count("KEPT") >= 6


def test_public_surface_of_version_0_1_still_works():
    for name in cd.__all__:
        assert getattr(cd, name) is not None, name
    # submodules shown in the README and the 0.1 module names (now aliases of the renamed modules)
    assert cd.casimir.CasimirPolder is importlib.import_module("cdsolve.optics.casimir").CasimirPolder
    assert callable(cd.geometry.chain)
    for old, new in {"models": "theory.two_tweezer", "noise": "dynamics.recoil_noise",
                     "phases": "dynamics.parameter_paths", "batch": "dynamics.batch_scenes",
                     "potentials": "theory.binding_potentials", "sympathetic": "theory.sympathetic_cooling"}.items():
        assert getattr(cd, old) is importlib.import_module(f"cdsolve.{new}")
    assert cd.__version__ == importlib.import_module("cdsolve._version").__version__

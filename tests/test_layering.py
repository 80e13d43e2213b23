"""The layering of the design, as contracts that fail: import-linter checks the contracts
declared in pyproject.toml ([tool.importlinter]); a grimp graph of every import (function-level
ones included) must have no cycle; a cold ``cnnstat summary vgg16`` imports neither torch nor,
as JSON, rich."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.conftest import fresh_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout and "BROKEN" not in proc.stdout


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (the cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_strongly_connected_finds_a_cycle() -> None:
    """The cycle finder itself: a 3-cycle is found, a chain is not."""
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles_anywhere() -> None:
    graph = grimp.build_graph("cnnstat", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert sum(map(len, edges.values())) > 100  # the graph really holds cnnstat's imports
    assert strongly_connected(edges) == []


def test_only_entry_points_are_loose() -> None:
    loose = sorted(p.name for p in (ROOT / "cnnstat").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "errors.py", "zoo.py"]


def test_cold_summary_does_not_import_torch() -> None:
    proc, loaded = fresh_imports(argv=["summary", "vgg16", "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    assert '"params": 138357544' in proc.stdout
    assert loaded & {"torch", "fvcore", "numpy"} == set()


def test_json_output_does_not_import_rich() -> None:
    proc, loaded = fresh_imports(argv=["summary", "vgg16", "--format", "json"])
    assert proc.returncode == 0 and "rich" not in loaded


# VGG-16 has 138,357,544 parameters (torchvision); with 10 classes its last layer has
# 4096*10 + 10 parameters instead of 4096*1000 + 1000.
@pytest.mark.parametrize(("code", "expected"), [
    ("import cnnstat; print(cnnstat.analyze('vgg16').totals.params)", 138357544),
    ("import cnnstat; r = cnnstat.analyze(cnnstat.load('vgg16', set={'classes': 10}), batch=2); "
     "print(r.totals.params)", 138357544 - (4096 * 1000 + 1000) + (4096 * 10 + 10)),
])
def test_public_api_answers_without_torch(code: str, expected: int) -> None:
    guard = "import sys; sys.modules['torch'] = None; "  # any import of torch would fail
    proc = subprocess.run([sys.executable, "-c", guard + code], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == expected

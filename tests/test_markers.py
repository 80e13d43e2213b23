"""Every test that needs torch says so: a file that imports torch (``pytest.importorskip`` or a
plain import) at module level carries ``pytest.mark.torch`` in its ``pytestmark``, and a test
that does so in its body carries the mark itself, so ``pytest -m "not torch"`` means what it
says."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = sorted(Path(__file__).parent.glob("test_*.py"))


def _needs_torch(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr == "importorskip" and n.args \
                and isinstance(n.args[0], ast.Constant) and n.args[0].value == "torch":
            return True
        if isinstance(n, ast.Import) and any(a.name.split(".")[0] == "torch" for a in n.names):
            return True
        if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "torch":
            return True
    return False


def _has_torch_mark(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "torch"
               and isinstance(n.value, ast.Attribute) and n.value.attr == "mark"
               for n in ast.walk(node))


def _unmarked(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    marks = [n for n in top if isinstance(n, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets)]
    if any(_has_torch_mark(m) for m in marks):
        return []
    if any(_needs_torch(n) for n in top):
        return [path.name]
    return [f"{path.name}::{f.name}" for f in tree.body
            if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")
            and _needs_torch(f) and not any(_has_torch_mark(d) for d in f.decorator_list)]


def test_the_scan_finds_unmarked_torch_use(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_text("import pytest\ntorch = pytest.importorskip('torch')\n", encoding="utf-8")
    assert _unmarked(path) == ["test_x.py"]
    path.write_text("import pytest\ndef test_a():\n    import torch.nn\n"
                    "@pytest.mark.torch\ndef test_b():\n    import torch\n", encoding="utf-8")
    assert _unmarked(path) == ["test_x.py::test_a"]
    path.write_text("import pytest\npytestmark = [pytest.mark.torch]\nimport torch\n",
                    encoding="utf-8")
    assert _unmarked(path) == []


def test_torch_use_is_marked() -> None:
    assert TESTS and [where for path in TESTS for where in _unmarked(path)] == []


def test_every_slow_entry_names_a_test() -> None:
    """The slow tier's table (tests/conftest.py SLOW) names files and tests that exist: a renamed
    test must not drop out of the tier, nor a stale entry stay behind."""
    from tests.conftest import SLOW

    root = Path(__file__).parent.parent
    for prefix, why in SLOW.items():
        path, _, name = prefix.partition("::")
        assert (root / path).is_file(), prefix
        tree = ast.parse((root / path).read_text(encoding="utf-8"))
        tests = [n.name for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        assert any(t.startswith(name) for t in tests), prefix
        assert why, prefix


def test_the_slow_marker_is_applied() -> None:
    """Collected with ``-m slow``, a test named in SLOW is selected and one that is not is not."""
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                           "no:xdist", "-m", "slow", "tests/test_cli_boundary.py"], cwd=root,
                          capture_output=True, text=True, timeout=120, check=False)
    selected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert selected == ["tests/test_cli_boundary.py::test_ctrl_c_exits_130"], proc.stdout

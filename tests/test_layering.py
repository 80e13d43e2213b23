"""The layering rules of the design: the analytic core imports neither torch nor rich nor click,
render never imports torch, and a cold `cnnstat summary vgg16` does not import torch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import fresh_imports

PACKAGE = Path(__file__).resolve().parents[1] / "cnnstat"
FORBIDDEN = {
    "core": {"torch", "fvcore", "rich", "click", "pydantic", "yaml"},
    "spec": {"torch", "fvcore", "rich", "click"},
    "render": {"torch", "fvcore"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_in_their_layer(package: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(imported_modules(path) & FORBIDDEN[package])
        for path in (PACKAGE / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_torch_backend_imports_torch() -> None:
    outside = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
               if "torch_backend" not in p.parts and {"torch", "fvcore"} & imported_modules(p)]
    assert outside == []


def test_cold_summary_does_not_import_torch() -> None:
    proc, loaded = fresh_imports(argv=["summary", "vgg16", "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    assert '"params": 138357544' in proc.stdout
    assert loaded & {"torch", "fvcore", "numpy"} == set()


def test_json_output_does_not_import_rich() -> None:
    proc, loaded = fresh_imports(argv=["summary", "vgg16", "--format", "json"])
    assert proc.returncode == 0 and "rich" not in loaded

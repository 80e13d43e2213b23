"""Every spec kind is written by ``cnnstat import`` or deliberately not (issue 15).

The kinds an import writes are read from the import table's source (the kind named in each
``Written``/``_one``/``_simple``/``_act`` call of cnnstat/torch_backend/importer/mapping.py, and each
layer ``{"kind": ..., "args": ...}`` of tracing.py); with ``import_map.NOT_IMPORTED`` they must be
exactly the kinds of ``cnnstat.spec.models.LAYER_ARGS``, so a new kind cannot be forgotten
silently.  That each written kind round-trips is tests/test_import.py's job.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

from cnnstat.spec.models import LAYER_ARGS  # noqa: E402
from cnnstat.torch_backend.importer import mapping as import_map  # noqa: E402
from cnnstat.torch_backend.importer import tracing  # noqa: E402

_WRITERS = {"Written", "_one", "_simple", "_act"}


def _kinds_written(path: Path) -> set[str]:
    kinds: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in _WRITERS and node.args \
                and isinstance(node.args[0], ast.Constant):
            kinds.add(str(node.args[0].value))
        if isinstance(node, ast.Dict):
            keys = {k.value: v for k, v in zip(node.keys, node.values)
                    if isinstance(k, ast.Constant)}
            if {"kind", "args"} <= set(keys) and isinstance(keys["kind"], ast.Constant):
                kinds.add(str(keys["kind"].value))
    return kinds


WRITTEN = _kinds_written(Path(import_map.__file__)) | _kinds_written(Path(tracing.__file__))


def test_every_spec_kind_is_imported_or_deliberately_not() -> None:
    missing = set(LAYER_ARGS) - WRITTEN - set(import_map.NOT_IMPORTED)
    assert not missing, f"kinds neither written by an import_map entry nor in NOT_IMPORTED: " \
        f"{sorted(missing)}"


def test_written_kinds_exist_and_are_not_also_excluded() -> None:
    assert WRITTEN <= set(LAYER_ARGS), sorted(WRITTEN - set(LAYER_ARGS))
    assert not WRITTEN & set(import_map.NOT_IMPORTED), sorted(WRITTEN & set(
        import_map.NOT_IMPORTED))
    assert set(import_map.NOT_IMPORTED) <= set(LAYER_ARGS)
    assert all(import_map.NOT_IMPORTED.values())  # each with its reason


def test_the_kinds_of_issue_14_are_written() -> None:
    """The norm and channels-last kinds, which the import maps since issue 15's follow-up."""
    assert {"layernorm", "groupnorm", "instancenorm", "layer_scale", "drop_path", "permute",
            "mean", "gelu", "attention"} <= WRITTEN

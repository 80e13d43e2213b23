"""Findings about a spec file that are not errors: things written but never used.

W504: a block that no layer list reaches (directly, or through other used blocks).  The walk is
static, over the written structure, so a block counts as used even where a parameter makes its
``repeat`` zero: what is checked is the file, not one configuration of it.
"""

from __future__ import annotations

from typing import Any

from cnnstat.errors import Diagnostic, Severity
from cnnstat.spec.models import SpecModel


def _mentions(items: Any, names: set[str]) -> set[str]:
    """Block names used as layer items anywhere inside ``items`` (keys and list entries)."""
    found: set[str] = set()
    stack = [items]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.update(k for k in node if isinstance(k, str) and k in names)
            stack.extend(node.values())
        elif isinstance(node, list):
            found.update(x for x in node if isinstance(x, str) and x in names)
            stack.extend(x for x in node if isinstance(x, (dict, list)))
    return found


def unused_blocks(model: SpecModel) -> list[Diagnostic]:
    """W504 for every block that the spec's layers never reach."""
    names = set(model.blocks)
    reached: set[str] = set()
    frontier = _mentions(model.layers, names)
    while frontier:
        block = frontier.pop()
        if block not in reached:
            reached.add(block)
            frontier |= _mentions(model.blocks[block].layers, names) - reached
    return [Diagnostic("W504", Severity.WARNING, f"block '{name}' is never used", ("blocks", name),
                       hint="remove it, or use it in 'layers' (or in a block that is used)")
            for name in model.blocks if name not in reached]

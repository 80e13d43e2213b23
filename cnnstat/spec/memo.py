"""The memo of named-block expansions kept across the configurations of one spec (``cnnstat
sweep``, ``scale``): a configuration re-expands only the blocks whose inputs changed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cnnstat.core.ir import Node, Seq
from cnnstat.errors import Diagnostic
from cnnstat.spec.expr import is_expression
from cnnstat.spec.models import Args, SpecModel


@dataclass
class Memo:
    """Expansions of named-block calls, kept across the configurations of one spec (``cnnstat
    sweep``, ``scale``): a call expands to the same subtree whenever its block, its full name,
    its nesting and the values of every parameter and argument its body can read (through the
    blocks it calls, too) are the same, so a configuration re-expands only the blocks whose
    inputs changed.  Only successful expansions are kept; a hit charges the layers and steps the
    expansion took, so every limit holds as without the memo."""

    calls: dict[tuple[Any, ...], tuple[Node, int, int]] = field(default_factory=dict)
    reads: dict[str, frozenset[str]] = field(default_factory=dict)
    validated: dict[tuple[str, int], Args] = field(default_factory=dict)  # as Expander's
    lint: tuple[Diagnostic, ...] | None = None  # the file's own warnings (unused blocks)
    # whole graphs by their parameters (a graph does not depend on the input shape), already
    # checked for unique names: a sweep over input sizes expands each network once
    graphs: dict[tuple[Any, ...], Seq] = field(default_factory=dict)
    # the (name, what) sequences that passed the unique-name check (names.check_unique): the
    # names depend on the structure (a depth), not on every parameter (a width)
    names: set[tuple[tuple[str, str], ...]] = field(default_factory=set)
    inputs: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # as Expander's
    hits: int = 0
    limit: int = 200_000

    def names_read(self, spec: SpecModel, block: str) -> frozenset[str]:
        """Every name an expression in ``block`` (or a block it calls, recursively) mentions,
        and its args."""
        if not self.reads:
            self.reads.update(_closure(spec))
        return self.reads[block]


def _closure(spec: SpecModel) -> dict[str, frozenset[str]]:
    """Per block, the names its own expressions mention, with those of every block it reaches
    (blocks may call each other recursively: the union is taken until nothing changes)."""
    own: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, block in spec.blocks.items():
        own[name], calls[name] = set(block.args), set()
        _mentions(spec, [block.layers, dict(block.args)], own[name], calls[name])
    changed = True
    while changed:
        changed = False
        for name in spec.blocks:
            before = len(own[name])
            for callee in calls[name]:
                own[name] |= own[callee]
            changed = changed or len(own[name]) != before
    return {name: frozenset(found) for name, found in own.items()}


def _mentions(spec: SpecModel, data: Any, found: set[str], calls: set[str]) -> None:
    """Collect the identifiers of every expression in ``data`` (over-inclusive: any word of an
    expression counts, which can only make the memo miss) and the blocks it calls."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, v in item.items():
                if key in spec.blocks:
                    calls.add(str(key))
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)
            calls.update(x for x in item if isinstance(x, str) and x in spec.blocks)
        elif is_expression(item):
            found.update(_WORDS.findall(str(item)))


_WORDS = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")

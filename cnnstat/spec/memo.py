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
    hits: int = 0
    limit: int = 200_000

    def names_read(self, spec: SpecModel, block: str) -> frozenset[str]:
        """Every name an expression in ``block`` (or a block it calls) mentions, and its args."""
        if block not in self.reads:
            self.reads[block] = frozenset()  # a recursive block is refused later (E205)
            found: set[str] = set(spec.blocks[block].args)
            _mentions(spec, [spec.blocks[block].layers, dict(spec.blocks[block].args)], found,
                      self)
            self.reads[block] = frozenset(found)
        return self.reads[block]


def _mentions(spec: SpecModel, data: Any, found: set[str], memo: Memo) -> None:
    """Collect the identifiers of every expression in ``data`` (over-inclusive: any word of an
    expression counts, which can only make the memo miss) and of the blocks it calls."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, v in item.items():
                if key in spec.blocks:
                    found |= memo.names_read(spec, str(key))
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)
        elif is_expression(item):
            found.update(_WORDS.findall(str(item)))


_WORDS = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")

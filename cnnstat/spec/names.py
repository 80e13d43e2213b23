"""Layer names, checked where they are written.

Every layer, merge and scope gets a hierarchical name (``stage2.bottleneck1.conv2``); the torch
builder turns each name into a module path, and reports, baselines and ``--layer`` look layers
up by it.  So a written name may not be empty, may not contain ``.`` (it would reach into
another scope: ``basic1.relu1`` is the generated name of the first relu in ``basic1``) or ``/``,
nor control characters; and after expansion no name may be both a layer and a scope, or two
layers.  Each is a located E208 at load, so ``verify`` and ``bench`` never fail unlocated later.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from cnnstat.core.ir import AutoShortcut, Deferred, Join, Layer, Node, Parallel, Seq
from cnnstat.errors import SpecError, SpecPath, spec_error

FORBIDDEN = {".": "'.', which joins the names of nested scopes", "/": "'/'"}
HINT = "use letters, digits, '_' and '-' (e.g. conv_a)"
SCOPES = {"shortcut": "the shortcut's layers", "block": "the block's layers"}  # names, not layers


def _bad_char(name: str) -> str | None:
    for char in name:
        if char in FORBIDDEN:
            return FORBIDDEN[char]
        if unicodedata.category(char)[0] in "CZ" and char != " ":
            return f"the control or separator character U+{ord(char):04X}"
    return None


def check_name(name: object, path: SpecPath, what: str = "layer name") -> str:
    """``name`` as written for a layer, scope or branch; E208 unless it is a usable name."""
    if not isinstance(name, str):
        raise spec_error("E208", f"a {what} is text, got {name!r}", path, hint=HINT)
    if not name.strip():
        raise spec_error("E208", f"a {what} cannot be empty or blank", path,
                         hint=HINT + "; leave 'name' out to get a generated one")
    bad = _bad_char(name)
    if bad is not None:
        raise spec_error("E208", f"{what} {name!r} contains {bad}", path, hint=HINT)
    return name


def _named(node: Node) -> Iterator[tuple[str, SpecPath, str]]:
    """(name, where written, what) of every layer, merge and shortcut scope, in order."""
    if isinstance(node, Layer):
        yield node.name, (*node.path, "name"), "layer"
    elif isinstance(node, Seq):
        for item in node.items:
            yield from _named(item)
    elif isinstance(node, Join):
        yield node.name, (*node.path, "name"), "layer"
    elif isinstance(node, AutoShortcut):
        yield node.name, node.path, "shortcut"  # its conv, bn or pad is named under it
    elif isinstance(node, Deferred):
        yield node.name, node.path, "block"  # its layers, written later, are named under it
    elif isinstance(node, Parallel):
        for branch in node.branches:
            for item in branch.body.items:
                yield from _named(item)
        if node.merge != "side":
            yield (f"{node.name}.{node.merge}" if node.name else node.merge), node.path, "merge"


def check_unique(graph: Seq, passed: set[tuple[tuple[str, str], ...]] | None = None) -> None:
    """E208 when two layers share a name, or a layer's name is also the scope of others.  The
    error points at a written layer where there is one (a merge or a shortcut has no name of
    its own to change).  Whether it passes depends only on the names and what each names (the
    paths only locate an error), so with ``passed`` (kept across the configurations of a sweep)
    a graph whose sequence of (name, what) passed before is not checked again; a graph that
    fails is never added."""
    named = list(_named(graph))
    key = tuple((name, what) for name, _, what in named) if passed is not None else ()
    if passed is not None and key in passed:
        return
    _check(named)
    if passed is not None:
        if len(passed) >= 1024:
            passed.clear()
        passed.add(key)


def _check(named: list[tuple[str, SpecPath, str]]) -> None:
    leaves: dict[str, tuple[SpecPath, str]] = {}
    scopes: dict[str, str] = {}  # scope -> what is inside it
    for name, path, what in named:
        if what not in SCOPES:
            clash = leaves.get(name)
            if clash is not None:
                raise _clash(f"duplicate layer name '{name}'", (path, what), clash)
            if name in scopes:
                raise _clash(f"'{name}' is both a layer and the scope of {scopes[name]}",
                             (path, what), (path, what))
            leaves[name] = (path, what)
        inner = f"'{name}.*' ({SCOPES[what]})" if what in SCOPES else f"'{name}'"
        parts = name.split(".")
        for end in range(1, len(parts) + (what in SCOPES)):
            scope = ".".join(parts[:end])
            if scope in leaves:
                raise _clash(f"'{scope}' is both a layer and the scope of {inner}",
                             (path, what), leaves[scope])
            scopes.setdefault(scope, inner)


def _clash(message: str, *sides: tuple[SpecPath, str]) -> SpecError:
    path = next((p for p, what in sides if what == "layer"), sides[0][0])
    return spec_error("E208", message, path, hint="rename the layer: names in one scope are "
                      "distinct, and 'add', 'concat', 'mul' and 'shortcut' name a block's merge "
                      "and shortcut")


@dataclass
class Scope:
    """The names given in one scope (a block call, a composite, a repeat copy): a written name
    is claimed once (E208 on a second claim), a generated one is its base numbered on (conv1,
    conv2, ...), skipping the numbers written names took."""

    prefix: str
    used: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def claim(self, base: str, explicit: object, path: SpecPath) -> str:
        if explicit is not None:
            explicit = check_name(explicit, (*path, "name"))
            if explicit in self.used:
                raise spec_error("E208", f"duplicate layer name '{self.full(explicit)}'",
                                 (*path, "name"),
                                 hint="give each layer in a scope a distinct name")
            self.used.add(explicit)
            return self.full(explicit)
        n = self.counters.get(base, 0)
        while True:
            n += 1
            if f"{base}{n}" not in self.used:
                break
        self.counters[base] = n
        self.used.add(f"{base}{n}")
        return self.full(f"{base}{n}")

    def child(self, local_full: str) -> Scope:
        return Scope(local_full)

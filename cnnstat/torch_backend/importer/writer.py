"""``cnnstat import``: the reduced graph (:mod:`cnnstat.torch_backend.importer.graph`) written as a
spec document -- names from the module paths, ``from:`` only where an item does not read the
previous one, composites nested, repeated composites folded into blocks
(:mod:`cnnstat.torch_backend.importer.blocks`).  No torch here.

Names: a module's call is named by its path relative to the enclosing composite (``.`` becomes
``_``: ``layer1.0.conv1`` is ``conv1`` in the residual ``layer1_0``); a function's call by the
module it happens in and its kind (``relu`` for ``F.relu`` in that block).  A name used twice
in one scope gets ``_2``, ``_3``; the names a composite gives its own parts (``add``,
``shortcut``) are never taken.
"""

from __future__ import annotations

import re
from typing import Any

from cnnstat.torch_backend.importer.graph import Item, Unwritable


_RESERVED = {"add", "mul", "concat", "shortcut", "input"}


def _rel(path: str, scope: str) -> str:
    if scope and (path == scope or path.startswith(scope + ".")):
        path = path[len(scope) + 1:] if path != scope else ""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", path)


class Namer:
    """Unique names in one scope."""

    def __init__(self) -> None:
        self.used: set[str] = set(_RESERVED)

    def take(self, wanted: str) -> str:
        name, n = wanted or "layer", 2
        while name in self.used:
            name, n = f"{wanted}_{n}", n + 1
        self.used.add(name)
        return name


class Writer:
    """Items to spec items; ``names`` maps each tensor to the name a ``from:`` uses."""

    def __init__(self, input_names: dict[str, str]) -> None:
        self.names: dict[str, str] = dict(input_names)
        self.paths: dict[str, str] = {}  # a top-level composite's name -> its module path
        self.top_paths: list[str] = []  # the module path of each top-level entry, in order

    def sequence(self, items: list[Item], scope: str, prev: str | None,
                 namer: Namer | None = None) -> list[Any]:
        """Items in order; the first reads ``prev`` implicitly (None: nothing does)."""
        namer = namer or Namer()
        out: list[Any] = []
        for it in items:
            reads = it.ins[0] if len(it.ins) == 1 else None
            if it.composite == "split" and reads != prev:
                raise Unwritable(it.path, "a channel split of a tensor other than the "
                                 "previous one (a spec's split reads the previous output)")
            if it.composite == "side":  # computed from prev, not fed on: prev stays
                out.append(self.composite(it, scope, namer))
                if not self.scope_name:
                    self.top_paths += [it.path] * (len(out) - len(self.top_paths))
                continue
            if it.composite and reads != prev:
                out += self.sequence(_flat(it), scope, prev, namer)
            elif it.composite:
                out.append(self.composite(it, scope, namer))
            elif it.merge:
                out.append(self.merge(it, scope, namer))
            else:
                out += self.layer(it, scope, namer, reads if reads != prev else None)
            prev = it.out
            if not self.scope_name:
                self.top_paths += [it.path] * (len(out) - len(self.top_paths))
        return out

    def _ref(self, tensor: str) -> str:
        return self.names[tensor]

    def _full(self, scope_name: str, name: str) -> str:
        return f"{scope_name}.{name}" if scope_name else name

    def layer(self, it: Item, scope: str, namer: Namer, reads: str | None) -> list[Any]:
        rel = _rel(it.path, scope)
        base = rel if it.module else "_".join(p for p in (rel, it.layers[0]["kind"]) if p)
        out: list[Any] = []
        for i, layer in enumerate(it.layers):
            name = namer.take(base if i == 0 else f"{base}_{layer['kind']}")
            args = dict(layer["args"])
            if i == 0 and reads is not None:
                args["from"] = self._ref(reads)
            if i == 0 and it.like is not None:
                args["like"] = self._ref(it.like)
            out.append({layer["kind"]: {**args, "name": name}})
            self.names[it.out] = self._full(self.scope_name, name)
        return out

    scope_name = ""  # the dotted name of the scope being written (for references)

    def merge(self, it: Item, scope: str, namer: Namer) -> Any:
        name = namer.take("_".join(p for p in (_rel(it.path, scope), it.merge) if p))
        doc = {it.merge: {"from": [self._ref(t) for t in it.ins], "name": name}}
        self.names[it.out] = self._full(self.scope_name, name)
        return doc

    def composite(self, it: Item, scope: str, namer: Namer) -> Any:
        name = namer.take(_rel(it.path, scope) or it.composite)
        inner_scope, outer = it.path or scope, self.scope_name
        self.scope_name = self._full(outer, name)
        fork = it.ins[0]
        inner = Namer()
        if it.composite in ("concat", "split"):
            body: dict[str, Any] = {"branches": [
                self.sequence(b, inner_scope, fork, inner) or None for b in it.branches]}
        elif it.composite == "side":
            body = {"training": True,
                    "body": self.sequence(it.branches[0], inner_scope, fork, inner)}
        elif it.composite == "scale":
            body = {"body": self.sequence(it.branches[0], inner_scope, fork, inner)}
        else:
            main, short = it.branches
            body = {"body": self.sequence(main, inner_scope, fork, inner),
                    "shortcut": self.sequence(short, inner_scope, fork, Namer()) or
                    "identity"}
            if it.then:
                assert it.merged is not None  # a residual keeps its add
                body["then"] = self.sequence(it.then, inner_scope, it.merged.out, inner)
        self.scope_name = outer
        self.names[it.out] = self._full(outer, name)
        if not outer:
            self.paths[name] = it.path
        return {it.composite: {"name": name, **body}}


def _flat(it: Item) -> list[Item]:
    """A composite as the items it was made of (for one whose input is not the previous one)."""
    assert it.merged is not None
    return [*(x for branch in it.branches for x in branch), it.merged, *it.then]

"""``cnnstat import``, the parent's side: the traced network (plain data from the child, see
:mod:`cnnstat.torch_backend.tracing`) as a graph of items, reduced to the spec's composites.

Every traced call is an :class:`Item` that reads tensors and writes one; every item could be
written flat with ``from:`` references, which is always correct.  To read as a person would have
written it, the graph is then reduced, innermost first, until nothing changes: a merge whose
inputs are chains that all start at one tensor (the *fork*), read by nothing else, becomes one
composite item -- ``residual`` (an add of a body and an identity or a shortcut chain),
``concat`` (Inception's branches) or ``scale`` (a multiply by a gate computed from the input:
squeeze-and-excitation) -- which is a plain chain link to the next reduction.  No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MERGES = ("add", "concat", "mul")
ABSORBED = ("relu", "relu6", "silu", "gelu", "hardswish", "sigmoid", "tanh", "leaky_relu",
            "elu", "mish", "hardsigmoid", "prelu")  # may follow a residual's add as its `then`


class Unwritable(Exception):
    """A traced pattern no spec item writes: ``path`` and why."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(why)
        self.path, self.why = path, why


@dataclass
class Item:
    """A layer call (``layers``: one or a short chain of spec layers), a flat merge
    (``merge``), or a composite (``composite`` with ``branches`` and ``then``)."""

    out: str  # the tensor it writes
    ins: list[str]  # the tensors it reads (a layer: one; a merge: two or more)
    path: str  # the module path where it happens
    layers: list[dict[str, Any]] = field(default_factory=list)
    module: bool = False  # a module's call (named by its path), not a function's
    like: str | None = None
    merge: str = ""
    composite: str = ""
    branches: list[list[Item]] = field(default_factory=list)
    then: list[Item] = field(default_factory=list)
    shape: tuple[int, ...] | None = None
    part: tuple[int, int] | None = None  # the i-th of n equal channel parts (x.chunk(n, 1)[i])
    merged: Item | None = None  # a composite's merge, to write it flat if it must be

    def chain_link(self) -> bool:
        """Reads one tensor and writes one: may be part of a branch."""
        return not self.merge and self.part is None and len(self.ins) == 1 and \
            self.like is None


def items_of(network: dict[str, Any]) -> tuple[list[str], list[Item]]:
    """The inputs' tensor names and the items, in execution order."""
    inputs: list[str] = []
    items: list[Item] = []
    for node in network["nodes"]:
        shape = tuple(node["shape"]) if node.get("shape") is not None else None
        kind = node.get("kind")
        if kind == "input":
            inputs.append(node["name"])
        elif kind == "part":
            index, parts = node["part"]
            items.append(Item(node["name"], list(node["inputs"]), node["path"],
                              part=(int(index), int(parts)), shape=shape))
        elif kind in MERGES:
            items.append(Item(node["name"], list(node["inputs"]), node["path"],
                              merge=str(kind), shape=shape))
        else:
            items.append(Item(node["name"], list(node["inputs"]), node["path"],
                              layers=list(node["layers"]), module=bool(node["module"]),
                              like=node.get("like"), shape=shape))
    return inputs, items


def reduce(items: list[Item], outputs: list[str]) -> list[Item]:
    """Merge patterns into composites until none is left (see the module docstring)."""
    while True:
        for m in items:
            if m.merge:
                done = _collapse(items, m, outputs)
                if done is not None:
                    items = done
                    break
        else:
            return items


def with_sides(items: list[Item], inputs: list[str],
               sides: list[dict[str, Any]]) -> list[Item]:
    """Training-only side heads (plain data, see tracing: ``fork``, ``path``, ``nodes``) as
    ``side`` composites, each right after the item that writes the tensor it reads (at the
    start when it reads an input), after the sides placed there before it."""
    for n, side in enumerate(sides):
        _, body = items_of({"nodes": side["nodes"]})
        body = reduce(body, [body[-1].out] if body else [])
        fork = str(side["fork"])
        writers = [i for i, it in enumerate(items) if it.out == fork]
        if not writers and fork not in inputs:
            raise Unwritable(str(side["path"]), "a head that runs only in training reads a "
                             "tensor inside a composite (a spec's side reads the output of a "
                             "layer of its sequence)")
        at = writers[0] + 1 if writers else 0
        while at < len(items) and items[at].composite == "side" and items[at].ins == [fork]:
            at += 1
        items.insert(at, Item(f"side.{n}", [fork], str(side["path"]), composite="side",
                              branches=[body]))
    return items


def leftover_parts(items: list[Item]) -> list[Item]:
    """Parts of a chunk that no concat joins back (no spec kind writes them)."""
    out = [it for it in items if it.part is not None]
    for it in items:
        for branch in it.branches:
            out += leftover_parts(branch)
    return out


def _readers(items: list[Item], outputs: list[str]) -> dict[str, int]:
    count: dict[str, int] = {}
    for it in items:
        for t in [*it.ins, *([it.like] if it.like else [])]:
            count[t] = count.get(t, 0) + 1
    for t in outputs:
        count[t] = count.get(t, 0) + 1
    return count


def _collapse(items: list[Item], m: Item, outputs: list[str]) -> list[Item] | None:
    readers = _readers(items, outputs)
    made = {it.out: it for it in items}
    chains: list[list[Item]] = []
    forks = set()
    for t in m.ins:
        chain: list[Item] = []
        while readers.get(t, 0) == 1 and t in made and made[t].chain_link():
            chain.insert(0, made[t])
            t = made[t].ins[0]
        chains.append(chain)
        forks.add(t)
    if len(forks) != 1 or readers.get(next(iter(forks)), 0) != len(m.ins):
        return _split(items, m, chains, forks, readers, outputs)
    fork = next(iter(forks))
    composite = _composite(m, chains, fork)
    if composite is None:
        return None
    inside = {id(it) for chain in chains for it in chain} | {id(m)}
    at = items.index(m)
    out = [it for it in items[:at] if id(it) not in inside] + [composite] + items[at + 1:]
    _absorb_then(out, composite, outputs)
    return out


def _split(items: list[Item], m: Item, chains: list[list[Item]], forks: set[str],
           readers: dict[str, int], outputs: list[str]) -> list[Item] | None:
    """A concat of every part of one ``x.chunk(n, 1)``, in order: ``split`` (ShuffleNet v2)."""
    made = {it.out: it for it in items}
    heads = [made.get(c[0].ins[0] if c else t) for c, t in zip(chains, m.ins)]
    if m.merge != "concat" or any(h is None or h.part is None for h in heads):
        return None
    parts = [h for h in heads if h is not None]
    source = parts[0].ins[0]
    if [p.part for p in parts] != [(i, len(parts)) for i in range(len(parts))] or \
            any(p.ins[0] != source for p in parts) or readers.get(source, 0) != len(parts) or \
            any(readers.get(p.out, 0) != 1 for p in parts):
        return None
    for chain in chains:
        if chain:
            chain[0].ins = [source]  # a branch reads its share of the split's input
    path = common_path([it.path for c in chains for it in c] + [m.path])
    split = Item(m.out, [source], path, composite="split", branches=chains, shape=m.shape,
                 merged=m)
    inside = {id(it) for c in chains for it in c} | {id(p) for p in parts} | {id(m)}
    at = items.index(m)
    return [it for it in items[:at] if id(it) not in inside] + [split] + items[at + 1:]


def _composite(m: Item, chains: list[list[Item]], fork: str) -> Item | None:
    members = [it for chain in chains for it in chain] + [m]
    path = common_path([it.path for it in members])
    if m.merge == "concat":
        return Item(m.out, [fork], path, composite="concat", branches=chains, shape=m.shape,
                    merged=m)
    if len(chains) != 2:
        return None
    empty = [i for i, c in enumerate(chains) if not c]
    if m.merge == "mul":
        if len(empty) != 1:
            return None
        return Item(m.out, [fork], path, composite="scale", branches=[chains[1 - empty[0]]],
                    shape=m.shape, merged=m)
    if len(empty) == 2:
        return None
    body, shortcut = sorted(chains, key=lambda c: (_weight(c), len(c)), reverse=True)
    return Item(m.out, [fork], path, composite="residual", branches=[body, shortcut],
                shape=m.shape, merged=m)


def _weight(chain: list[Item]) -> int:
    """How much of a body a chain is: its layers, composites counting their insides."""
    return sum(len(it.layers) + sum(_weight(b) for b in it.branches) for it in chain)


def _absorb_then(items: list[Item], res: Item, outputs: list[str]) -> None:
    """An activation right after a residual's add, in the same module, is its ``then``."""
    if res.composite != "residual":
        return
    readers = _readers(items, outputs)
    while readers.get(res.out, 0) == 1:
        nxt = next((it for it in items if res.out in it.ins), None)
        if nxt is None or not nxt.chain_link() or len(nxt.layers) != 1 or \
                nxt.layers[0]["kind"] not in ABSORBED or not _within(nxt.path, res.path):
            return
        res.then.append(nxt)
        items.remove(nxt)
        res.out = nxt.out  # the composite now writes what its then writes
        readers = _readers(items, outputs)


def _within(path: str, prefix: str) -> bool:
    return bool(prefix) and (path == prefix or path.startswith(prefix + "."))


def common_path(paths: list[str]) -> str:
    """The longest dotted module path that every one of ``paths`` starts with."""
    parts = [p.split(".") if p else [] for p in paths]
    common: list[str] = []
    for segs in zip(*parts):
        if len(set(segs)) != 1:
            break
        common.append(segs[0])
    return ".".join(common)

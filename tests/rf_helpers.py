"""Small builders for receptive-field tests: IR layers by hand, and brute-force index sets.

The brute force knows nothing of r, j or start: it follows each output index back through the
taps of every window, layer by layer, as the definition of a receptive field says.
"""

from __future__ import annotations

from collections.abc import Iterable

from cnnstat.core.analyze import analyze
from cnnstat.core.ir import Branch, Layer, Node, Parallel, Seq
from cnnstat.core.report import Report


def pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return v if isinstance(v, tuple) else (v, v)


def conv(k: int | tuple[int, int], s: int | tuple[int, int] = 1,
         p: int | tuple[int, int] | str = 0, d: int | tuple[int, int] = 1, out: int = 2,
         name: str = "") -> Layer:
    return Layer(name, "conv", {"out": out, "kernel": pair(k), "stride": pair(s),
                                "padding": p if isinstance(p, str) else pair(p),
                                "dilation": pair(d), "groups": 1, "bias": True,
                                "connections": None})


def maxpool(k: int | tuple[int, int], s: int | tuple[int, int] | None = None,
            p: int | tuple[int, int] = 0, d: int | tuple[int, int] = 1, ceil: bool = False,
            name: str = "") -> Layer:
    return Layer(name, "maxpool", {"kernel": pair(k), "stride": pair(s) if s else None,
                                   "padding": pair(p), "dilation": pair(d), "ceil_mode": ceil})


def avgpool(k: int | tuple[int, int], s: int | tuple[int, int] | None = None,
            p: int | tuple[int, int] = 0, ceil: bool = False, name: str = "") -> Layer:
    return Layer(name, "avgpool", {"kernel": pair(k), "stride": pair(s) if s else None,
                                   "padding": pair(p), "ceil_mode": ceil,
                                   "count_include_pad": True})


def plain(kind: str, name: str = "", **args: object) -> Layer:
    return Layer(name, kind, dict(args))


def named(nodes: Iterable[Node], prefix: str = "l") -> tuple[Node, ...]:
    """Give unnamed layers unique names (the walk pairs layers with rows by name)."""
    out: list[Node] = []
    for i, node in enumerate(nodes):
        if isinstance(node, Layer) and not node.name:
            node = Layer(f"{prefix}{i}", node.kind, node.args)
        out.append(node)
    return tuple(out)


def chain(*layers: Layer, size: tuple[int, int] = (16, 16), channels: int = 2) -> Report:
    return analyze(Seq(named(layers)), (channels, *size))


def branch(name: str, *layers: Layer) -> Branch:
    return Branch(name, Seq(named(layers, f"{name}.l")))


def parallel(name: str, merge: str, *branches: Branch, split: bool = False) -> Parallel:
    return Parallel(name, merge, tuple(branches), split)  # type: ignore[arg-type]


# -- brute force ---------------------------------------------------------------------------------

def taps_1d(layer: Layer, axis: int, unit: int) -> list[int]:
    """Input indices (padding included, as negative or too-large indices) a window unit reads."""
    a = layer.args
    k, d = a["kernel"][axis], a.get("dilation", (1, 1))[axis]
    s = (a.get("stride") or a["kernel"])[axis]
    pad = a["padding"]
    left = (d * (k - 1)) // 2 if pad == "same" else pad[axis]
    return [unit * s - left + t * d for t in range(k)]


def back_1d(node: Node, axis: int, units: set[int], rows: dict[str, tuple[int, ...]],
            clip: bool) -> set[int]:
    """The indices at ``node``'s input that ``units`` of its output depend on (merges: concat and
    add of equal sizes; no broadcasting).

    ``rows`` maps a layer name to its input shape (for clipping to real rows and for global
    reductions).  Without ``clip`` padding positions are followed back as if the grid went on.
    """
    if isinstance(node, Seq):
        for item in reversed(node.items):
            units = back_1d(item, axis, units, rows, clip)
        return units
    if isinstance(node, Parallel):
        out: set[int] = set()
        for br in node.branches:
            out |= back_1d(br.body, axis, units, rows, clip)
        return out
    assert isinstance(node, Layer)
    shape = rows[node.name]
    if len(shape) != 3:  # after flatten: nothing spatial left
        return units
    size = shape[1 + axis]
    if node.kind in ("global_avgpool", "flatten"):
        return set(range(size))
    if node.kind in ("conv", "maxpool", "avgpool"):
        found = {t for u in units for t in taps_1d(node, axis, u)}
    elif node.kind == "pad_channels":
        found = {u * node.args["stride"] for u in units}
    else:
        found = set(units)
    return {t for t in found if 0 <= t < size} if clip else found

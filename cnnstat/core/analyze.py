"""The graph walk: shapes flow through the expanded network; each rule prices its layer.

Merges are rows of their own (``concat``, ``add``, ``mul``) so that element-wise work of residual
additions and squeeze-and-excitation scaling is visible and never hidden in MACs.  Automatic
residual shortcuts are resolved here, where the shapes are known, and the resolved graph is
returned with the report (it is what the torch builder builds).  So are the blocks whose layers
depend on their input's shape (:class:`~cnnstat.core.ir.Deferred`): each is expanded when the walk
reaches it, from the shape that arrives there.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, replace
from typing import cast

from cnnstat.core.ir import (
    AutoShortcut,
    Branch,
    Deferred,
    Join,
    Layer,
    Node,
    Parallel,
    Ref,
    Seq,
)
from cnnstat.core.report import Report, Row, Shape, fmt_shape
from cnnstat.core.rules import RULES
from cnnstat.errors import Diagnostic, DiagnosticSink, SpecPath, spec_error


@dataclass(frozen=True)
class _Walked:
    """What the walk of one subtree did: its resolved node and output, the rows, tensors and
    diagnostics it added (replayed on a hit of :class:`Memo`)."""

    node: Node  # the subtree itself, kept so that its id() is never reused while remembered
    resolved: Node
    out: Shape
    rows: tuple[Row, ...]
    tensors: tuple[tuple[str, Shape], ...]
    diagnostics: tuple[Diagnostic, ...]


@dataclass
class Memo:
    """Walks of subtrees (composites and named blocks), kept across the configurations of one
    spec (a sweep), where the expander hands back the same subtree object for an unchanged block
    call (:class:`cnnstat.spec.memo.Memo`).  A walk is reused for the same subtree object, input
    shape and training mode, and only when it read no tensor written outside the subtree (a
    ``from:`` or ``like:`` to an earlier layer makes it depend on more than its input)."""

    walks: dict[tuple[int, Shape, bool], _Walked] = field(default_factory=dict)
    hits: int = 0
    limit: int = 100_000


class _Walker:
    def __init__(self, inputs: dict[str, Shape], memo: Memo | None = None) -> None:
        self.rows: list[Row] = []
        self.sink = DiagnosticSink()
        self.tensors: dict[str, Shape] = dict(inputs)  # every named output so far
        self.training = False  # inside a training-only side output
        self.memo = memo
        self.log: list[tuple[str, Shape]] = []  # every tensor written, in order
        self.born: dict[str, int] = {}  # tensor -> its position in the log (inputs: absent)
        self.frames: list[list[int]] = []  # per subtree being remembered: [log start, pure]
        self.work: dict[str, int] = {}  # the expander's own count of this walk's deferred blocks

    def add(self, row: Row) -> None:
        self.rows.append(replace(row, training=True) if self.training else row)

    def write(self, name: str, shape: Shape) -> None:
        self.tensors[name] = shape
        self.born[name] = len(self.log)
        self.log.append((name, shape))

    def node(self, node: Node, x: Shape) -> tuple[Node, Shape]:
        if isinstance(node, Layer):
            return self.layer(node, x)
        if self.memo is not None and (isinstance(node, (Parallel, Deferred)) or
                                      isinstance(node, Seq) and node.name):
            return self.remembered(node, x)
        return self.composite(node, x)

    def remembered(self, node: Node, x: Shape) -> tuple[Node, Shape]:
        """The walk of ``node`` from ``x``, replayed from the memo when it was walked before."""
        assert self.memo is not None
        key = (id(node), x, self.training)
        hit = self.memo.walks.get(key)
        if hit is not None and hit.node is node:
            self.memo.hits += 1
            self.rows.extend(hit.rows)
            self.sink.items.extend(hit.diagnostics)
            for name, shape in hit.tensors:
                self.write(name, shape)
            return hit.resolved, hit.out
        rows, diags, log = len(self.rows), len(self.sink.items), len(self.log)
        frame = [log, 1]
        self.frames.append(frame)
        try:
            resolved, out = self.composite(node, x)
        finally:
            self.frames.pop()
        if frame[1]:
            if len(self.memo.walks) >= self.memo.limit:
                self.memo.walks.clear()
            self.memo.walks[key] = _Walked(node, resolved, out, tuple(self.rows[rows:]),
                                           tuple(self.log[log:]),
                                           tuple(self.sink.items[diags:]))
        return resolved, out

    def composite(self, node: Node, x: Shape) -> tuple[Node, Shape]:
        if isinstance(node, Layer):
            return self.layer(node, x)
        if isinstance(node, Seq):
            return self.seq(node, x)
        if isinstance(node, Parallel):
            resolved, out = self.parallel(node, x)
            if node.name:
                self.write(node.name, out)
            return resolved, out
        if isinstance(node, Join):
            return self.join(node)
        if isinstance(node, Deferred):  # its layers, written now that its input's shape is known
            return self.composite(node.expand(x, self.work), x)
        raise TypeError(f"unresolved node {node!r}")  # AutoShortcut only appears in branches

    def seq(self, seq: Seq, x: Shape) -> tuple[Seq, Shape]:
        source: Ref | None = None
        if seq.source:
            name = self.resolve(seq.source, _owner(seq), seq.path)
            x, source = self.tensors[name], (name,)
        if seq.entry:
            self.write(seq.entry, x)
        items = []
        for item in seq.items:
            resolved, x = self.node(item, x)
            items.append(resolved)
        if seq.name:
            self.write(seq.name, x)
        return Seq(tuple(items), seq.name, source, seq.entry, seq.path), x

    def resolve(self, ref: Ref, owner: str, path: SpecPath) -> str:
        """The first candidate of ``ref`` that names an earlier tensor (E409 if none does)."""
        for name in ref:
            if name in self.tensors:
                born = self.born.get(name, -1)
                for frame in self.frames:
                    if born < frame[0]:  # written before that subtree began: not its own
                        frame[1] = 0
                return name
        close = difflib.get_close_matches(ref[-1], list(self.tensors), n=3)
        raise spec_error("E409", f"'{owner}': no earlier tensor named '{ref[-1]}'" +
                         (f" (looked for {', '.join(repr(c) for c in ref)})"
                          if len(ref) > 1 else ""), path, layer=owner,
                         hint=("did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
                         if close else "a layer can only read a tensor written before it")

    def layer(self, layer: Layer, x: Shape) -> tuple[Layer, Shape]:
        reads: tuple[str, ...] = ()
        if layer.inputs:
            source = self.resolve(layer.inputs[0], layer.name, layer.arg_path("from"))
            x, reads = self.tensors[source], (source,)
            layer = replace(layer, inputs=((source,),))
        if layer.like:
            layer = self.like(layer, layer.like)
        cost = RULES[layer.kind](layer, x, self.sink)
        self.add(Row(layer.name, layer.kind, cost.description, x, cost.output,
                     cost.weights, cost.bias, cost.buffers, cost.macs, dict(cost.ops),
                     layer.path, cost.windows, cost.global_field, reads=reads, maps=cost.maps,
                     products=dict(cost.products), scratch=cost.scratch,
                     functional=bool(layer.args.get("functional"))))
        self.write(layer.name, cost.output)
        return layer, cost.output

    def like(self, layer: Layer, ref: Ref) -> Layer:
        """Resolve ``like`` (a reference, as ``from``) and give the layer that tensor's H x W as
        its ``size``."""
        name = self.resolve(ref, layer.name, layer.arg_path("like"))
        shape = self.tensors[name]
        if layer.args.get("size") is not None or layer.args.get("scale") is not None:
            given = "size" if layer.args.get("size") is not None else "scale"
            raise spec_error("E406", f"{layer.kind} '{layer.name}': give exactly one of '{given}' "
                             "or 'like'", layer.arg_path(given), layer=layer.name)
        if len(shape) != 3:
            raise spec_error("E403", f"{layer.kind} '{layer.name}': like '{name}' needs a C x H x "
                             f"W tensor, got {fmt_shape(shape)}", layer.arg_path("like"),
                             layer=layer.name)
        return replace(layer, like=(name,), args={**layer.args, "size": shape[1:]})

    def join(self, join: Join) -> tuple[Join, Shape]:
        names = tuple(self.resolve(ref, join.name, (*join.path, "from", i))
                      for i, ref in enumerate(join.inputs))
        shapes = [self.tensors[n] for n in names]
        out, ops = merged(join.merge, join.name, join.path, shapes, list(names))
        desc = {"concat": "concatenate ", "add": "add ", "mul": "scale "}[join.merge] + \
            {"concat": ", ", "add": " + ", "mul": " * "}[join.merge].join(names)
        self.add(Row(join.name, join.merge, desc, shapes[0], out,
                             ops={join.merge: ops} if ops else {}, path=join.path, reads=names))
        self.write(join.name, out)
        return Join(join.name, join.merge, tuple((n,) for n in names), join.path), out

    def parallel(self, par: Parallel, x: Shape) -> tuple[Node, Shape]:
        inputs = _split(par, x) if par.split else [x] * len(par.branches)
        done: dict[int, tuple[Branch, Shape]] = {}
        for i, (br, xi) in enumerate(zip(par.branches, inputs)):
            if not _is_auto(br):
                outer, self.training = self.training, self.training or (par.training and i > 0)
                try:
                    body, out = self.seq(br.body, xi)
                finally:
                    self.training = outer
                done[i] = (Branch(br.name, body), out)
        for i, (br, xi) in enumerate(zip(par.branches, inputs)):
            if _is_auto(br):
                target = next(iter(done.values()))[1]
                auto = cast(AutoShortcut, br.body.items[0])  # as _is_auto checked
                if auto.mode == "optional" and xi != target:
                    return self.drop_shortcut(par, i, done)
                body, out = self.seq(resolve_shortcut(auto, xi, target), xi)
                done[i] = (Branch(br.name, body), out)
        branches = [done[i] for i in range(len(par.branches))]
        if par.merge == "side":
            return Parallel(par.name, par.merge, tuple(b for b, _ in branches), par.split,
                            par.path, par.training), branches[0][1]
        out = self.merge(par, x, [s for _, s in branches])
        return Parallel(par.name, par.merge, tuple(b for b, _ in branches), par.split,
                        par.path), out

    def drop_shortcut(self, par: Parallel, index: int,
                      done: dict[int, tuple[Branch, Shape]]) -> tuple[Node, Shape]:
        """An optional shortcut whose shapes differ: the block is its body alone, no add.

        The body keeps the block's name, so a later ``from:``/``like:`` reference to the block
        finds its output in every walk of the graph (receptive field, memory, the built module).
        """
        (branch, out), = [v for k, v in done.items() if k != index]
        return replace(branch.body, name=par.name or branch.body.name), out

    def merge(self, par: Parallel, x: Shape, outs: list[Shape]) -> Shape:
        labels = [br.name or "body" for br in par.branches]
        out, ops = merged(par.merge, par.name, par.path, outs, labels)
        desc = {"concat": "concatenate " + ", ".join(labels),
                "add": "add " + " + ".join(labels),
                "mul": "scale " + " * ".join(labels)}[par.merge]
        self.add(Row(f"{par.name}.{par.merge}" if par.name else par.merge, par.merge,
                             desc, outs[0], out, ops={par.merge: ops} if ops else {},
                             path=par.path))
        return out


def _owner(seq: Seq) -> str:
    """The name an error about a sequence's ``from`` names: its own, or its first item's."""
    first = seq.items[0] if seq.items else None
    return seq.name or (getattr(first, "name", "") if first is not None else "") or "sequence"


def merged(merge: str, name: str, path: SpecPath, outs: list[Shape],
           labels: list[str]) -> tuple[Shape, int]:
    """The output shape of a merge and its element-wise operations (one per element per extra
    operand for add and mul; concat moves data only).  A merge of one tensor is that tensor:
    no operation."""
    if merge == "concat":
        return _concat(name, path, outs, labels), 0
    if merge == "add":
        out = _same(name, path, outs, labels)
    else:
        out = _broadcast(name, path, outs, labels)
    return out, (len(outs) - 1) * math.prod(out)


def _is_auto(br: Branch) -> bool:
    return len(br.body.items) == 1 and isinstance(br.body.items[0], AutoShortcut)


def _split(par: Parallel, x: Shape) -> list[Shape]:
    n = len(par.branches)
    if x[0] % n:
        raise spec_error("E402", f"split '{par.name}': {x[0]} channels do not split into {n} "
                         "equal parts", par.path, layer=par.name)
    return [(x[0] // n, *x[1:])] * n


def _concat(name: str, path: SpecPath, outs: list[Shape], labels: list[str]) -> Shape:
    rest = {s[1:] for s in outs}
    if len(rest) != 1 or len({len(s) for s in outs}) != 1:
        listing = ", ".join(f"{lab} {fmt_shape(s)}" for lab, s in zip(labels, outs))
        raise spec_error("E405", f"concat '{name}': branch outputs differ in spatial size: "
                         f"{listing}", path, layer=name,
                         hint="give every branch the same stride and padding")
    return (sum(s[0] for s in outs), *outs[0][1:])


def _same(name: str, path: SpecPath, outs: list[Shape], labels: list[str]) -> Shape:
    if len(set(outs)) != 1:
        listing = " vs ".join(f"{lab} {fmt_shape(s)}" for lab, s in zip(labels, outs))
        raise spec_error("E404", f"add '{name}': shapes differ: {listing}", path,
                         layer=name, hint="use a projection shortcut (shortcut: auto)")
    return outs[0]


def _broadcast(name: str, path: SpecPath, outs: list[Shape], labels: list[str]) -> Shape:
    out = max(outs, key=math.prod)
    for s in outs:
        if len(s) != len(out) or any(a not in (1, b) for a, b in zip(s, out)):
            listing = " vs ".join(f"{lab} {fmt_shape(t)}" for lab, t in zip(labels, outs))
            raise spec_error("E404", f"mul '{name}': shapes do not broadcast: {listing}",
                             path, layer=name)
    return out


def resolve_shortcut(auto: AutoShortcut, x: Shape, target: Shape) -> Seq:
    """Identity when ``x`` already has the ``target`` shape; else a projection or padding."""
    if x == target:
        return Seq(())
    if len(x) != 3 or len(target) != 3:
        raise spec_error("E404", f"shortcut '{auto.name}': cannot map {fmt_shape(x)} to "
                         f"{fmt_shape(target)}", auto.path, layer=auto.name)
    stride = _stride_between(auto, x, target)
    if auto.mode == "pad":
        return Seq((Layer(f"{auto.name}.pad", "pad_channels",
                          {"out": target[0], "stride": stride}, auto.path),))
    conv = Layer(f"{auto.name}.conv", "conv",
                 {"out": target[0], "kernel": (1, 1), "stride": (stride, stride),
                  "padding": (0, 0), "dilation": (1, 1), "groups": 1, "bias": False,
                  "connections": None}, auto.path)
    bn = Layer(f"{auto.name}.bn", "bn", {"affine": True}, auto.path)
    return Seq((conv, bn))


def _stride_between(auto: AutoShortcut, x: Shape, target: Shape) -> int:
    """The smallest stride s with ceil(H / s), ceil(W / s) = the target's H, W.

    ceil(n / s) = t holds exactly for s in [ceil(n / t), ceil(n / (t - 1))), an interval, so the
    smallest stride that works for both axes is the larger of the two lower ends, if any works
    (computed, not searched: a search over s would take as long as the input is wide).
    """
    if min(target[1:]) >= 1:
        s = max(-(-x[1] // target[1]), -(-x[2] // target[2]), 1)
        if (-(-x[1] // s), -(-x[2] // s)) == target[1:]:
            return s
    raise spec_error("E404", f"shortcut '{auto.name}': no stride maps {fmt_shape(x)} onto "
                     f"{fmt_shape(target)}", auto.path, layer=auto.name)


def analyze(graph: Seq, input_shape: Shape, *, name: str = "", title: str = "",
            source: str = "", batch: int = 1,
            inputs: tuple[tuple[str, Shape], ...] = (),
            outputs: tuple[str, ...] = (), memo: Memo | None = None) -> Report:
    """Walk ``graph`` from ``input_shape`` (the first of ``inputs``, when the spec names
    several); raise SpecError on the first impossible layer or unknown reference.  ``memo``
    reuses the walks of unchanged subtrees across configurations (:class:`Memo`)."""
    named = dict(inputs) if inputs else {"input": input_shape}
    walker = _Walker(named, memo)
    resolved, _ = walker.seq(graph, input_shape)
    outs = []
    for i, out in enumerate(outputs):
        if out not in walker.tensors:
            close = difflib.get_close_matches(out, list(walker.tensors), n=3)
            raise spec_error("E409", f"outputs: no tensor named '{out}'", ("outputs", i),
                             hint=("did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
                             if close else "name a layer, block, merge or input of the network")
        outs.append((out, walker.tensors[out]))
    return Report(name, title, source, input_shape, batch, tuple(walker.rows), resolved,
                  tuple(walker.sink.items), tuple(named.items()), tuple(outs))

"""Activation memory for inference (the peak of what is alive at once) and for training.

Conventions (stated once here and printed by ``cnnstat memory``):

* **Inference.**  The resolved graph runs in the order it is written; the branches of a block run
  one after another.  Every operation (layer or merge) writes a new output tensor: in-place
  operations are not modelled and views such as ``flatten`` count as copies.  A tensor is alive
  from the operation that writes it (the network input: from the start) until the last operation
  that reads it; so a block's input stays alive until its last branch (or its identity shortcut,
  which the merge reads) is done, and each branch's output until the merge.  Network outputs,
  including auxiliary (side) outputs, stay alive to the end.  The peak is the largest sum of live
  tensors during one operation, its inputs and its output included, plus the intermediate
  tensors the operation holds while it runs (``Row.scratch``: attention's Q, K, V and its
  heads x N x N scores and probabilities, counted as held at once).
* **Training.**  The network input and every operation's output are saved for the backward pass
  (in-place ReLU, activation recomputation and the transient gradients of activations are not
  modelled), and so are an operation's intermediate tensors (attention's ``scratch``); the weights, one gradient per weight, the optimizer state (SGD 0, SGD with momentum
  1, Adam 2 values per weight) and the buffers (BN running statistics) are stored once.

Everything is an exact element count; bytes = elements x the dtype's size.  Activations scale
with the batch; weights, gradients, optimizer state and buffers do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from cnnstat.core.ir import Join, Layer, Node, Parallel, Seq
from cnnstat.core.report import Report, Row

INFERENCE = ("inference: graph run in the order written, branches one after another; every "
             "operation writes a new tensor (no in-place ops; views such as flatten count as "
             "copies); a tensor lives from its producer to its last reader, a block's input until "
             "its merge; peak = largest live total during one operation")
TRAINING = ("training: the input and every operation's output are saved for backward (in-place "
            "ReLU, recomputation and transient activation gradients not modelled) + weights + "
            "gradients (1 x params) + optimizer state (SGD 0, SGD-momentum 1, Adam 2 x params) + "
            "buffers")

SCRATCH = ("live and saved elements include each attention's intermediate tensors, held at once: "
           "Q, K, V, the scaled queries, the heads' outputs and the projected tokens (6·N·C) and "
           "the heads x N x N scores and their softmax (2·h·N²), N = H*W")

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
OPTIMIZER_STATES = {"sgd": 0, "sgd-momentum": 1, "adam": 2}



@dataclass(frozen=True)
class Step:
    """One operation of the inference schedule: its row and the elements alive while it runs
    (per image)."""

    row: Row
    alive: int


@dataclass(frozen=True)
class Schedule:
    """The inference schedule of a report, per image."""

    input_elements: int
    steps: tuple[Step, ...]

    @property
    def peak(self) -> Step:
        """The first operation at which the live elements are largest."""
        return max(self.steps, key=lambda s: s.alive)

    @property
    def saved(self) -> int:
        """Elements saved for backward: the input and every operation's output."""
        return self.input_elements + sum(s.row.activations + s.row.scratch for s in self.steps)


class _Op(NamedTuple):  # a tuple: one is made per operation of every analysis
    row: Row
    reads: tuple[int, ...]
    writes: int


class _Trace:
    """Turns the resolved graph into operations reading and writing numbered tensors."""

    def __init__(self, report: Report, training: bool = False) -> None:
        self.training = training  # walk the training-only side outputs too
        self.rows = {row.name: row for row in report.rows}
        if len(self.rows) != len(report.rows):
            raise ValueError(f"{report.name}: operation names are not unique")
        self.sizes: list[int] = [_numel(report.input_shape)]
        self.ops: list[_Op] = []
        self.kept: set[int] = set()
        self.tensors: dict[str, int] = {}  # named outputs (``from`` references) -> tensor
        for i, (name, shape) in enumerate(report.inputs):
            if i:
                self.sizes.append(_numel(shape))
            self.tensors[name] = len(self.sizes) - 1

    def node(self, node: Node, x: int) -> int:
        if isinstance(node, Layer):
            src = self.tensors[node.inputs[0][0]] if node.inputs else x
            like = (self.tensors[node.like[0]],) if node.like else ()
            out = self.write(node.name, (src, *like))
        elif isinstance(node, Seq):
            if node.source:
                x = self.tensors[node.source[0]]
            if node.entry:  # another name of the same tensor: nothing is written
                self.tensors[node.entry] = x
            for item in node.items:
                x = self.node(item, x)
            out = x
        elif isinstance(node, Parallel):
            out = self.parallel(node, x)
        elif isinstance(node, Join):
            out = self.write(node.name, tuple(self.tensors[ref[0]] for ref in node.inputs))
        else:
            raise TypeError(f"unresolved node {node!r}")
        if node.name:
            self.tensors[node.name] = out
        return out

    def parallel(self, par: Parallel, x: int) -> int:
        if par.training and not self.training:  # a training-only side output: not at inference
            return self.node(par.branches[0].body, x)
        outs = [self.node(branch.body, x) for branch in par.branches]
        if par.merge == "side":
            self.kept.update(outs[1:])
            return outs[0]
        return self.write(f"{par.name}.{par.merge}" if par.name else par.merge, tuple(outs))

    def write(self, name: str, reads: tuple[int, ...]) -> int:
        row = self.rows[name]
        self.sizes.append(row.activations)
        self.ops.append(_Op(row, reads, len(self.sizes) - 1))
        return len(self.sizes) - 1


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def schedule(report: Report) -> Schedule:
    """Live elements during each operation of ``report``'s graph (see the module docstring)."""
    trace, alive = _alive(report)
    return Schedule(trace.sizes[0], tuple(Step(op.row, n) for op, n in zip(trace.ops, alive)))


def peak_elements(report: Report) -> int:
    """``schedule(report).peak.alive`` without the schedule (a sweep needs only the peak): the
    same walk, keeping per tensor only its size and its last reader."""
    trace = _Lives(report)
    out = trace.node(report.graph, 0)
    outputs = {trace.tensors[name] for name, _ in report.outputs}
    scratch, last, n = trace.scratch, trace.last, len(trace.scratch)
    for t in {*(outputs or {out}), *trace.kept}:
        last[t] = n - 1
    inputs = len(trace.sizes) - n  # then operation i writes tensor inputs + i
    delta = [0] * (n + 1)
    for t, size in enumerate(trace.sizes):
        start = t - inputs if t >= inputs else 0
        delta[start] += size
        delta[max(last[t], start) + 1] -= size
    peak = alive = 0
    for i in range(n):
        alive += delta[i]
        peak = max(peak, alive + scratch[i])
    return peak


class _Lives(_Trace):
    """:class:`_Trace`'s walk keeping, instead of the operations, each one's scratch and each
    tensor's last reader (operations are numbered in order, so the last write wins)."""

    def __init__(self, report: Report) -> None:
        super().__init__(report)
        self.last = [-1] * len(self.sizes)
        self.scratch: list[int] = []

    def write(self, name: str, reads: tuple[int, ...]) -> int:
        row = self.rows[name]
        i, last = len(self.scratch), self.last
        for t in reads:
            last[t] = i
        self.scratch.append(row.scratch)
        self.sizes.append(_numel(row.output_shape))
        last.append(-1)
        return len(self.sizes) - 1


def _alive(report: Report) -> tuple[_Trace, list[int]]:
    """The trace of ``report`` and the elements alive during each of its operations."""
    trace = _Trace(report)
    out = trace.node(report.graph, 0)
    outputs = {trace.tensors[name] for name, _ in report.outputs}
    n = len(trace.ops)
    born = [-1] * len(trace.sizes)
    last = [-1] * len(trace.sizes)
    for i, op in enumerate(trace.ops):
        born[op.writes] = i
        for t in op.reads:
            last[t] = max(last[t], i)
    for t in {*(outputs or {out}), *trace.kept}:
        last[t] = n - 1
    delta = [0] * (n + 1)
    for t, size in enumerate(trace.sizes):
        start = max(born[t], 0)
        end = max(last[t], start)
        delta[start] += size
        delta[end + 1] -= size
    series, alive = [], 0
    for i in range(n):
        alive += delta[i]
        series.append(alive + trace.ops[i].row.scratch)
    return trace, series


@dataclass(frozen=True)
class Dataflow:
    """Who reads and who writes what, by name: ``reads`` maps each operation to the operations
    (or inputs) whose outputs it reads; ``writers`` maps every named tensor (a layer, a named
    block or composite, a merge, an input) to the operation (or input) that writes it."""

    reads: dict[str, tuple[str, ...]]
    writers: dict[str, str]


def dataflow(report: Report, *, training: bool = False) -> Dataflow:
    """The :class:`Dataflow` of ``report``, from the same trace as :func:`schedule`; with
    ``training``, the training-only side outputs are traced too (as they run in training)."""
    trace = _Trace(report, training)
    trace.node(report.graph, 0)
    writer = {t: name for name, t in trace.tensors.items()
              if t < len(report.inputs) and name in dict(report.inputs)}
    writer.setdefault(0, report.input_names[0])
    writer.update({op.writes: op.row.name for op in trace.ops})
    return Dataflow({op.row.name: tuple(writer[t] for t in op.reads) for op in trace.ops},
                    {name: writer[t] for name, t in trace.tensors.items()})


def producers(report: Report) -> dict[str, tuple[str, ...]]:
    """For each operation, the operations (or inputs, by name) whose outputs it reads."""
    return dataflow(report).reads


def reads(report: Report) -> dict[str, int]:
    """Elements each operation reads, per image, by operation name: a layer its input, a merge
    every operand (an identity shortcut's operand is the block's input), from the same trace as
    :func:`schedule`."""
    trace = _Trace(report)
    trace.node(report.graph, 0)
    return {op.row.name: sum(trace.sizes[t] for t in op.reads) for op in trace.ops}


@dataclass(frozen=True)
class Breakdown:
    """Named element counts of one memory estimate, in display order."""

    parts: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.parts)

    @property
    def fixed(self) -> int:
        """Elements that do not scale with the batch (everything but the first part)."""
        return sum(n for _, n in self.parts[1:])


def inference(report: Report, sched: Schedule, batch: int) -> Breakdown:
    """Peak live activations for ``batch`` images, plus the weights and buffers."""
    t = report.totals
    return Breakdown((("activations at peak", sched.peak.alive * batch), ("weights", t.params),
                      ("buffers", t.buffers)))


def training(report: Report, sched: Schedule, batch: int, optimizer: str) -> Breakdown:
    """Saved activations for ``batch`` images (training-only parts included: they run in
    training), weights, gradients, optimizer state, buffers."""
    t = report.totals
    saved = sched.saved + sum(r.activations + r.scratch for r in report.rows if r.training)
    return Breakdown((("saved activations", saved * batch), ("weights", t.params),
                      ("gradients", t.params),
                      ("optimizer state", OPTIMIZER_STATES[optimizer] * t.params),
                      ("buffers", t.buffers)))


def largest_batch(per_image: int, fixed: int, dtype_bytes: int, budget: int) -> int | None:
    """The largest N with (fixed + N * per_image) * dtype_bytes <= budget (0: not even one
    image fits; None: activations take no memory, so any batch fits)."""
    if per_image == 0:
        return None
    return max(0, (budget - fixed * dtype_bytes) // (per_image * dtype_bytes))

"""Property tests: analytic fields against brute-force index sets, random chains and branches.

For every output unit of every row the brute force follows the unit's taps back to the input.
Unclipped (padding followed back as if the grid went on) its extremes must be the analytic field
[start + i*j - (r - 1)/2, start + i*j + (r - 1)/2] exactly; clipped to each layer's real rows they
must be the exact box the walk keeps.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rf_helpers import avgpool, back_1d, branch, conv, maxpool, named, parallel, plain

from cnnstat.core.analyze import analyze
from cnnstat.core.ir import Layer, Node, Parallel, Seq
from cnnstat.core.receptive import INPUT_FIELD, FieldReport, receptive_fields
from cnnstat.core.report import Report
from cnnstat.errors import SpecError

SETTINGS = settings(max_examples=60)
AXIS = st.integers(1, 5)


@st.composite
def window_layer(draw: st.DrawFn) -> Layer:
    """Any conv or pooling layer with per-axis sizes (it may not fit: callers filter)."""
    kind = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool", "relu", "pad"]))
    k = draw(st.tuples(AXIS, AXIS))
    s = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    if kind == "conv":
        d = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
        if draw(st.integers(0, 3)) == 0:  # 'same': asymmetric for even extents
            return conv(k, 1, "same", d)
        p = draw(st.tuples(st.integers(0, k[0]), st.integers(0, k[1])))
        return conv(k, s, p, d)
    if kind == "maxpool":
        d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
        # PyTorch wants pad <= kernel // 2 (of the raw kernel, whatever the dilation)
        p = tuple(draw(st.integers(0, k[a] // 2)) for a in (0, 1))
        return maxpool(k, s, p, d, ceil=draw(st.booleans()))  # type: ignore[arg-type]
    if kind == "avgpool":
        p = tuple(draw(st.integers(0, k[a] // 2)) for a in (0, 1))
        return avgpool(k, s, p, ceil=draw(st.booleans()))  # type: ignore[arg-type]
    if kind == "pad":
        return plain("pad_channels", out=2, stride=s[0])
    return plain("relu")


@st.composite
def same_size_layer(draw: st.DrawFn) -> Layer:
    """A stride-1 layer that keeps the size ('same' convs shift odd/even kernels by half)."""
    kind = draw(st.sampled_from(["conv", "conv", "maxpool", "relu"]))
    k = draw(st.tuples(AXIS, AXIS))
    if kind == "conv":
        return conv(k, 1, "same", draw(st.tuples(st.integers(1, 2), st.integers(1, 2))))
    if kind == "maxpool":
        odd = (2 * (k[0] // 2) + 1, 2 * (k[1] // 2) + 1)
        return maxpool(odd, 1, (odd[0] // 2, odd[1] // 2))
    return plain("relu")


def fitting(draw: st.DrawFn, make: st.SearchStrategy[Layer], head: tuple[Node, ...],
            size: tuple[int, int], count: int, prefix: str) -> tuple[Node, ...]:
    """Append up to ``count`` drawn layers to ``head``, skipping those that do not fit."""
    nodes = head
    for i in range(count):
        layer = draw(make)
        candidate = (*nodes, Layer(f"{prefix}{i}", layer.kind, layer.args))
        try:
            analyze(Seq(candidate), (2, *size))
        except SpecError:
            continue
        nodes = candidate
    return nodes


@st.composite
def chains(draw: st.DrawFn) -> tuple[Seq, tuple[int, int]]:
    size = draw(st.tuples(st.integers(4, 40), st.integers(4, 40)))
    nodes = fitting(draw, window_layer(), (), size, draw(st.integers(1, 6)), "l")
    return Seq(nodes or (plain("relu", name="l0"),)), size


@st.composite
def branching(draw: st.DrawFn) -> tuple[Seq, tuple[int, int]]:
    """prefix chain -> add or concat of 2-3 size-keeping branches (maybe identity) -> suffix."""
    size = draw(st.tuples(st.integers(6, 32), st.integers(6, 32)))
    head = fitting(draw, window_layer(), (), size, draw(st.integers(0, 3)), "p")
    branches = []
    for b in range(draw(st.integers(2, 3))):
        layers = [draw(same_size_layer()) for _ in range(draw(st.integers(0, 3)))]
        branches.append(branch(f"b{b}", *layers))
    merge = draw(st.sampled_from(["add", "concat"]))
    nodes = (*head, parallel("m", merge, *branches))
    nodes = fitting(draw, window_layer(), nodes, size, draw(st.integers(0, 2)), "s")
    return Seq(named(nodes)), size


def _prefix(graph: Seq, upto: int) -> Seq:
    return Seq(graph.items[: upto + 1])


def check_every_unit(graph: Seq, report: Report, fields: FieldReport, exact_field: bool) -> None:
    """Each top-level node's output units against brute force, per axis."""
    inputs = {r.name: r.input_shape for r in report.rows}
    for index, node in enumerate(graph.items):
        name = node.name if isinstance(node, Layer) else f"{node.name}.{node.merge}"  # type: ignore
        fr = fields.find(name)
        assert fr is not None
        for axis in (0, 1):
            field, boxes = fr.fields[axis], fr.boxes[axis]
            for unit in range(len(boxes)):
                seen = back_1d(_prefix(graph, index), axis, {unit}, inputs, clip=True)
                reach = back_1d(_prefix(graph, index), axis, {unit}, inputs, clip=False)
                assert boxes[unit] == ((min(seen), max(seen)) if seen else None)
                lo, hi = field.span(unit)
                if exact_field:
                    assert (min(reach), max(reach)) == (lo, hi), (name, axis, unit)
                else:
                    assert lo <= min(reach) and max(reach) <= hi


def _dense(graph: Seq) -> bool:
    """No holes anywhere: every window is undilated and at least as wide as its stride."""
    for node in graph.items:
        a = node.args if isinstance(node, Layer) else {}
        if node.kind == "pad_channels" and a["stride"] > 1:  # type: ignore[union-attr]
            return False
        if "kernel" in a:
            stride = a.get("stride") or a["kernel"]
            dil = a.get("dilation", (1, 1))
            if dil != (1, 1) or any(k < s for k, s in zip(a["kernel"], stride)):
                return False
    return True


@SETTINGS
@given(chains())
def test_chain_fields_equal_brute_force(case: tuple[Seq, tuple[int, int]]) -> None:
    graph, size = case
    report = analyze(graph, (2, *size))
    fields = receptive_fields(report)
    check_every_unit(graph, report, fields, exact_field=True)
    assert not [d for d in fields.diagnostics if d.code == "W502"]


@SETTINGS
@given(chains())
def test_dense_chains_see_a_full_rectangle(case: tuple[Seq, tuple[int, int]]) -> None:
    """Without holes the unit depends on every row of its box, and the box is the analytic
    field wherever that field lies inside the input."""
    graph, size = case
    report = analyze(graph, (2, *size))
    fields = receptive_fields(report)
    inputs = {r.name: r.input_shape for r in report.rows}
    last = fields.rows[-1]
    dense = _dense(graph)
    for axis in (0, 1):
        for unit, box in enumerate(last.boxes[axis]):
            seen = back_1d(graph, axis, {unit}, inputs, clip=True)
            if dense and box is not None:
                assert seen == set(range(box[0], box[1] + 1))
            lo, hi = last.fields[axis].span(unit)
            if dense and lo >= 0 and hi < size[axis]:
                assert box == (lo, hi)


@settings(max_examples=40)
@given(branching())
def test_branching_fields_equal_brute_force(case: tuple[Seq, tuple[int, int]]) -> None:
    """Every branch keeps the jump, so the union of the paths' fields is exact too; W502 is
    raised exactly when the branches arrive with different starts (sizes may differ)."""
    graph, size = case
    report = analyze(graph, (2, *size))
    fields = receptive_fields(report)
    check_every_unit(graph, report, fields, exact_field=True)
    index, merge = next((i, n) for i, n in enumerate(graph.items) if isinstance(n, Parallel))
    head = fields.find(graph.items[index - 1].name) if index else None  # type: ignore[union-attr]
    before = head.fields if head else (INPUT_FIELD, INPUT_FIELD)
    arriving = set()
    for br in merge.branches:
        tail = fields.find(br.body.items[-1].name) if br.body.items else None  # type: ignore
        arriving.add(tuple((f.jump, f.start) for f in (tail.fields if tail else before)))
    warned = any(d.code == "W502" for d in fields.diagnostics)
    assert warned == (len(arriving) > 1)

"""cnnstat graph as text: the diagram model, DOT and Mermaid, from small specs whose boxes and
edges are counted by hand, and the collapsed diagrams of the deep zoo networks.  Nothing here
needs Graphviz (tests/test_graph_draw.py lays diagrams out)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnnstat.analysis.pipeline import run
from cnnstat.render import dot, mermaid
from cnnstat.render.diagram import Cluster
from cnnstat.views import graph
from tests.conftest import write

RESIDUAL = """\
name: tiny-res
title: a residual step
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - residual:
      body:
        - conv: {out: 4, kernel: 3, padding: 1, bias: false}
        - bn
      shortcut: identity
      then: [relu]
"""
INCEPTION = """\
name: tiny-inception
title: three branches
input: [4, 8, 8]
layers:
  - concat:
      branches:
        - [conv: {out: 2, kernel: 1}]
        - [conv: {out: 3, kernel: 3, padding: 1}]
        - [maxpool: {kernel: 3, stride: 1, padding: 1}]
"""
DENSE = """\
name: tiny-dense
title: two dense layers
input: [4, 8, 8]
layers:
  - dense:
      count: 2
      layers: [conv: {out: 2, kernel: 3, padding: 1}]
"""
UNET = """\
name: tiny-unet
title: one skip
input: [1, 16, 16]
layers:
  - conv: {out: 4, kernel: 3, name: enc}
  - maxpool: {kernel: 2}
  - conv: {out: 4, kernel: 3}
  - conv_transpose: {out: 4, kernel: 2, stride: 2, name: up}
  - crop: {from: enc, like: up, name: skip}
  - concat: {from: [skip, up], name: cat}
"""
CHAIN = """\
name: chain
title: a chain
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - relu
  - maxpool: {kernel: 2}
  - flatten
  - linear: {out: 10}
"""
TWO_HEADS = """\
name: two-heads
title: two outputs
inputs: {image: [3, 32, 32]}
layers:
  - conv: {out: 8, kernel: 3, padding: 1, name: enc1}
  - maxpool: {kernel: 2}
  - conv: {out: 16, kernel: 3, padding: 1, name: bottom}
  - conv: {out: 8, kernel: 3, padding: 1, from: enc1, name: side}
  - add: {from: [enc1, side], name: fuse}
  - global_avgpool: {from: bottom, name: aux}
outputs: [fuse, aux]
"""

_NODE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" \[label=')
_EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[label="([^"]*)"(.*)\];$')


def dot_text(spec: str, **kw: object) -> str:
    return graph.diagram(run(spec), "dot", **kw).decode()  # type: ignore[arg-type]


def nodes(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := _NODE.match(line))]


def edges(text: str) -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for line in text.splitlines()
            if (m := _EDGE.match(line))]


def test_chain_one_box_per_operation_and_one_edge_between_neighbours(tmp_path: Path) -> None:
    text = dot_text(write(tmp_path, CHAIN))
    names = ["input", "conv1", "relu1", "maxpool1", "flatten1", "linear1"]
    assert nodes(text) == names
    assert edges(text) == [("input", "conv1", "3x8x8"), ("conv1", "relu1", "4x8x8"),
                           ("relu1", "maxpool1", "4x8x8"), ("maxpool1", "flatten1", "4x4x4"),
                           ("flatten1", "linear1", "64")]


def test_chain_labels_and_fill_by_share_of_macs(tmp_path: Path) -> None:
    model = graph.build(run(write(tmp_path, CHAIN)).report)
    boxes = {b.lines[0]: b for b in model.boxes}
    # conv: 8*8 outputs x 4 filters x 3*3*3 taps; params 4*27 weights + 4 biases
    conv_macs, linear_macs = 8 * 8 * 4 * 27, 64 * 10
    assert boxes["conv1"].lines == ("conv1", "conv", "4x8x8", "params 112",
                                    f"MACs {conv_macs:,}")
    assert boxes["linear1"].lines == ("linear1", "linear", "10", "params 650", "MACs 640")
    total = conv_macs + linear_macs  # 7,552: conv 91.5%, linear 8.5%
    assert boxes["conv1"].swatch == graph.MOST
    assert 5 * total <= 100 * linear_macs < 10 * total
    assert boxes["linear1"].swatch.meaning == "5% to under 10%"
    assert boxes["relu1"].swatch == graph.NO_MACS
    assert model.legend_title == "fill: share of the network's MACs"
    assert [s.meaning for s in model.legend][0] == "no MACs"
    assert boxes["linear1"].output and not boxes["conv1"].output


def test_batch_scales_macs_not_params(tmp_path: Path) -> None:
    model = graph.build(run(write(tmp_path, CHAIN), batch=4).report)
    conv = next(b for b in model.boxes if b.lines[0] == "conv1")
    assert conv.lines[3:] == ("params 112", f"MACs {4 * 8 * 8 * 4 * 27:,}")
    assert "batch 4: 762 params, 30,208 MACs" in model.title[1]  # 4 x 7,552


def test_residual_shortcut_is_an_edge_from_the_block_input_to_the_add(tmp_path: Path) -> None:
    text = dot_text(write(tmp_path, RESIDUAL))
    assert len(nodes(text)) == 1 + 5  # input, conv1, body conv and bn, add, relu
    assert ("conv1", "residual1.add", "4x8x8") in edges(text)
    assert len(edges(text)) == 5 + 1  # a chain of six boxes, plus the shortcut
    assert 'subgraph "cluster_c0"' in text and 'label="residual1"' in text


def test_inception_branches_fan_out_and_merge(tmp_path: Path) -> None:
    found = edges(dot_text(write(tmp_path, INCEPTION)))
    branches = ["concat1.branch1.conv1", "concat1.branch2.conv1", "concat1.branch3.maxpool1"]
    assert [e for e in found if e[0] == "input"] == [("input", b, "4x8x8") for b in branches]
    assert [(s, lbl) for s, d, lbl in found if d == "concat1.concat"] == \
        list(zip(branches, ["2x8x8", "3x8x8", "4x8x8"]))
    assert len(found) == 3 + 3


def test_dense_layers_read_the_growing_concatenation(tmp_path: Path) -> None:
    found = edges(dot_text(write(tmp_path, DENSE)))
    # each dense layer: input -> conv, input -> concat, conv -> concat (4, then 4 + 2 channels)
    assert found == [("input", "dense1.layer1.conv1", "4x8x8"),
                     ("input", "dense1.layer1.concat", "4x8x8"),
                     ("dense1.layer1.conv1", "dense1.layer1.concat", "2x8x8"),
                     ("dense1.layer1.concat", "dense1.layer2.conv1", "6x8x8"),
                     ("dense1.layer1.concat", "dense1.layer2.concat", "6x8x8"),
                     ("dense1.layer2.conv1", "dense1.layer2.concat", "2x8x8")]


def test_unet_skip_and_size_only_reference(tmp_path: Path) -> None:
    text = dot_text(write(tmp_path, UNET))
    found = edges(text)
    assert ("enc", "skip", "4x14x14") in found  # the skip: 16 - 3 + 1 = 14
    assert ("up", "skip", "4x10x10") in found  # like: up (5 * 2 = 10), its size only
    assert '"up" -> "skip" [label="4x10x10", style=dotted];' in text
    assert len(found) == 5 + 3  # the chain of six boxes, the skip, the like, up -> cat


def test_from_references_and_two_outputs(tmp_path: Path) -> None:
    model = graph.build(run(write(tmp_path, TWO_HEADS)).report)
    names = {b.id: b.lines[0] for b in model.boxes}
    pairs = {(names[e.src], names[e.dst]) for e in model.edges}
    assert {("enc1", "side"), ("enc1", "fuse"), ("side", "fuse"), ("bottom", "aux")} <= pairs
    assert names[model.boxes[0].id] == "image"
    assert sorted(b.lines[0] for b in model.boxes if b.output) == ["aux", "fuse"]


def test_depth_collapses_blocks_into_boxes_with_their_totals() -> None:
    text = dot_text("resnet18", depth=1)
    assert nodes(text) == ["input", "conv1", "bn1", "relu1", "maxpool1", "layer1", "layer2",
                           "layer3", "layer4", "global_avgpool1", "flatten1", "fc"]
    assert len(edges(text)) == 11
    layer1 = next(b for b in graph.build(run("resnet18").report, depth=1).boxes
                  if b.lines[0] == "layer1")
    # two basic blocks of two 3x3 convs (64 -> 64, no bias) and two batch norms at 56x56
    params = 2 * 2 * (64 * 64 * 9 + 2 * 64)
    macs = 2 * 2 * 56 * 56 * 64 * 64 * 9
    assert layer1.lines == ("layer1", "block of 14 operations", "64x56x56",
                            f"params {params:,}", f"MACs {macs:,}")
    assert layer1.block


def test_deep_networks_collapse_by_default_to_at_most_150_boxes() -> None:
    r152 = run("resnet152").report
    assert len(r152.rows) > graph.MAX_OPEN and graph.auto_depth(r152) == 2
    model = graph.build(r152)
    # stem (conv, bn, relu, maxpool) + 3 + 8 + 36 + 3 bottlenecks + head (pool, flatten, fc)
    assert len(model.boxes) == 1 + 4 + (3 + 8 + 36 + 3) + 3
    assert "blocks collapsed below depth 2" in model.title[-1]
    d201 = run("densenet201").report
    depth = graph.auto_depth(d201)
    assert depth is not None and len(graph.build(d201).boxes) <= graph.MAX_OPEN + 1
    assert graph.auto_depth(run("resnet18").report) is None  # 69 operations: all drawn


def test_training_only_parts_are_dashed_with_their_own_edges() -> None:
    report = run("inception-v3").report
    model = graph.build(report, depth=2)
    dashed = [b for b in model.boxes if b.dashed]
    assert dashed and all(b.swatch == graph.TRAINING for b in dashed)
    assert graph.TRAINING in model.legend
    ids = {b.id for b in dashed}
    assert any(e.dst in ids for e in model.edges)


def test_rf_on_request(tmp_path: Path) -> None:
    spec = write(tmp_path, CHAIN)
    plain = graph.build(run(spec).report)
    with_rf = graph.build(run(spec).report, rf=True)
    pool = next(b for b in with_rf.boxes if b.lines[0] == "maxpool1")
    assert pool.lines[-1] == "RF 4"  # 3x3 conv (3), then a 2x2 pool at jump 1: 3 + 1
    assert not any(line.startswith("RF") for b in plain.boxes for line in b.lines)


def test_same_spec_same_text(tmp_path: Path) -> None:
    spec = write(tmp_path, INCEPTION)
    for fmt in ("dot", "mmd"):
        assert graph.diagram(run(spec), fmt) == graph.diagram(run(spec), fmt)


def test_mermaid_structure(tmp_path: Path) -> None:
    text = graph.diagram(run(write(tmp_path, RESIDUAL)), "mmd").decode()
    lines = text.splitlines()
    assert lines[:4] == ["---", 'title: "tiny-res: a residual step"', "---", "flowchart TB"]
    assert sum("-->|" in line for line in lines) == 6
    assert sum(bool(re.match(r"\s*n\d+[\[(]", line)) for line in lines) == 6
    assert '  n1 -->|"4x8x8"| n4' in lines  # the shortcut: conv1 -> residual1.add
    assert any(line.strip().startswith('subgraph c0["residual1"]') for line in lines)
    assert "  classDef s0 fill:#ffffff,color:#000000,stroke:#555555" in lines


HOSTILE = 'a"b\\N<i>#quot;&`x'


def test_dot_quoting_shows_a_name_exactly() -> None:
    assert dot.quote(HOSTILE) == '"a\\"b\\\\N<i>#quot;&amp;`x"'  # Graphviz decodes entities
    assert dot.quote("t\x1b[2J\n") == '"t\\\\x1b[2J\\\\n"'
    assert dot.label(["a", 'b"']) == '"a\\nb\\""'
    assert dot.html('<b>&"') == "&lt;b&gt;&amp;&quot;"


def test_mermaid_quoting_leaves_no_syntax() -> None:
    text = mermaid.text(HOSTILE)
    assert text == "a#quot;b\\N#lt;i#gt;#35;quot;#amp;#96;x"
    assert not set('"<>`') & set(text)
    assert mermaid.quote(["x", "y"]) == '"x<br>y"'


def test_a_hostile_name_and_title_stay_inside_their_quotes(tmp_path: Path) -> None:
    spec = write(tmp_path, CHAIN.replace("title: a chain", 'title: "t\\"}\\n digraph {"')
                 .replace("kernel: 3, padding: 1}", f"kernel: 3, padding: 1, name: '{HOSTILE}'}}"))
    text = dot_text(spec)
    assert nodes(text)[1] == dot.quote(HOSTILE)[1:-1]
    assert text.count("digraph") == 1 + 1  # the header, and the title's text, quoted
    assert sum(line.startswith("digraph") for line in text.splitlines()) == 1
    mmd = graph.diagram(run(spec), "mmd").decode()
    assert mermaid.text(HOSTILE) in mmd and HOSTILE not in mmd
    # the title is a JSON string in the front matter: one line, read back exactly
    title = mmd.splitlines()[1]
    assert json.loads(title.removeprefix("title: ")) == 'chain: t"}\\n digraph {'
    assert mmd.splitlines()[2] == "---"


def test_clusters_only_for_prefixes_with_two_boxes() -> None:
    from cnnstat.views.graph_clusters import clusters

    top = clusters([("a.x", "n0"), ("a.y", "n1"), ("b.z", "n2"), ("c", "n3")])
    assert top == [Cluster("c0", "a", ("n0", "n1")), "n2", "n3"]


def test_unknown_format_is_a_bug_not_a_file() -> None:
    with pytest.raises(ValueError, match="unknown diagram format"):
        graph.diagram(run("lenet5"), "jpg")


def test_every_zoo_diagram_is_connected() -> None:
    """Every built-in spec at its default depth: each edge joins two boxes, every box but the
    inputs is reached by an edge, and at most MAX_OPEN boxes (plus the inputs) are drawn."""
    from cnnstat.analysis.pipeline import builtin_names
    from cnnstat.core.memory import dataflow

    for name in builtin_names():
        report = run(name).report
        assert set(dataflow(report, training=True).reads) == {r.name for r in report.rows}
        model = graph.build(report)
        ids = {b.id for b in model.boxes}
        inputs = {b.id for b in model.boxes if b.lines[1] == "input"}
        assert all(e.src in ids and e.dst in ids for e in model.edges), name
        assert {e.dst for e in model.edges} == ids - inputs, name
        assert len(model.boxes) - len(inputs) <= graph.MAX_OPEN or \
            graph.auto_depth(report) == 1, name


@pytest.mark.parametrize("fmt", ["dot", "mmd"])
def test_golden_text(fmt: str, cli, golden) -> None:  # type: ignore[no-untyped-def]
    """The whole text of one diagram, pinned (``pytest --overwrite`` rewrites it)."""
    result = cli("graph", "inception-bottleneck", "-o", "-", "--format", fmt, "--rf")
    assert result.exit_code == 0, result.stderr
    golden(f"graph/inception-bottleneck.{fmt}", result.stdout)

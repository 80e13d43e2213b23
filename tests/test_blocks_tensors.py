"""Blocks that take tensors, the input's channels, loops that generate structure, recursion
(issue 28, sections 1 and 2): ``from:`` on block calls, composites and repeat copies; ``$in`` and
``$in.channels``; tensor-valued block arguments; name templates and per-copy scopes; generated
``from:`` lists; ``if:``; recursive blocks; a merge of one tensor.  Expected values are
arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core.analyze import Memo as WalkMemo
from cnnstat.core.analyze import analyze as walk
from cnnstat.core.report import Report, Row
from cnnstat.errors import SpecError
from cnnstat.spec import loader
from cnnstat.spec.memo import Memo
from tests.conftest import write


def rows_of(tmp_path: Path, text: str, **kw: object) -> dict[str, Row]:
    return {r.name: r for r in analysis.analyze(write(tmp_path, text), **kw).rows}  # type: ignore[arg-type]


def report_of(tmp_path: Path, text: str) -> Report:
    return analysis.analyze(write(tmp_path, text))


def error_of(tmp_path: Path, text: str) -> tuple[str, tuple[object, ...], str]:
    with pytest.raises(SpecError) as info:
        analysis.analyze(write(tmp_path, text))
    diag = info.value.diagnostics[0]
    return diag.code, diag.path, diag.message


FROM = """\
name: t
input: [3, 8, 8]
blocks:
  unit:
    args: {out: required}
    layers: [conv: {out: $out, kernel: 3, padding: 1}, relu]
layers:
  - conv: {out: 4, kernel: 1, name: a}
  - conv: {out: 6, kernel: 1, name: b}
  - unit: {out: 5, from: a}
  - residual: {from: a, body: [conv: {out: 4, kernel: 3, padding: 1}]}
  - concat: {from: b, branches: [[relu], [conv: {out: 2, kernel: 1}]]}
"""


def test_from_on_a_block_call_a_composite_and_a_concat_with_branches(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, FROM)
    assert rows["unit1.conv1"].input_shape == (4, 8, 8)  # a, not b
    assert rows["unit1.conv1"].reads == ()  # the block reads a; its first layer its input
    assert rows["unit1.conv1"].params == 4 * 5 * 3 * 3 + 5
    assert rows["residual1.conv1"].input_shape == (4, 8, 8)
    assert rows["residual1.add"].output_shape == (4, 8, 8)  # a + body(a): the shortcut is a
    assert rows["concat1.concat"].output_shape == (6 + 2, 8, 8)  # both branches fed b


INPUT = """\
name: t
input: [3, 8, 8]
blocks:
  grow:               # MobileViT's fusion: the block's input concatenated with its work
    args: {out: required}
    layers:
      - conv: {out: $out, kernel: 3, padding: 1}
      - concat: {from: [$in, conv1]}
  skip:               # a shortcut given by the caller, else the block's own input
    args: {shortcut: $in}
    layers: [conv: {out: 3, kernel: 1}, add: {from: [conv1, $shortcut]}]
layers:
  - grow: {out: 5}
  - conv: {out: 3, kernel: 1, name: c}
  - skip
  - skip: {shortcut: c}
"""


def test_in_names_the_blocks_input(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, INPUT)
    assert rows["grow1.concat1"].output_shape == (3 + 5, 8, 8)
    assert rows["grow1.concat1"].reads == ("grow1.$in", "grow1.conv1")
    assert rows["skip1.add1"].reads == ("skip1.conv1", "skip1.$in")
    assert rows["skip2.add1"].reads == ("skip2.conv1", "c")  # looked up where it was passed


SHADOW = """\
name: t
input: [2, 8, 8]
blocks:
  inner:
    args: {src: required}
    layers:
      - conv: {out: 7, kernel: 1, name: x}   # a tensor of the same name inside the block
      - relu: {from: $src}
layers:
  - conv: {out: 3, kernel: 1, name: x}
  - inner: {src: x}
"""


def test_a_tensor_argument_is_looked_up_from_the_call(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, SHADOW)
    assert rows["inner1.relu1"].reads == ("x",) and rows["inner1.relu1"].input_shape == (3, 8, 8)


DEPTHWISE = """\
name: t
input: [3, 8, 8]
blocks:
  dw:                 # depthwise 3x3 + pointwise: no input width threaded through
    args: {out: required}
    layers:
      - conv: {out: $in.channels, kernel: 3, padding: 1, groups: $in.channels, bias: false}
      - conv: {out: $out, kernel: 1, bias: false}
  pool:               # a window as large as the map
    layers: [avgpool: {kernel: "=[$in.h, $in.w]"}]
layers:
  - dw: {out: 6}
  - dw: {out: 10}
  - pool
"""


@pytest.mark.parametrize("c", [3, 5])
def test_in_channels_is_the_width_that_arrives(tmp_path: Path, c: int) -> None:
    rows = rows_of(tmp_path, DEPTHWISE, input=(c, 8, 6))
    assert rows["dw1.conv1"].params == c * 3 * 3
    assert rows["dw1.conv2"].params == c * 6
    assert rows["dw2.conv1"].params == 6 * 3 * 3
    assert rows["dw2.conv2"].params == 6 * 10
    assert rows["dw2.conv1"].macs == 8 * 6 * 6 * 3 * 3
    assert rows["pool1.avgpool1"].output_shape == (10, 1, 1)  # kernel [8, 6]


def test_in_channels_outside_a_block_is_located(tmp_path: Path) -> None:
    code, path, message = error_of(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers:\n"
                                             "  - conv: {out: $in.channels, kernel: 1}\n")
    assert (code, path) == ("E302", ("layers", 0, "conv", "out"))
    assert "input of a block" in message


ONE = """\
name: t
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 1, name: a}
  - concat: {from: a}
  - add: {from: [a]}
  - concat: [[relu]]
"""


def test_a_merge_of_one_tensor_passes_it_through(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, ONE)
    for name in ("concat1", "add1", "concat2.concat"):
        assert rows[name].output_shape == (4, 8, 8)
        assert rows[name].ops == {}  # no element-wise operation: nothing to merge with


LOOPS = """\
name: t
input: [3, 8, 8]
params: {n: 3}
layers:
  - conv: {out: 2, kernel: 1, name: stem}
  - repeat: $n              # three branches, each a scope of its own, each from the stem
    index: i
    name: "b$i"
    from: stem
    layers: [conv: {out: "4 * ($i + 1)", kernel: 1}, relu]
  - concat: {from: {repeat: $n, index: j, from: "b$j"}, name: "all${$n}"}
"""


def test_repeat_copies_are_named_scopes_and_generated_lists_merge_them(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, LOOPS)
    assert [r for r in rows if r.startswith("b")] == [
        "b0.conv1", "b0.relu1", "b1.conv1", "b1.relu1", "b2.conv1", "b2.relu1"]  # index from 0
    assert rows["b2.conv1"].input_shape == (2, 8, 8) and rows["b2.conv1"].params == 2 * 12 + 12
    assert rows["all3"].reads == ("b0", "b1", "b2")
    assert rows["all3"].output_shape == (4 + 8 + 12, 8, 8)


TREE = """\
name: t
input: [4, 8, 8]
blocks:
  tree:               # a binary tree of 1x1 convs; the leaves concatenate what they are handed
    args: {levels: required, children: []}
    layers:
      - conv: {out: 4, kernel: 1, name: "c$levels"}
      - concat: {from: [$in, c$levels, $children], if: $levels == 1}
      - tree: {levels: $levels - 1, children: [$children, "c$levels"], if: $levels > 1}
      - tree: {levels: $levels - 1, if: "$levels > 1 and $levels != 3"}
layers:
  - tree: {levels: 3}
"""


def test_a_recursive_block_stops_at_its_base_case(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, TREE)
    convs = sorted(n for n, r in rows.items() if r.kind == "conv")
    assert convs == ["tree1.c3", "tree1.tree1.c2", "tree1.tree1.tree1.c1",
                     "tree1.tree1.tree2.c1"]
    # the deepest first leaf: its input, its conv, and the convs handed down (c3, then c2)
    assert rows["tree1.tree1.tree1.concat1"].reads == (
        "tree1.tree1.tree1.$in", "tree1.tree1.tree1.c1", "tree1.c3", "tree1.tree1.c2")
    assert rows["tree1.tree1.tree1.concat1"].output_shape == (4 * 4, 8, 8)
    # the second leaf, handed nothing: its input (the first leaf's output) and its conv
    assert rows["tree1.tree1.tree2.concat1"].output_shape == (4 * 4 + 4, 8, 8)


def test_a_recursion_without_a_base_case_is_located(tmp_path: Path) -> None:
    code, path, message = error_of(tmp_path, TREE.replace(", if: $levels > 1}", "}"))
    assert code == "E205" and path == ("blocks", "tree", "layers", 2, "tree")
    assert "tree -> tree" in message and "base case" in message


def test_conditions_choose_items(tmp_path: Path) -> None:
    text = ("name: t\ninput: [3, 8, 8]\nparams: {k: 2}\nlayers:\n"
            "  - relu: {if: $k > 1 and $k < 3}\n  - tanh: {if: not $k == 2}\n"
            "  - repeat: 2\n    if: 1 < $k <= 2\n    layers: [sigmoid]\n"
            "  - conv: {out: \"1 if $k == 2 else 9\", kernel: 1}\n")
    assert [r.name for r in report_of(tmp_path, text).rows] == [
        "relu1", "sigmoid1", "sigmoid2", "conv1"]
    assert report_of(tmp_path, text).rows[-1].output_shape == (1, 8, 8)


SWEPT = """\
name: t
input: [3, 16, 16]
params: {w: 1}
blocks:
  dw:
    layers: [conv: {out: $in.channels, kernel: 3, padding: 1, groups: $in.channels}, bn]
  tree:
    args: {levels: required, out: required, children: []}
    layers:
      - conv: {out: $out, kernel: 3, padding: 1, name: a}
      - dw: {name: d}
      - concat: {from: [$in, a, d, $children], if: $levels == 1}
      - tree: {levels: $levels - 1, out: $out, children: [$children, a], if: $levels > 1}
      - tree: {levels: $levels - 1, out: $out * 2, children: [$children, d], if: $levels > 1}
layers:
  - conv: {out: 4 * $w, kernel: 1}
  - dw
  - tree: {levels: $w + 1, out: 2 * $w}
"""


def test_a_sweep_with_memos_gives_the_fresh_reports(tmp_path: Path) -> None:
    """The memos of a sweep (block expansions, walks of subtrees, whole graphs) hold blocks that
    are expanded only during the walk: every configuration equals its fresh analysis."""
    parsed = loader.parse_text(SWEPT, "t.yaml")
    memo, walks = Memo(), WalkMemo()
    for w in (1, 2, 1, 3, 2):
        for c, s in ((3, 16), (5, 8), (3, 16)):
            kept = loader.build(parsed, None, {"w": w}, (c, s, s), memo=memo)
            fresh = loader.build(parsed, None, {"w": w}, (c, s, s))
            assert walk(kept.graph, kept.input_shape, memo=walks) == walk(fresh.graph,
                                                                          fresh.input_shape)
    assert walks.hits > 0


def test_generated_names_collide_located(tmp_path: Path) -> None:
    code, path, _ = error_of(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers:\n  - repeat: 2\n"
                                       "    index: i\n    layers: [relu: {name: \"r${$i // 2}\"}]\n")
    assert (code, path) == ("E208", ("layers", 0, "layers", 0, "relu", "name"))


@pytest.mark.parametrize(("arg", "code"), [("in", "E206"), ("from", "E206")])
def test_reserved_argument_names(tmp_path: Path, arg: str, code: str) -> None:
    got, path, _ = error_of(tmp_path, f"name: t\ninput: [3, 8, 8]\nblocks:\n"
                                      f"  b: {{args: {{{arg}: 1}}, layers: [relu]}}\nlayers: [b]\n")
    assert (got, path) == (code, ("blocks", "b", "args", arg))


@pytest.mark.torch
@pytest.mark.usefixtures("torch_one_thread")
@pytest.mark.parametrize("text", [FROM, INPUT, SHADOW, DEPTHWISE, ONE, LOOPS, TREE, SWEPT],
                         ids=["from", "in", "shadow", "depthwise", "one", "loops", "tree",
                              "swept"])
def test_the_built_network_is_the_analysed_one(tmp_path: Path, text: str) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from cnnstat.torch_backend.verify import verify_report

    result = verify_report(analysis.analyze(write(tmp_path, text)), ("torch",))
    assert result.ok, result.first_divergence

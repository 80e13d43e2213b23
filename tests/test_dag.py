"""Any DAG: ``from:`` references to any earlier tensor, ``add``/``concat``/``mul`` of named
tensors, several named inputs and outputs; shapes, counts, per-output totals, memory liveness
and receptive fields follow the references.  Expected values are arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cnnstat import analysis
from cnnstat.core import memory
from cnnstat.core.outputs import heads
from cnnstat.core.receptive import receptive_fields
from cnnstat.errors import SpecError, UsageError
from tests.conftest import write

SKIP = """\
name: skip
input: [3, 32, 32]
blocks:
  down:
    args: {c: required}
    layers:
      - conv: {out: $c, kernel: 3, padding: 1, name: conv}
      - relu
layers:
  - down: {c: 8, name: enc1}
  - maxpool: {kernel: 2}
  - down: {c: 16, name: enc2}
  - conv: {out: 8, kernel: 1, name: reduce}
  - conv: {out: 8, kernel: 3, padding: 1, from: enc1, name: side}
  - add: {from: [enc1, side], name: fuse}
  - concat: {from: [fuse, enc1.conv]}
  - global_avgpool: {from: reduce, name: head2}
outputs: [concat1, head2]
"""
ENC1 = 3 * 3 * 3 * 8 + 8            # enc1.conv: 3x3, 3 -> 8, with bias
ENC2 = 3 * 3 * 8 * 16 + 16          # enc2.conv: 3x3, 8 -> 16
REDUCE = 1 * 1 * 16 * 8 + 8         # reduce: 1x1, 16 -> 8
SIDE = 3 * 3 * 8 * 8 + 8            # side: 3x3, 8 -> 8, on enc1's 32x32 output
MACS = {"enc1.conv": 32 * 32 * 8 * 3 * 3 * 3, "enc2.conv": 16 * 16 * 16 * 3 * 3 * 8,
        "reduce": 16 * 16 * 8 * 16, "side": 32 * 32 * 8 * 3 * 3 * 8}


@pytest.fixture
def skip(tmp_path: Path) -> analysis.Analysed:
    return analysis.run(write(tmp_path, SKIP))


def test_references_choose_the_input(skip: analysis.Analysed) -> None:
    rows = {r.name: r for r in skip.report.rows}
    assert rows["side"].input_shape == (8, 32, 32) and rows["side"].reads == ("enc1",)
    assert rows["fuse"].output_shape == (8, 32, 32)
    assert rows["concat1"].output_shape == (8 + 8, 32, 32)
    assert rows["head2"].input_shape == (8, 16, 16) and rows["head2"].output_shape == (8, 1, 1)
    assert skip.report.totals.params == ENC1 + ENC2 + REDUCE + SIDE
    assert skip.report.totals.macs == sum(MACS.values())
    assert rows["fuse"].ops == {"add": 8 * 32 * 32}  # one addition per element


def test_each_output_is_reported_with_what_it_depends_on(skip: analysis.Analysed) -> None:
    assert [(h.name, h.shape) for h in heads(skip.report)] == [("concat1", (16, 32, 32)),
                                                               ("head2", (8, 1, 1))]
    first, second = heads(skip.report)
    # concat1 <- fuse <- (enc1.relu1 <- enc1.conv, side <- enc1.relu1), and enc1.conv itself
    assert (first.operations, first.params) == (5, ENC1 + SIDE)
    assert first.macs == MACS["enc1.conv"] + MACS["side"]
    # head2 <- reduce <- enc2 <- maxpool1 <- enc1
    assert (second.operations, second.params) == (7, ENC1 + ENC2 + REDUCE)
    assert second.macs == MACS["enc1.conv"] + MACS["enc2.conv"] + MACS["reduce"]


def test_liveness_follows_the_references(skip: analysis.Analysed) -> None:
    steps = {s.row.name: s.alive for s in memory.schedule(skip.report).steps}
    # during fuse: enc1.conv (read by concat1), enc1.relu1 (read by fuse), reduce (read by
    # head2), side and fuse's own output are alive
    assert steps["fuse"] == 8 * 32 * 32 * 4 + 8 * 16 * 16
    # both outputs stay alive to the end
    assert steps["head2"] == 16 * 32 * 32 + 8 * 16 * 16 + 8


def test_receptive_fields_follow_the_references(skip: analysis.Analysed) -> None:
    fields = {fr.row.name: fr.fields[0].size for fr in receptive_fields(skip.report).rows}
    assert fields["side"] == 3 + 2  # a 3x3 conv on enc1's field of 3
    assert fields["fuse"] == 5 and fields["concat1"] == 5  # the union of the paths
    assert fields["reduce"] == fields["enc2.relu1"]


def test_a_name_resolves_in_the_innermost_scope_first(tmp_path: Path) -> None:
    text = """\
name: scopes
input: [4, 8, 8]
blocks:
  unit:
    layers:
      - conv: {out: 4, kernel: 1, name: a}
      - conv: {out: 6, kernel: 3, padding: 1, name: b}
      - conv: {out: 4, kernel: 1, from: a, name: c}
layers:
  - conv: {out: 4, kernel: 1, name: a}
  - unit
  - conv: {out: 2, kernel: 1, from: unit1.b}
  - relu: {from: a}
"""
    rows = {r.name: r for r in analysis.analyze(write(tmp_path, text)).rows}
    assert rows["unit1.c"].reads == ("unit1.a",)  # the block's own 'a'
    assert rows["conv1"].reads == ("unit1.b",) and rows["conv1"].input_shape == (6, 8, 8)
    assert rows["relu1"].reads == ("a",)


@pytest.mark.parametrize(("layers", "code", "where"), [
    ("  - relu: {from: nowhere}\n", "E409", ("layers", 0, "relu", "from")),
    ("  - relu: {from: later}\n  - relu: {name: later}\n", "E409", ("layers", 0, "relu", "from")),
    ("  - conv: {out: 2, kernel: 1, name: a}\n  - add: {from: [a, input, b]}\n", "E409",
     ("layers", 1, "add", "from", 2)),
    ("  - conv: {out: 2, kernel: 1, name: a}\n  - add: {from: [a, input]}\n", "E404",
     ("layers", 1, "add")),
    ("  - concat: {from: [input], name: x}\n", "E202", ("layers", 0, "concat", "from")),
    ("  - concat: {from: [input, input], branches: [[relu], [relu]]}\n", "E202",
     ("layers", 0, "concat", "from")),
])
def test_bad_references_are_located(tmp_path: Path, layers: str, code: str,
                                    where: tuple[object, ...]) -> None:
    with pytest.raises(SpecError) as info:
        analysis.analyze(write(tmp_path, f"name: t\ninput: [1, 4, 4]\nlayers:\n{layers}"))
    diag = info.value.diagnostics[0]
    assert (diag.code, diag.path) == (code, where), diag


def test_unknown_output_is_located(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        analysis.analyze(write(tmp_path, "name: t\ninput: [1, 4, 4]\nlayers: [relu]\n"
                               "outputs: [relu1, relu]\n"))
    diag = info.value.diagnostics[0]
    assert (diag.code, diag.path) == ("E409", ("outputs", 1))
    assert "did you mean 'relu1'" in (diag.hint or "")


MULTI = """\
name: two
inputs: {rgb: [3, 16, 16], depth: [1, 16, 16]}
layers:
  - conv: {out: 8, kernel: 3, padding: 1, name: a}
  - conv: {out: 8, kernel: 3, padding: 1, from: depth, name: b}
  - concat: {from: [a, b], name: both}
  - conv: {out: 2, kernel: 1}
"""


def test_several_named_inputs(tmp_path: Path) -> None:
    report = analysis.analyze(write(tmp_path, MULTI))
    assert report.inputs == (("rgb", (3, 16, 16)), ("depth", (1, 16, 16)))
    rows = {r.name: r for r in report.rows}
    assert rows["a"].input_shape == (3, 16, 16) and rows["b"].input_shape == (1, 16, 16)
    assert report.totals.params == (27 * 8 + 8) + (9 * 8 + 8) + (16 * 2 + 2)
    sched = memory.schedule(report)
    assert sched.steps[0].alive == 3 * 16 * 16 + 1 * 16 * 16 + 8 * 16 * 16  # both inputs live


def test_input_override_is_refused_for_several_inputs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="this spec has 2 inputs"):
        analysis.analyze(write(tmp_path, MULTI), input=(3, 32, 32))


def test_input_and_inputs_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        analysis.analyze(write(tmp_path, "name: t\ninput: [1, 4, 4]\ninputs: {a: [1, 4, 4]}\n"
                               "layers: [relu]\n"))
    assert info.value.diagnostics[0].code == "E202"


def test_cli_reports_outputs(tmp_path: Path, cli: Callable[..., Result]) -> None:
    path = write(tmp_path, SKIP)
    doc = __import__("json").loads(cli("summary", path, "--format", "json").stdout)
    assert [o["name"] for o in doc["outputs"]] == ["concat1", "head2"]
    assert doc["outputs"][1]["params"] == ENC1 + ENC2 + REDUCE
    text = cli("summary", path).stdout
    assert "output 'head2' 8x1x1: depends on 7 operations" in text
    bad = cli("summary", write(tmp_path, "name: t\ninput: [1, 4, 4]\nlayers:\n"
                                         "  - relu: {from: nowhere}\n", "bad.yaml"))
    assert bad.exit_code == 1 and "error[E409]" in bad.stderr and ":4:" in bad.stderr


@pytest.mark.torch
@pytest.mark.parametrize("text", [SKIP, MULTI])
def test_the_built_network_agrees_live(tmp_path: Path, text: str) -> None:
    pytest.importorskip("fvcore")
    from cnnstat.torch_backend.verify.crosscheck import verify_report

    result = verify_report(analysis.analyze(write(tmp_path, text)))
    assert result.ok, [lc.name for lc in result.layers if not lc.ok]


@pytest.mark.torch
def test_the_built_network_takes_the_inputs_and_returns_the_outputs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import cnnstat

    net = cnnstat.build(write(tmp_path, SKIP))
    a, b = net(torch.zeros(2, 3, 32, 32))
    assert tuple(a.shape) == (2, 16, 32, 32) and tuple(b.shape) == (2, 8, 1, 1)
    two = cnnstat.build(write(tmp_path, MULTI, "two.yaml"))
    assert tuple(two(torch.zeros(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)).shape) == (1, 2, 16, 16)
    with pytest.raises(TypeError, match="takes 2 input"):
        two(torch.zeros(1, 3, 16, 16))


def test_the_docs_example_analyses(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "docs" / "spec-language.md").read_text(
        encoding="utf-8")
    start = readme.index("```yaml\nname: two-heads")
    text = readme[start + len("```yaml\n"): readme.index("```", start + 7)]
    report = analysis.analyze(write(tmp_path, text))
    assert [name for name, _ in report.outputs] == ["fuse", "aux"]
    assert dict(report.outputs) == {"fuse": (8, 32, 32), "aux": (16, 1, 1)}
    assert report.totals.params == (27 * 8 + 8) + (72 * 16 + 16) + (72 * 8 + 8)


AUX = """\
name: aux
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - bn
  - relu
  - side:
      training: true
      body:
        - conv: {out: 4, kernel: 1, bias: false}
        - bn
        - global_avgpool
        - flatten
        - linear: {out: 10}
  - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
  - global_avgpool
  - flatten
  - linear: {out: 10}
"""
HEAD_PARAMS = 8 * 4 + 2 * 4 + (4 * 10 + 10)   # 1x1 conv (no bias), bn (gamma, beta), linear
HEAD_MACS = 16 * 16 * 4 * 8 + 4 * 10           # the 1x1 conv on 16x16, the linear
TRUNK_MACS = 16 * 16 * 8 * 27 + 8 * 8 * 16 * 72 + 16 * 10


def test_a_training_only_head_counts_in_params_not_in_inference_macs(tmp_path: Path) -> None:
    report = analysis.analyze(write(tmp_path, AUX), batch=2)
    t = report.totals
    trunk_params = (27 * 8 + 8) + 2 * 8 + (72 * 16 + 16) + (16 * 10 + 10)
    assert t.params == trunk_params + HEAD_PARAMS and t.training_params == HEAD_PARAMS
    assert t.macs == 2 * TRUNK_MACS and t.training_macs == 2 * HEAD_MACS
    assert t.flops == 2 * t.macs
    assert [r.name for r in report.rows if r.training] == [
        "side1.conv1", "side1.bn1", "side1.global_avgpool1", "side1.flatten1", "side1.linear1"]


def test_a_training_only_head_is_in_training_memory_only(tmp_path: Path) -> None:
    report = analysis.analyze(write(tmp_path, AUX))
    sched = memory.schedule(report)
    assert all(not s.row.training for s in sched.steps)
    head = sum(r.activations for r in report.rows if r.training)
    assert head == 4 * 16 * 16 * 2 + 4 + 4 + 10
    saved = dict(memory.training(report, sched, 1, "sgd").parts)["saved activations"]
    assert saved == sched.saved + head


def test_the_summary_says_what_is_training_only(tmp_path: Path,
                                                cli: Callable[..., Result]) -> None:
    doc = __import__("json").loads(cli("summary", write(tmp_path, AUX), "--format",
                                       "json").stdout)
    assert doc["totals"]["training_only"] == {"params": HEAD_PARAMS, "macs": HEAD_MACS}
    assert doc["totals"]["macs"] == TRUNK_MACS
    assert [x["name"] for x in doc["layers"] if x.get("training_only")][0] == "side1.conv1"
    assert "not in the MACs total" in cli("summary", write(tmp_path, AUX)).stdout


@pytest.mark.torch
def test_a_training_only_head_runs_in_training_mode_only(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    import cnnstat
    from cnnstat.torch_backend.verify.crosscheck import verify_report

    net = cnnstat.build(write(tmp_path, AUX))
    x = torch.zeros(2, 3, 16, 16)
    assert tuple(net.eval()(x).shape) == (2, 10)
    trunk, head = net.train()(x)
    assert tuple(trunk.shape) == (2, 10) and tuple(head.shape) == (2, 10)
    result = verify_report(analysis.analyze(write(tmp_path, AUX)))
    assert result.ok  # the head's rows measured in training mode, the totals in eval mode
    bn = next(lc for lc in result.layers if lc.name == "side1.bn1")
    assert bn.checks["fvcore"].live == 4 * 16 * 16 * 5  # fvcore's training-mode batch norm


NARROWING = """\
name: narrowing
input: [3, 16, 16]
blocks:
  inverted:   # an inverted residual: no shortcut when the block changes the shape
    args: {out: required}
    layers:
      - residual:
          body: [{conv: {out: $out, kernel: 3, padding: 1}}]
          shortcut: identity-if-same
layers:
  - inverted: {out: 8, name: low}
  - conv: {out: 4, kernel: 1}
  - conv: {out: 2, kernel: 1, from: low, name: head}
"""


@pytest.mark.parametrize("command", ["summary", "memory", "receptive-field"])
def test_a_block_whose_optional_shortcut_drops_keeps_its_name(cli: Callable[..., Result],
                                                             tmp_path: Path,
                                                             command: str) -> None:
    # LR-ASPP reads its 'low' features from such a block (3 -> 8 channels: no shortcut)
    spec = write(tmp_path, NARROWING)
    rows = {r.name: r for r in analysis.analyze(spec).rows}
    assert rows["head"].reads == ("low",) and rows["head"].input_shape == (8, 16, 16)
    result = cli(command, spec)
    assert result.exit_code == 0, result.stderr
    assert "internal error" not in result.stderr

"""The ``l2norm`` kind (issue 15): SSD's L2Norm (Liu et al. 2016, after ParseNet), as
torchvision's SSD300 computes it after conv4_3: ``scale.view(1, -1, 1, 1) * F.normalize(x)``.
Expected values are written as arithmetic from the definition: per position C squares, C - 1
adds, a square root and the clamp to eps; per element a divide and the scale's multiply."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import cnnstat
from cnnstat import analysis
from cnnstat.core.counters import TOOLS, TORCHINFO
from cnnstat.core.presets import PRESETS
from cnnstat.core.receptive import receptive_fields
from cnnstat.core.rules import RULES
from cnnstat.errors import SpecError
from cnnstat.spec.kinds import FAMILIES
from cnnstat.spec.loader import load
from cnnstat.views.explain import EXPLAINERS
from tests.conftest import write

SSD = Path(__file__).parent / "verify_specs" / "ssd.yaml"


def _rows(tmp_path: Path, shape: str, layers: str):  # type: ignore[no-untyped-def]
    return analysis.analyze(load(write(tmp_path, f"name: t\ninput: {shape}\nlayers:\n{layers}")))


def test_ssd300_conv4_3_by_hand(tmp_path: Path) -> None:
    """SSD300's conv4_3 map, 512 x 38 x 38: 512 scales, no MACs, per position 512 squares, 511
    adds, one square root, one clamp; per element one divide and one multiply."""
    (row,) = _rows(tmp_path, "[512, 38, 38]", "  - l2norm\n").rows
    assert (row.kind, row.output_shape, row.weights, row.bias, row.buffers, row.macs) == (
        "l2norm", (512, 38, 38), 512, 0, 0, 0)
    assert row.ops == {"l2norm": 38 * 38 * (512 + 511 + 1 + 1) + 2 * 512 * 38 * 38}
    assert row.activations == 512 * 38 * 38


def test_scale_and_eps_change_no_count(tmp_path: Path) -> None:
    plain, tuned = _rows(tmp_path, "[8, 4, 4]", "  - l2norm\n  - l2norm: {scale: 10, eps: 1.0e-6}\n"
                         ).rows
    assert (plain.params, plain.ops) == (tuned.params, tuned.ops) == (8, {"l2norm": 4 * 4 * (
        4 * 8 + 1)})


def test_a_flat_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        _rows(tmp_path, "[8]", "  - l2norm\n")
    assert err.value.diagnostics[0].code == "E403"


def test_torch_and_fvcore_count_nothing(tmp_path: Path) -> None:
    """FlopCounterMode counts matrix products only; fvcore has no handle for
    aten::linalg_vector_norm, clamp_min, div or mul."""
    (row,) = _rows(tmp_path, "[8, 4, 4]", "  - l2norm\n").rows
    assert PRESETS["torch"].count(row) == PRESETS["fvcore"].count(row) == PRESETS["macs"].count(
        row) == 0


def test_each_counter_preset(tmp_path: Path) -> None:
    """torchinfo: a leaf with a ``weight`` parameter counts N x its size (the C scales); no
    other tool hooks the module, patches F.normalize or ``Tensor.__mul__``, or has an aten
    handle for what they run: 0."""
    (row,) = _rows(tmp_path, "[8, 5, 6]", "  - l2norm\n").rows
    assert TORCHINFO.count(row) == 8
    assert TORCHINFO.parts(row) == {"normalisation": 8}
    assert {p.name: p.count(row) for p in TOOLS if p is not TORCHINFO} == {
        "thop": 0, "ptflops": 0, "ptflops-aten": 0, "torchscan": 0, "calflops": 0,
        "deepspeed": 0}


def test_the_receptive_field_passes_unchanged(tmp_path: Path) -> None:
    """The norm is over the channels of one position: a 3x3 conv's field stays 3."""
    report = _rows(tmp_path, "[4, 9, 9]", "  - conv: {out: 8, kernel: 3}\n  - l2norm\n")
    fields = receptive_fields(report)
    assert [(fr.fields[0].size, fr.fields[0].jump) for fr in fields.rows] == [(3, 1), (3, 1)]


def test_registered_everywhere() -> None:
    assert "l2norm" in RULES and "l2norm" in EXPLAINERS
    assert "l2norm" in FAMILIES["normalisation"]
    schema = json.loads((Path(__file__).parents[1] / "cnnstat" / "schema" /
                         "spec.schema.json").read_text(encoding="utf-8"))
    assert "l2norm" in schema["$defs"]


def test_explain_works_the_ops(tmp_path: Path, cli: Callable) -> None:
    path = write(tmp_path, "name: t\ninput: [512, 38, 38]\nlayers:\n  - l2norm: {name: norm}\n")
    result = cli("explain", path, "--layer", "norm")
    assert result.exit_code == 0, result.stderr
    assert "38*38*(512 + 511 + 2) + 2*512*38*38 = 2,958,756" in result.stdout
    assert "C = 512" in result.stdout and "initialised to 20" in result.stdout


def test_an_ssd_backbone_with_three_outputs(cli: Callable) -> None:
    """tests/verify_specs/ssd.yaml: the normalised conv4_3 map is an output only (pool5 reads
    conv4_3's ReLU); the summary's totals count it once."""
    result = cli("summary", str(SSD), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    norm = next(x for x in doc["layers"] if x["kind"] == "l2norm")
    assert (norm["params"], norm["output_shape"]) == (16, [16, 10, 10])
    assert norm["elementwise"] == {"l2norm": 10 * 10 * (4 * 16 + 1)}
    # conv1 3->8, conv4_3 8->16, conv6 16->32, conv7 32->32, conv8_1 32->8, conv8_2 8->16, + 16
    assert doc["totals"]["params"] == (3 * 9 * 8 + 8) + (8 * 9 * 16 + 16) + (16 * 9 * 32 + 32) \
        + (32 * 32 + 32) + (32 * 8 + 8) + (8 * 9 * 16 + 16) + 16


def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def test_the_ssd300_zoo_spec_from_first_principles() -> None:
    """specs/ssd300-vgg16.yaml: VGG-16's 13 convs, fc6 (3x3, dilation 6) and fc7, four extra
    stages, and the 512 scales of conv4_3's L2 norm (torchvision's numel: 22,943,936); the six
    maps of Liu et al. 2016's Fig. 2 (38, 19, 10, 5, 3, 1)."""
    report = cnnstat.analyze("ssd300-vgg16")
    vgg = _conv(3, 64, 3) + _conv(64, 64, 3) + _conv(64, 128, 3) + _conv(128, 128, 3) \
        + _conv(128, 256, 3) + 2 * _conv(256, 256, 3) + _conv(256, 512, 3) \
        + 5 * _conv(512, 512, 3)
    fc = _conv(512, 1024, 3) + _conv(1024, 1024, 1)
    extra = _conv(1024, 256, 1) + _conv(256, 512, 3) + _conv(512, 128, 1) + _conv(128, 256, 3) \
        + 2 * (_conv(256, 128, 1) + _conv(128, 256, 3))
    assert report.totals.params == vgg + fc + extra + 512 == 22943936
    norm = next(r for r in report.rows if r.kind == "l2norm")
    assert (norm.params, norm.output_shape) == (512, (512, 38, 38))
    assert [shape for _, shape in report.outputs] == [(512, 38, 38), (1024, 19, 19), (512, 10, 10),
                                                 (256, 5, 5), (256, 3, 3), (256, 1, 1)]

"""The framework as oracle: the support of one output unit's input gradient in PyTorch.

The modules are built here by hand from the IR (a test-only builder for the few kinds these tests
use), independent of cnnstat's own spec -> module builder.  With positive weights, identity
activations and max pooling turned into average pooling (``positive_surrogate``), the support is
the unit's true dependency set: for chains it must be exactly the brute-force set and the walk's
box, and the analytic field wherever that lies inside the input; for branching networks the box
must still be exact and the analytic field must enclose the support.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")]

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from rf_helpers import avgpool, back_1d, branch, conv, maxpool, parallel, plain  # noqa: E402
from test_receptive_props import branching, chains  # noqa: E402
from torch import nn  # noqa: E402

from cnnstat.core.analyze import analyze  # noqa: E402
from cnnstat.core.ir import Layer, Node, Parallel, Seq  # noqa: E402
from cnnstat.core.receptive import FieldRow, receptive_fields  # noqa: E402
from cnnstat.torch_backend.live.receptive import (  # noqa: E402
    gradient_support,
    positive_surrogate,
    support_box,
)


class _PadChannels(nn.Module):
    def __init__(self, out: int, stride: int) -> None:
        super().__init__()
        self.out, self.stride = out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.out - x.shape[1]))


class _Merge(nn.Module):
    def __init__(self, branches: list[nn.Module], merge: str) -> None:
        super().__init__()
        self.branches, self.merge = nn.ModuleList(branches), merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        if self.merge == "concat":
            return torch.cat(outs, dim=1)
        result = outs[0]
        for o in outs[1:]:
            result = result + o if self.merge == "add" else result * o
        return result


def _layer(layer: Layer, c: int) -> tuple[nn.Module, int]:
    a = layer.args
    if layer.kind == "conv":
        return nn.Conv2d(c, a["out"], a["kernel"], a["stride"], a["padding"], a["dilation"]), \
            a["out"]
    if layer.kind == "maxpool":
        return nn.MaxPool2d(a["kernel"], a["stride"], a["padding"], a["dilation"],
                            ceil_mode=a["ceil_mode"]), c
    if layer.kind == "avgpool":
        return nn.AvgPool2d(a["kernel"], a["stride"], a["padding"], a["ceil_mode"]), c
    if layer.kind == "pad_channels":
        return _PadChannels(a["out"], a["stride"]), a["out"]
    simple = {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "global_avgpool": nn.AdaptiveAvgPool2d(1)}
    return simple[layer.kind], c


def build(node: Node, c: int) -> tuple[nn.Module, int]:
    """The torch twin of a chain / parallel IR node with ``c`` input channels."""
    if isinstance(node, Layer):
        return _layer(node, c)
    if isinstance(node, Seq):
        mods = []
        for item in node.items:
            mod, c = build(item, c)
            mods.append(mod)
        return nn.Sequential(*mods), c
    assert isinstance(node, Parallel) and not node.split
    built = [build(br.body, c) for br in node.branches]
    c_out = sum(cb for _, cb in built) if node.merge == "concat" else built[0][1]
    return _Merge([m for m, _ in built], node.merge), c_out


def support(graph: Seq, size: tuple[int, int], unit: tuple[int, int]) -> torch.Tensor:
    module, _ = build(graph, 2)
    return gradient_support(positive_surrogate(module), (2, *size), unit)


def region_mask(size: tuple[int, int], rows: tuple[int, int],
                cols: tuple[int, int]) -> torch.Tensor:
    mask = torch.zeros(size, dtype=torch.bool)
    r0, r1 = max(rows[0], 0), min(rows[1], size[0] - 1)
    c0, c1 = max(cols[0], 0), min(cols[1], size[1] - 1)
    mask[r0:r1 + 1, c0:c1 + 1] = True
    return mask


def units_to_check(fr: FieldRow) -> list[tuple[int, int]]:
    h, w = fr.units
    return sorted({(0, 0), (h - 1, w - 1), (h // 2, w // 2), (0, w - 1)})


# -- fixed cases -------------------------------------------------------------------------------

def test_three_3x3_convs_support_is_the_7x7_field() -> None:
    graph = Seq((conv(3, p=1, name="a"), conv(3, p=1, name="b"), conv(3, p=1, name="c")))
    fields = receptive_fields(analyze(graph, (2, 16, 16)))
    fr = fields.rows[-1]
    for unit in [(8, 8), (0, 0), (15, 3)]:
        mask = support(graph, (16, 16), unit)
        expected = region_mask((16, 16), fr.fields[0].span(unit[0]), fr.fields[1].span(unit[1]))
        assert torch.equal(mask, expected)
    assert int(support(graph, (16, 16), (8, 8)).sum()) == 7 * 7


def test_max_pooling_with_dilation_and_ceil_mode() -> None:
    graph = Seq((maxpool(3, s=2, p=1, d=2, name="a"), maxpool(3, s=2, ceil=True, name="b")))
    fields = receptive_fields(analyze(graph, (2, 15, 15)))
    fr = fields.rows[-1]
    for unit in units_to_check(fr):
        assert support_box(support(graph, (15, 15), unit)) == fr.seen(unit)


def test_inception_like_concat_is_enclosed_and_boxed_exactly() -> None:
    mix = parallel("mix", "concat",
                   branch("one", conv(1)),
                   branch("three", conv(1), conv(3, p=1)),
                   branch("five", conv(1), conv(3, p=1), conv(3, p=1)),
                   branch("pool", maxpool(3, s=1, p=1), conv(1)))
    graph = Seq((conv(3, s=2, p=1, name="stem"), mix, avgpool(2, name="down")))
    size = (20, 20)
    fr = receptive_fields(analyze(graph, (2, *size))).rows[-1]
    for unit in units_to_check(fr):
        mask = support(graph, size, unit)
        assert support_box(mask) == fr.seen(unit)
        field = region_mask(size, fr.fields[0].span(unit[0]), fr.fields[1].span(unit[1]))
        assert not (mask & ~field).any()


def test_residual_with_strided_projection() -> None:
    res = parallel("res", "add", branch("body", conv(3, s=2, p=1), conv(3, p=1)),
                   branch("shortcut", conv(1, s=2)))
    graph = Seq((conv(3, p=1, name="stem"), res))
    fr = receptive_fields(analyze(graph, (2, 12, 12))).rows[-1]
    for unit in units_to_check(fr):
        mask = support(graph, (12, 12), unit)
        assert support_box(mask) == fr.seen(unit)


def test_squeeze_excitation_sees_everything() -> None:
    gate = parallel("se", "mul", branch("input"),
                    branch("gate", plain("global_avgpool"), conv(1), plain("sigmoid")))
    graph = Seq((conv(3, p=1, name="stem"), gate))
    fields = receptive_fields(analyze(graph, (2, 9, 9)))
    assert fields.rows[-1].covers((9, 9)) == (True, True)
    assert bool(support(graph, (9, 9), (0, 0)).all())


# -- random networks -----------------------------------------------------------------------------

@settings(max_examples=25)
@given(chains())
def test_chain_support_is_the_brute_force_set(case: tuple[Seq, tuple[int, int]]) -> None:
    graph, size = case
    report = analyze(graph, (2, *size))
    fr = receptive_fields(report).rows[-1]
    inputs = {r.name: r.input_shape for r in report.rows}
    for unit in units_to_check(fr):
        mask = support(graph, size, unit)
        rows = back_1d(graph, 0, {unit[0]}, inputs, clip=True)
        cols = back_1d(graph, 1, {unit[1]}, inputs, clip=True)
        expected = torch.zeros(size, dtype=torch.bool)
        for r in rows:
            expected[r, sorted(cols)] = True
        assert torch.equal(mask, expected)
        assert support_box(mask) == fr.seen(unit)
        lo_h, hi_h = fr.fields[0].span(unit[0])
        lo_w, hi_w = fr.fields[1].span(unit[1])
        if lo_h >= 0 and lo_w >= 0 and hi_h < size[0] and hi_w < size[1] and rows and cols:
            assert support_box(mask) == ((lo_h, hi_h), (lo_w, hi_w))


@settings(max_examples=15)
@given(branching(), st.data())
def test_branching_support_is_enclosed(case: tuple[Seq, tuple[int, int]],
                                       data: st.DataObject) -> None:
    graph, size = case
    fr = receptive_fields(analyze(graph, (2, *size))).rows[-1]
    unit = data.draw(st.sampled_from(units_to_check(fr)))
    mask = support(graph, size, unit)
    assert support_box(mask) == fr.seen(unit)
    field = region_mask(size, fr.fields[0].span(unit[0]), fr.fields[1].span(unit[1]))
    assert not (mask & ~field).any()

"""Property: for random specs (chains and branches of convs with random kernel, stride, padding,
dilation and groups, pools with ceil mode, linear heads, residual blocks, concats), the analytic
numbers equal the live ones (shapes, parameters, FLOPs under both presets), and a spec is rejected
analytically exactly when PyTorch itself raises on the same network.

PyTorch's verdict comes from a reference network built here straight from the generated data with
plain torch.nn modules, independent of cnnstat's builder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from cnnstat.errors import SpecError
from cnnstat.spec import loader

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
nn = torch.nn
F = torch.nn.functional

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.torch_backend.verify.crosscheck import verify_report  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


# A modest count keeps the file well under a minute on two cores (deadline, health checks and the
# derandomized CI runs come from the profiles in tests/conftest.py).
PROFILE = settings(max_examples=40)

Item = dict[str, Any]


def size(draw: st.DrawFn, lo: int, hi: int) -> int | list[int]:
    """An int, or (sometimes) an [h, w] pair."""
    if draw(st.integers(0, 3)) == 0:
        return [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]
    return draw(st.integers(lo, hi))


@st.composite
def conv(draw: st.DrawFn, c: int) -> tuple[Item, int]:
    groups = draw(st.sampled_from([1, 1, 1, 2, 3, c]))  # 2 and 3 may not divide c: an error
    out = groups * draw(st.integers(1, 3)) + draw(st.sampled_from([0, 0, 0, 0, 0, 0, 0, 1]))
    args: Item = {"out": out, "kernel": size(draw, 1, 5), "stride": size(draw, 1, 3),
                  "dilation": size(draw, 1, 2), "groups": groups, "bias": draw(st.booleans())}
    args["padding"] = "same" if draw(st.integers(0, 7)) == 0 else size(draw, 0, 3)
    return {"conv": args}, out


@st.composite
def pool(draw: st.DrawFn, c: int) -> tuple[Item, int]:
    kind = draw(st.sampled_from(["maxpool", "avgpool"]))
    args: Item = {"kernel": size(draw, 1, 4), "padding": size(draw, 0, 2),
                  "ceil_mode": draw(st.booleans())}
    if draw(st.booleans()):
        args["stride"] = size(draw, 1, 3)
    if kind == "maxpool":
        args["dilation"] = size(draw, 1, 2)
    else:
        args["count_include_pad"] = draw(st.booleans())
    return {kind: args}, c


@st.composite
def residual(draw: st.DrawFn, c: int) -> tuple[Item, int]:
    """Identity shortcut around a shape-keeping body, or a strided body with its projection."""
    if draw(st.booleans()):
        body = [{"conv": {"out": c, "kernel": 3, "padding": 1}}, "bn", "relu"]
        return {"residual": {"body": body, "shortcut": "identity", "then": ["relu"]}}, c
    out, stride = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    body = [{"conv": {"out": out, "kernel": 3, "stride": stride, "padding": 1, "bias": False}},
            "bn"]
    shortcut = [{"conv": {"out": out, "kernel": 1, "stride": stride, "bias": False}}, "bn"]
    return {"residual": {"body": body, "shortcut": shortcut}}, out


@st.composite
def concat(draw: st.DrawFn, c: int) -> tuple[Item, int]:
    branches, total = [], 0
    for _ in range(draw(st.integers(2, 3))):
        item, out = draw(st.one_of(conv(c), pool(c)))
        branches.append([item])
        total += out
    return {"concat": branches}, total


@st.composite
def specs(draw: st.DrawFn) -> Item:
    c = draw(st.integers(1, 4))
    shape = [c, draw(st.integers(1, 24)), draw(st.integers(1, 24))]
    layers: list[Any] = []
    for _ in range(draw(st.integers(1, 4))):
        item, c = draw(st.one_of(conv(c), pool(c), residual(c), concat(c),
                                 st.just(("relu", c)), st.just(("bn", c))))
        layers.append(item)
    head = draw(st.sampled_from(["none", "flatten", "global"]))
    if head != "none":
        layers += (["global_avgpool"] if head == "global" else []) + ["flatten"]
        if draw(st.booleans()):
            layers.append("bn")
        layers.append({"linear": {"out": draw(st.integers(1, 10))}})
    return {"name": "random", "input": shape, "layers": layers}


# -- the reference network, plain torch.nn, straight from the data ---------------------------------

def _pair(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


class TFSame(nn.Module):
    """TensorFlow's 'SAME' padding at any stride (PyTorch's Conv2d refuses 'same' when strided):
    per axis, total = max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0), half before (rounded
    down) and the rest after, then the unpadded conv."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: Any) -> Any:
        pads = []
        for axis in (1, 0):  # F.pad takes the last axis (W) first
            n, s = x.shape[2 + axis], self.conv.stride[axis]
            k, d = self.conv.kernel_size[axis], self.conv.dilation[axis]
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads += [total // 2, total - total // 2]
        return self.conv(F.pad(x, pads))


class Chain(nn.Module):
    def __init__(self, items: list[Any], c: int, flat: bool = False) -> None:
        super().__init__()
        mods = []
        for item in items:
            mod, c, flat = reference_layer(item, c, flat)
            mods.append(mod)
        self.mods, self.out = nn.ModuleList(mods), c

    def forward(self, x: Any) -> Any:
        for m in self.mods:
            x = m(x)
        return x


class Add(nn.Module):
    def __init__(self, body: Chain, shortcut: Chain, then: Chain) -> None:
        super().__init__()
        self.body, self.shortcut, self.then = body, shortcut, then

    def forward(self, x: Any) -> Any:
        return self.then(self.body(x) + self.shortcut(x))


class Cat(nn.Module):
    def __init__(self, branches: list[Chain]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: Any) -> Any:
        return torch.cat([b(x) for b in self.branches], dim=1)


def reference_layer(item: Any, c: int, flat: bool) -> tuple[Any, int, bool]:
    if isinstance(item, str):
        kind, a = item, {}
    else:
        (kind, a), = item.items()
    if kind == "conv":
        stride = _pair(a.get("stride", 1))
        if a.get("padding") == "same" and stride not in (1, (1, 1)):
            return TFSame(nn.Conv2d(c, a["out"], _pair(a["kernel"]), stride, 0,
                                    _pair(a.get("dilation", 1)), a.get("groups", 1),
                                    a.get("bias", True))), a["out"], flat
        return nn.Conv2d(c, a["out"], _pair(a["kernel"]), stride,
                         _pair(a.get("padding", 0)), _pair(a.get("dilation", 1)),
                         a.get("groups", 1), a.get("bias", True)), a["out"], flat
    if kind in ("maxpool", "avgpool"):
        kernel = _pair(a["kernel"])
        stride = _pair(a.get("stride", a["kernel"]))
        if kind == "maxpool":
            return nn.MaxPool2d(kernel, stride, _pair(a["padding"]), _pair(a["dilation"]),
                                ceil_mode=a["ceil_mode"]), c, flat
        return nn.AvgPool2d(kernel, stride, _pair(a["padding"]), a["ceil_mode"],
                            a["count_include_pad"]), c, flat
    if kind == "residual":
        body = Chain(a["body"], c)
        shortcut = Chain([] if a["shortcut"] == "identity" else a["shortcut"], c)
        return Add(body, shortcut, Chain(a.get("then", []), body.out)), body.out, flat
    if kind == "concat":
        branches = [Chain(b, c) for b in a]
        return Cat(branches), sum(b.out for b in branches), flat
    if kind == "linear":
        return nn.LazyLinear(a["out"]), a["out"], flat
    simple = {"relu": nn.ReLU(), "flatten": nn.Flatten(), "global_avgpool": nn.AdaptiveAvgPool2d(1),
              "bn": nn.LazyBatchNorm1d() if flat else nn.BatchNorm2d(c)}
    if kind == "flatten":
        return simple[kind], c, True
    return simple[kind], c, flat


def torch_verdict(spec: Item) -> tuple[bool, Any]:
    """(ran, output) of the reference network on a zero input; ran is False when torch raised."""
    try:
        net = Chain(spec["layers"], spec["input"][0]).eval()
        with torch.no_grad():
            return True, net(torch.zeros(1, *spec["input"]))
    except (RuntimeError, ValueError) as exc:
        return False, exc


_DIR = tempfile.TemporaryDirectory(prefix="cnnstat-property-")


def analytic(spec: Item) -> Any:
    path = Path(_DIR.name) / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return analyze(loader.load(str(path)))


@PROFILE
@given(specs())
def test_analytic_equals_live_and_rejects_exactly_when_torch_raises(spec: Item) -> None:
    ran, out = torch_verdict(spec)
    try:
        report = analytic(spec)
    except SpecError as exc:
        event("rejected")
        assert not ran, f"rejected analytically ({exc}) but PyTorch runs it:\n{yaml.dump(spec)}"
        return
    event("accepted")
    assert ran, f"accepted analytically but PyTorch raises {out!r}:\n{yaml.dump(spec)}"
    assert report.output_shape == tuple(out.shape[1:])
    result = verify_report(report, ("torch", "fvcore"))
    first = result.first_divergence
    assert result.ok, (first and (first.name, first.checks), result.totals, yaml.dump(spec))

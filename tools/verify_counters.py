"""Each ``--count`` preset against the tool itself on torchvision's own models (run with the
torchvision venv of tools/torchvision_env.sh, with the counters installed there; never in CI):

    PYTHONPATH=. /tmp/cnnstat-tv-venv/bin/python tools/verify_counters.py [SPEC ...]

For every (spec, torchvision model) pair it runs each tool of TOOLS (the seven presets) on the
torchvision model in eval mode at the spec's input and batch 1 (the runners of
cnnstat/torch_backend/live/counters.py) and compares each tool's total with the preset's total from
the spec's rows.  Prints a markdown table: spec | tool | tool's total | cnnstat preset | equal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

TOOLS = ("torchinfo", "thop", "ptflops", "ptflops-aten", "torchscan", "calflops", "deepspeed")


def _tv(name: str, **kwargs: object) -> Callable[[], object]:
    def build() -> object:
        import torchvision

        return torchvision.models.get_model(name, weights=None, **kwargs)
    return build


def _factory(name: str) -> Callable[[], object]:
    def build() -> object:
        import tv_factories

        return getattr(tv_factories, name)()
    return build


# (spec, a builder of the torchvision model): one line per pair
PAIRS: list[tuple[str, Callable[[], object]]] = [
    ("resnet18", _tv("resnet18")),
    ("resnet50", _tv("resnet50")),
    ("resnet101", _tv("resnet101")),
    ("resnext50-32x4d", _tv("resnext50_32x4d")),
    ("wide-resnet50-2", _tv("wide_resnet50_2")),
    ("vgg11-bn", _tv("vgg11_bn")),
    ("vgg16", _tv("vgg16")),
    ("alexnet-torchvision", _tv("alexnet")),
    ("googlenet", _tv("googlenet", aux_logits=False, init_weights=True)),
    ("inception-v3", _factory("inception_v3")),
    ("densenet121", _tv("densenet121")),
    ("mobilenet-v2", _tv("mobilenet_v2")),
    ("mobilenet-v3-large", _tv("mobilenet_v3_large")),
    ("shufflenet-v2-x1-0", _tv("shufflenet_v2_x1_0")),
    ("squeezenet1-0", _tv("squeezenet1_0")),
    ("mnasnet1-0", _tv("mnasnet1_0")),
    ("efficientnet-b0", _tv("efficientnet_b0")),
    ("convnext-tiny", _factory("convnext_tiny")),
    ("efficientnet-v2-s", _factory("efficientnet_v2_s")),
    ("ssd300-vgg16", _factory("ssd300_vgg16")),
]


def main(only: list[str]) -> int:
    import torch

    import cnnstat
    from cnnstat.core.counters import ALL_PRESETS
    from cnnstat.torch_backend.live.counters import count_live

    print("| spec | tool | tool's total | cnnstat preset | equal |")
    print("| --- | --- | ---: | ---: | --- |")
    ok = True
    for spec, build in PAIRS:
        if only and spec not in only:
            continue
        report = cnnstat.analyze(spec)
        model = build()
        assert isinstance(model, torch.nn.Module)
        for tool in TOOLS:
            try:
                counted = count_live(tool, model, [], [report.input_shape], 1).total
            except ImportError:
                print(f"| {spec} | {ALL_PRESETS[tool].tool} | not installed | | |")
                continue
            preset = ALL_PRESETS[tool].total(report)
            ok = ok and counted == preset
            mark = "yes" if counted == preset else f"NO ({counted - preset:+,})"
            print(f"| {spec} | {ALL_PRESETS[tool].tool} | {counted:,} | {preset:,} | {mark} |",
                  flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Verify zoo specs against torchvision's own models (run with the torchvision venv of
tools/torchvision_env.sh, never in CI):

    /tmp/cnnstat-tv-venv/bin/python tools/verify_torchvision.py [SPEC ...]

For every pair below it runs ``cnnstat verify SPEC --module tools/tv_factories.py:FACTORY``
(leaf layers in execution order: output shapes, parameters, FlopCounterMode FLOPs), measures
the factory's model with FlopCounterMode and fvcore in eval mode, and prints a markdown table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (spec, factory in tools/tv_factories.py, extra verify arguments): keep one line per pair.
PAIRS: list[tuple[str, str, tuple[str, ...]]] = [
    ("fcn-resnet50", "fcn_resnet50", ("--set", "aux=0")),
    ("deeplabv3-resnet50", "deeplabv3_resnet50", ("--set", "aux=0")),
    ("lraspp-mobilenet-v3-large", "lraspp_mobilenet_v3_large", ()),
    ("inception-v3", "inception_v3", ()),
    ("resnet50-fpn", "resnet50_fpn", ()),
    ("ssd300-vgg16", "ssd300_vgg16", ()),
    ("efficientnet-v2-s", "efficientnet_v2_s", ()),
    ("efficientnet-v2-m", "efficientnet_v2_m", ()),
    ("efficientnet-v2-l", "efficientnet_v2_l", ()),
    ("shufflenet-v2", "shufflenet_v2_x1_0", ()),
    ("mnasnet1-0", "mnasnet1_0", ()),
    ("convnext-tiny", "convnext_tiny", ()),
    ("convnext-small", "convnext_small", ()),
    ("convnext-base", "convnext_base", ()),
    ("regnet-x-400mf", "regnet_x_400mf", ()),
    ("regnet-x-800mf", "regnet_x_800mf", ()),
    ("regnet-x-1-6gf", "regnet_x_1_6gf", ()),
    ("regnet-x-3-2gf", "regnet_x_3_2gf", ()),
    ("regnet-x-8gf", "regnet_x_8gf", ()),
    ("regnet-x-16gf", "regnet_x_16gf", ()),
    ("regnet-x-32gf", "regnet_x_32gf", ()),
    ("regnet-y-400mf", "regnet_y_400mf", ()),
    ("regnet-y-800mf", "regnet_y_800mf", ()),
    ("regnet-y-1-6gf", "regnet_y_1_6gf", ()),
    ("regnet-y-3-2gf", "regnet_y_3_2gf", ()),
    ("regnet-y-8gf", "regnet_y_8gf", ()),
    ("regnet-y-16gf", "regnet_y_16gf", ()),
    ("regnet-y-32gf", "regnet_y_32gf", ()),
]


def _spec_arg(spec: str) -> str:
    """A spec file of specs/, or a built-in name (a variant such as convnext-tiny)."""
    return f"specs/{spec}.yaml" if (ROOT / "specs" / f"{spec}.yaml").is_file() else spec


def _measure(factory: str, spec: str) -> tuple[int, int, int]:
    """numel, FlopCounterMode total and fvcore total of the factory's model at the spec's input."""
    import torch
    from fvcore.nn import FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    sys.path[:0] = [str(ROOT), str(ROOT / "tools")]
    import tv_factories
    from cnnstat.analysis import analyze
    from cnnstat.spec.loader import load

    model = getattr(tv_factories, factory)().eval()
    x = torch.zeros(1, *analyze(load(_spec_arg(spec))).input_shape)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            model(x)
        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        fv = int(analysis.total())
    params = sum(p.numel() for p in model.parameters())
    return params, int(counter.get_total_flops()), fv


def _verify(spec: str, factory: str, extra: tuple[str, ...]) -> str:
    cmd = [sys.executable, "-m", "cnnstat", "verify", _spec_arg(spec), *extra,
           "--module", f"tools/tv_factories.py:{factory}", "--count", "torch"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # this cnnstat
    return {0: "pass", 1: "FAIL"}.get(done.returncode, f"could not check ({done.returncode})")


def main(only: list[str]) -> int:
    print("| spec | torchvision factory | params | FLOPs (torch) | fvcore | result |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    ok = True
    for spec, factory, extra in PAIRS:
        if only and spec not in only:
            continue
        result = _verify(spec, factory, extra)
        params, torch_flops, fv = _measure(factory, spec)
        ok = ok and result == "pass"
        args = " ".join(extra)
        print(f"| {spec}{' (' + args + ')' if args else ''} | {factory} | {params:,} | "
              f"{torch_flops:,} | {fv:,} | {result} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

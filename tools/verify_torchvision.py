"""Check zoo specs against torchvision's own models (never in CI): run with the separate
environment of ``tools/torchvision_env.sh``, from the repository root::

    $TV_VENV/bin/python tools/verify_torchvision.py [SPEC ...]

For each (spec, factory) pair: ``cnnstat verify SPEC --module tools/tv_factories.py:FACTORY``
(leaf by leaf: output shapes, parameters, FlopCounterMode FLOPs), and torchvision's model
measured directly in eval mode at the spec's input (numel of its parameters, FlopCounterMode's
total, fvcore's total); prints a markdown table.  Exit status 1 if any pair fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (spec file under specs/, factory in tools/tv_factories.py): one pair a line, so merges union.
PAIRS: list[tuple[str, str]] = [
    ("inception-v3", "inception_v3"),
    ("resnet50-fpn", "resnet50_fpn"),
]


def measure(spec: str, factory: str) -> tuple[int, int, int]:
    """torchvision's model at the spec's input, eval mode: (params, FlopCounterMode, fvcore)."""
    import torch
    from fvcore.nn import FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    import tools.tv_factories as factories
    from cnnstat import analysis

    shape = analysis.run(ROOT / "specs" / f"{spec}.yaml").report.input_shape
    model = getattr(factories, factory)().eval()
    x = torch.randn(1, *shape)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    fv = FlopCountAnalysis(model, x)
    fv.unsupported_ops_warnings(False)
    fv.uncalled_modules_warnings(False)
    params = sum(p.numel() for p in model.parameters())
    return params, int(counter.get_total_flops()), int(fv.total())


def verify(spec: str, factory: str) -> bool:
    cmd = [sys.executable, "-m", "cnnstat", "verify", f"specs/{spec}.yaml", "--module",
           f"tools/tv_factories.py:{factory}"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    return done.returncode == 0


def main(only: list[str]) -> int:
    print("| spec | torchvision factory | params | FLOPs (torch) | fvcore | result |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    failed = 0
    for spec, factory in PAIRS:
        if only and spec not in only:
            continue
        params, torch_flops, fvcore = measure(spec, factory)
        ok = verify(spec, factory)
        failed += not ok
        print(f"| {spec} | {factory} | {params:,} | {torch_flops:,} | {fvcore:,} | "
              f"{'verify --module passes' if ok else 'FAILS'} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

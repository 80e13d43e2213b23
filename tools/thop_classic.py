"""Classic thop (PyPI ``thop`` 0.1.1.post2209072238) against the ``thop-classic`` and ``thop``
presets, on cnnstat's own built modules (run in the venv of tools/thop_classic_env.sh, where
``import thop`` is the classic package; never in CI):

    /tmp/cnnstat-thop-venv/bin/python tools/thop_classic.py [--input HxW] [SPEC ...]

For every spec of the zoo (or those named) and the verify fixtures that hold the kinds the zoo
lacks, it builds the spec (cnnstat.torch_backend.build.net.SpecNet), runs ``thop.profile`` on it in
eval mode at batch 1 (the ``thop`` runner of cnnstat/torch_backend/live/counters.py) and prints a
markdown table: spec | classic thop | thop-classic preset | equal | thop preset (ultralytics-thop
2.2.3) | classic - ultralytics.  Exit status 1 if any live total differs from its preset.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

FIXTURES = [f"tests/verify_specs/{n}.yaml" for n in
            ("resampling", "lenet-parts", "composites", "residuals", "modern", "hybrid")]


def _row(spec: str, size: tuple[int, int] | None) -> tuple[str, bool]:
    import torch

    import cnnstat
    from cnnstat.core.counters import ALL_PRESETS
    from cnnstat.errors import UsageError
    from cnnstat.torch_backend.live.counters import count_live
    from cnnstat.torch_backend.build.net import SpecNet

    report = cnnstat.analyze(spec, input=size)
    with torch.device("meta"):
        model = SpecNet(report)
    live = count_live("thop", model, [r.name for r in report.rows], model.input_shapes,
                      report.batch).total
    figures = []
    for name in ("thop-classic", "thop"):
        try:
            figures.append(ALL_PRESETS[name].total(report))
        except UsageError as err:
            figures.append(None)
            print(f"{spec}: {err.args[0]}", file=sys.stderr)
    classic, ultra = figures
    shown = [f"{n:,}" if n is not None else "refused" for n in (live, classic, ultra)]
    delta = f"{live - ultra:,}" if ultra is not None else ""
    name = Path(spec).stem if spec.endswith(".yaml") else spec
    shape = "x".join(map(str, report.input_shape))
    equal = "refused" if classic is None else "yes" if classic == live else "NO"
    line = f"| {name} | {shape} | {shown[0]} | {shown[1]} | {equal} | {shown[2]} | {delta} |"
    return line, classic in (None, live)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="*")
    parser.add_argument("--input", help="HxW for every spec (default: each spec's own)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.input.split("x")) if args.input else None
    specs = args.specs or [*sorted(p.stem for p in (ROOT / "specs").glob("*.yaml")), *FIXTURES]
    print(f"classic thop {version('thop')}, torch {version('torch')}; batch 1, eval mode\n")
    print("| spec | input | classic thop | `thop-classic` preset | equal | `thop` preset "
          "(ultralytics-thop 2.2.3) | classic − ultralytics |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: |")
    ok = True
    for spec in specs:
        line, same = _row(spec, size)  # type: ignore[arg-type]
        print(line, flush=True)
        ok &= same
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

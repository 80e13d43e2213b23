"""Each ``--count`` preset against the tool itself on every built-in spec, as cnnstat builds it
(the issue's "every zoo network the tool can run"); the counters are test dependencies, so run
it in the dev venv (`pip install -e '.[torch,test]'`), never in CI (it takes a while):

    python tools/verify_counters_zoo.py [--out tools/verify_counters_zoo.md] [SPEC ...]

For every built-in spec (defaults and variants) at its own input and batch 1 it builds the
network (cnnstat.torch_backend.build.net.SpecNet), runs each tool of TOOLS on it (the runners of
cnnstat/torch_backend/live/counters.py: eval mode, a zeroed CPU copy) and compares the tool's total
with the preset's total from the spec's rows and, where the tool reports them, every layer.
A preset that refuses a spec (a layer the tool cannot be reproduced on) is listed as refused
with its reason; a tool that fails on the network is listed with its error.  Writes a markdown
table; exit 1 when any figure differs.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOOLS = ("torchinfo", "thop", "ptflops", "ptflops-aten", "torchscan", "calflops", "deepspeed")


def check(name: str) -> list[tuple[str, str, str, str, str]]:
    """(tool, tool's total, preset, layers compared, verdict) per tool for one spec."""
    import torch

    import cnnstat
    from cnnstat.core.counters import ALL_PRESETS
    from cnnstat.errors import UsageError
    from cnnstat.torch_backend.live.counters import count_live
    from cnnstat.torch_backend.build.net import SpecNet

    report = cnnstat.analyze(name)
    with torch.device("meta"):
        model = SpecNet(report)
    names = [r.name for r in report.rows]
    out = []
    for tool in TOOLS:
        preset = ALL_PRESETS[tool]
        try:
            expected = preset.total(report)
        except UsageError as err:
            out.append((preset.tool, "", "", "", f"refused: {err.args[0]}"))
            continue
        try:
            counted = count_live(tool, model, names, model.input_shapes, 1)
        except UsageError as err:
            out.append((preset.tool, "", f"{expected:,}", "", f"not run: {err.args[0]}"))
            continue
        except Exception as err:  # the tool's own failure on this network, reported
            out.append((preset.tool, "", f"{expected:,}", "",
                        f"tool failed: {type(err).__name__}: {str(err)[:120]}"))
            continue
        wrong = [r.name for r in report.rows if counted.layers and not r.training
                 and counted.layers.get(r.name) != preset.batch_count(r, 1)]
        layers = (f"{len(report.rows) - len(wrong)}/{len(report.rows)}" if counted.layers
                  else "total only")
        verdict = "yes" if counted.total == expected and not wrong else (
            f"NO ({counted.total - expected:+,}" + (f"; layers {', '.join(wrong[:3])}"
                                                    if wrong else "") + ")")
        out.append((preset.tool, f"{counted.total:,}", f"{expected:,}", layers, verdict))
    return out


def main() -> int:
    import torch

    from cnnstat.analysis.pipeline import builtin_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    names = args.specs or builtin_names()
    lines = ["| spec | tool | tool's total | cnnstat preset | layers equal | equal |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    counts = {"yes": 0, "NO": 0, "other": 0}
    start = time.perf_counter()
    for name in names:
        for tool, total, preset, layers, verdict in check(name):
            key = verdict.split()[0] if verdict.split()[0] in counts else "other"
            counts[key] += 1
            lines.append(f"| {name} | {tool} | {total} | {preset} | {layers} | {verdict} |")
            print(lines[-1], flush=True)
    head = (f"# Every counter preset against the tool, on every built-in spec\n\n"
            f"`python tools/verify_counters_zoo.py` on {platform.machine()}, Python "
            f"{platform.python_version()}, torch {torch.__version__}; "
            f"{len(names)} specs at their own input, batch 1, in "
            f"{time.perf_counter() - start:.0f} s.\n\n"
            f"{counts['yes']} equal, {counts['NO']} differ, {counts['other']} refused by the "
            "preset or not run by the tool (the reason is given).\n\n")
    if args.out:
        args.out.write_text(head + "\n".join(lines) + "\n")
    print(head)
    return 1 if counts["NO"] else 0


if __name__ == "__main__":
    sys.exit(main())

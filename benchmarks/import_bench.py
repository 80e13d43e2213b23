"""``cnnstat import`` of a ResNet-152-sized module against what a user pays anyway: a fresh
``python -c "import torch; build the module"``.  The target (issue 15) is within 2x of that.

Every run is a fresh process.  The two commands are measured in interleaved rounds (one run of
each per round, after one untimed warm-up round), so a slow moment of the machine falls on both;
each figure is the median over the rounds, with the spread, in wall time and in CPU time (user
+ system, cnnstat's child included: on a shared machine the CPU figure is the steadier one).
The machine's load average is written beside them.  cnnstat runs from this checkout.

Run:  python benchmarks/import_bench.py [--rounds 5]   ->  benchmarks/import.md
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = f"{HERE / 'resnet152_module.py'}:resnet152"
BUILD = ("import sys; sys.path.insert(0, %r); import torch; import resnet152_module as m; "
         "m.resnet152()" % str(HERE))


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the process and every process it
    waited for (cnnstat's child): the CPU figure holds on a machine shared with other work."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "resnet152.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CNNSTAT_NO_CACHE": "1"}
    cases = {
        "python -c 'import torch; build the module'": [sys.executable, "-c", BUILD],
        "cnnstat import ... -o FILE": [sys.executable, "-m", "cnnstat", "import", TARGET,
                                       "--input", "3x224x224", "-o", str(out)],
    }
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {label: [] for label in cases}
    cpu: dict[str, list[float]] = {label: [] for label in cases}
    for round_ in range(args.rounds + 1):
        for label, argv in cases.items():
            wall, used = timed(argv, env)
            if round_:
                times[label].append(wall)
                cpu[label].append(used)
    base, imp = (statistics.median(v) for v in times.values())
    cpu_base, cpu_imp = (statistics.median(v) for v in cpu.values())
    import torch

    lines = [
        "# `cnnstat import` of a ResNet-152-sized module", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs ({platform.processor() or '?'}), "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"torch {torch.__version__}.  {args.rounds} interleaved rounds after one warm-up; "
        "median (min-max) of fresh processes.  Load average (1 min) "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after.", "",
        "| command | median s | min-max s | CPU s (median) |", "| --- | --- | --- | --- |",
        *(f"| {label} | {statistics.median(v):.2f} | {min(v):.2f}-{max(v):.2f} | "
          f"{statistics.median(cpu[label]):.2f} |" for label, v in times.items()), "",
        f"Ratio: {imp / base:.2f}x (target: within 2x); in CPU time {cpu_imp / cpu_base:.2f}x.  "
        "The import runs the module in a child "
        "process (torch import, the module built on the meta device, fx trace, one run of the "
        "traced graph on the meta device for the shapes, counted by FlopCounterMode), then "
        "writes, loads and analyses the spec in the parent.",
    ]
    (HERE / "import.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sweep throughput: 1,000 ResNet-50 configurations (10 widths x 25 depths x 4 input sizes),
each analysed exactly, at --jobs 1 and 2; configurations per second and per core.

Each figure is the median of REPEATS runs of the whole sweep (worker start-up included), with
receptive fields skipped (``--no-rf``, the JSON's ``rf: null``) and with them.  The peer, in the same run, counts the same configurations
with torch's FlopCounterMode on the meta device (cnnstat.build, then one forward), on a slice of
PEER_SLICE configurations (it needs a built module per configuration).  The issue's target is
200 configurations per second per core.  Results go to benchmarks/sweep.md.
Run: python benchmarks/sweep.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # measure this checkout

from startup import machine  # noqa: E402

from cnnstat.analysis import sweep_run  # noqa: E402
from cnnstat.analysis.sweep import Config, Evaluator, grid  # noqa: E402

WIDTHS = [float(Fraction(1, 4) + i * Fraction(1, 8)) for i in range(10)]  # 0.25 ... 1.375
DEPTHS = [float(Fraction(1, 2) + i * Fraction(1, 10)) for i in range(25)]  # 0.5 ... 2.9
INPUTS = [(3, s, s) for s in (128, 160, 192, 224)]
TARGET = 200
PEER_SLICE = 20


def configs() -> list[Config]:
    out = grid([("width", WIDTHS), ("depth", DEPTHS)], INPUTS)
    assert len(out) == 1000
    return out


def spread(items: list[Config], n: int) -> list[Config]:
    """n configurations spread evenly over the sweep (every size and input represented)."""
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                    resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def rate(items: list[Config], jobs: int, rf: bool,
         repeats: int) -> tuple[float, float, list[float]]:
    """(configurations per wall second, per CPU second, the wall times), medians of runs."""
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        rows = list(sweep_run.rows(Evaluator("resnet50", rf=rf), items, jobs=jobs,
                                   ordered=False))
        times.append(time.perf_counter() - start)
        cpu.append(cpu_seconds() - start_cpu)
        assert len(rows) == len(items) and not any(r.get("error") for r in rows)
    return len(items) / statistics.median(times), len(items) / statistics.median(cpu), times


def peer(items: list[Config], repeats: int) -> float | None:
    """Configurations per second for build + FlopCounterMode (meta device)."""
    try:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        from cnnstat import build, load
    except ImportError:
        return None

    def count(c: Config) -> None:
        loaded = load("resnet50", input=c.input, set=dict(c.set))
        model = build(loaded, device="meta").eval()
        with FlopCounterMode(display=False):
            model(torch.empty(1, *loaded.input_shape, device="meta"))

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for c in items:
            count(c)
        times.append(time.perf_counter() - start)
    return len(items) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "sweep.md")
    args = parser.parse_args()
    items = configs()
    load_before = os.getloadavg()
    peer_items = spread(items, PEER_SLICE)
    results = []
    for jobs in (1, 2):
        results.append(("1,000 configurations, no RF", jobs,
                        *rate(items, jobs, False, args.repeats)))
    for jobs in (1, 2):
        results.append(("1,000 configurations, with RF", jobs,
                        *rate(items, jobs, True, args.repeats)))
    peer_rate = peer(peer_items, args.repeats)
    load_after = os.getloadavg()
    lines = ["# Sweep throughput (ResNet-50: 10 widths x 25 depths x 4 input sizes)", "",
             f"Machine: {machine()}.  ",
             f"Each figure: median of {args.repeats} runs of the whole sweep in one process "
             "(`cnnstat.analysis.sweep_run.rows` as `cnnstat sweep` runs it, worker start-up "
             "included).  Widths "
             f"{WIDTHS[0]}..{WIDTHS[-1]} by 0.125, depths {DEPTHS[0]}..{DEPTHS[-1]} by 0.1, "
             "inputs 128, 160, 192, 224.  Load average (1, 5, 15 min) before: "
             f"{', '.join(f'{x:.1f}' for x in load_before)}; after: "
             f"{', '.join(f'{x:.1f}' for x in load_after)} (on {os.cpu_count()} logical CPUs: "
             "above that, the sweep shared its cores with other work).", "",
             "Per CPU second counts the CPU time of the process and its workers (user + system): "
             "what one core delivers, whatever else runs on the machine.", "",
             "| sweep | jobs | configurations/s (wall) | per core (wall) | per CPU second | "
             "runs (s) | target 200/s per core |",
             "|---|---:|---:|---:|---:|---|---|"]
    for what, jobs, per_s, per_cpu, times in results:
        lines.append(f"| {what} | {jobs} | {per_s:.1f} | {per_s / jobs:.1f} | {per_cpu:.1f} | "
                     f"{', '.join(f'{t:.1f}' for t in times)} | "
                     f"{'met' if per_cpu >= TARGET else 'not met'} |")
    if peer_rate is not None:
        lines += ["", f"Peer, same run: cnnstat.build + torch FlopCounterMode on the meta device "
                  f"(MACs only; no activations, memory or RF), {PEER_SLICE} configurations "
                  f"spread over the sweep: {peer_rate:.1f} configurations/s on one core."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

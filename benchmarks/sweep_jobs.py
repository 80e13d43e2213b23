"""When do worker processes pay?  The crossover behind ``cnnstat sweep``'s choice of workers
(``cnnstat.analysis.sweep_run.workers_for``).

ResNet-50 configurations (widths x depths x input sizes, receptive fields on, as ``cnnstat
sweep`` runs by default) in sweeps of growing size, each run three ways in one process:

* one: every configuration in this process (the rule's threshold set to infinity);
* two: two workers from the start (the threshold set to 0, the load ignored), as before the
  rule;
* auto: the rule as shipped, with --jobs 2 (which counts the cores the load average leaves idle).

Each figure is the median of REPEATS runs (wall seconds, worker start-up included).  The
crossover is the smallest sweep whose "two" beats "one"; the rule's PARALLEL_S should sit
near the one-process time there.  Results go to benchmarks/sweep_jobs.md.
Run: python benchmarks/sweep_jobs.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
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

WIDTHS = [float(Fraction(1, 4) + i * Fraction(1, 8)) for i in range(10)]
DEPTHS = [float(Fraction(1, 2) + i * Fraction(1, 10)) for i in range(25)]
INPUTS = [(3, s, s) for s in (128, 160, 192, 224)]
SIZES = (2, 50, 100, 200, 400, 800, 1200, 1600)


def spread(n: int) -> list[Config]:
    items = list(grid([("width", WIDTHS), ("depth", DEPTHS)], INPUTS))
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def timed(items: list[Config], jobs: int, parallel_s: float, repeats: int) -> float:
    saved = sweep_run.PROBE_S, sweep_run.PARALLEL_S, sweep_run.WORKER_S, sweep_run.idle_cores
    sweep_run.PARALLEL_S = parallel_s
    if parallel_s == 0:  # workers from the start, as before the rule
        sweep_run.PROBE_S, sweep_run.WORKER_S = 0.0, 1e-12
        sweep_run.idle_cores = lambda: float(jobs)
    try:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            rows = list(sweep_run.rows(Evaluator("resnet50"), items, jobs=jobs, ordered=False))
            times.append(time.perf_counter() - start)
            assert len(rows) == len(items)
        return statistics.median(times)
    finally:
        (sweep_run.PROBE_S, sweep_run.PARALLEL_S, sweep_run.WORKER_S,
         sweep_run.idle_cores) = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "sweep_jobs.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = []
    for n in SIZES:
        items = spread(n)
        one = timed(items, 1, float("inf"), args.repeats)
        two = timed(items, 2, 0.0, args.repeats)
        auto = timed(items, 2, sweep_run.PARALLEL_S, args.repeats)
        rows.append((n, one, two, auto))
        print(n, f"{one:.2f} {two:.2f} {auto:.2f}", flush=True)
    wide = timed(spread(2), 64, sweep_run.PARALLEL_S, args.repeats)
    load_after = os.getloadavg()
    lines = ["# Sweep workers: when do they pay? (ResNet-50, receptive fields on)", "",
             f"Machine: {machine()}.  ",
             f"Median of {args.repeats} runs, wall seconds, worker start-up included.  Load "
             f"average (1, 5, 15 min) before: {', '.join(f'{x:.1f}' for x in load_before)}; "
             f"after: {', '.join(f'{x:.1f}' for x in load_after)} (on {os.cpu_count()} logical "
             "CPUs).", "",
             f"The rule (sweep_run.workers_for): this process analyses for "
             f"{sweep_run.PROBE_S} s, then starts workers only when the rest is estimated at "
             f"more than {sweep_run.PARALLEL_S} s on one core, one per {sweep_run.WORKER_S} s of "
             "work at most, never more than the configurations left, --jobs, or the cores the "
             "load average leaves idle.", "",
             "| configurations | one process | two workers from the start | the rule, --jobs 2 |",
             "|---:|---:|---:|---:|"]
    lines += [f"| {n:,} | {one:.2f} | {two:.2f} | {auto:.2f} |" for n, one, two, auto in rows]
    lines += ["", f"2 configurations with --jobs 64 (the rule): {wide:.2f} s."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

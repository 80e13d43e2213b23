"""cnnstat bench's timing beside PyTorch's own torch.utils.benchmark.Timer, in one process.

For each case (resnet18 at batch 1 and 8, mobilenet-v2 at batch 1, on the CPU, threads fixed)
one forward function -- the built network in eval mode under torch.inference_mode, the input
normal noise -- is timed by both tools in alternating rounds, so drift in the machine's load
falls on both alike:

* cnnstat: ``cnnstat.torch_backend.bench.timing.time_calls`` (what ``cnnstat bench`` runs), one sample
  per call;
* Timer: ``Timer.timeit(1)`` called as many times, one sample per call (the same number of
  iterations); and ``Timer.blocked_autorange`` for reference (its median is over block means).

The ratio of the medians should be close to 1.  Then the cost of ``--per-layer``: the sum of the
per-layer medians (forward hooks with synchronisation) against the whole forward pass without
hooks, and the hooks' own cost measured on an empty ``nn.Identity``.  Results go to
benchmarks/bench_vs_timer.md with the machine described.  Run:  python benchmarks/bench_vs_timer.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # measure this checkout

import torch  # noqa: E402
from startup import machine  # noqa: E402
from torch.utils import benchmark  # noqa: E402

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.core.roofline import layer_costs, stats  # noqa: E402
from cnnstat.spec.loader import load  # noqa: E402
from cnnstat.torch_backend.build.net import SpecNet  # noqa: E402
from cnnstat.torch_backend.bench.probe import per_layer  # noqa: E402
from cnnstat.torch_backend.bench.timing import time_calls  # noqa: E402

CASES = (("resnet18", 1), ("resnet18", 8), ("mobilenet-v2", 1))
CPU = torch.device("cpu")


def forward(name: str, batch: int) -> tuple[Callable[[], Any], SpecNet, torch.Tensor, Any]:
    report = analyze(load(name))
    model = SpecNet(report).eval()
    x = torch.randn(batch, *report.input_shape, generator=torch.Generator().manual_seed(0))

    def fwd() -> Any:
        with torch.inference_mode():
            return model(x)

    return fwd, model, x, report


def timer_samples(fwd: Callable[[], Any], calls: int, threads: int) -> list[float]:
    timer = benchmark.Timer(stmt="fwd()", globals={"fwd": fwd}, num_threads=threads)
    return [timer.timeit(1).times[0] for _ in range(calls)]


def compare(name: str, batch: int, calls: int, rounds: int, threads: int) -> dict[str, Any]:
    fwd, model, x, report = forward(name, batch)
    for _ in range(3):  # warm both paths alike
        fwd()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        ours += time_calls(fwd, CPU, warmup=1, iters=calls)
        theirs += timer_samples(fwd, calls, threads)
    blocked = benchmark.Timer(stmt="fwd()", globals={"fwd": fwd},
                              num_threads=threads).blocked_autorange(min_run_time=1.0)
    plain = stats(time_calls(fwd, CPU, warmup=1, iters=calls * rounds))  # just before the hooks
    with torch.inference_mode():
        pl = per_layer(model, layer_costs(report, batch, 4), x, CPU, calls * rounds)
    return {"name": name, "batch": batch, "calls": calls * rounds, "ours": stats(ours),
            "timer": stats(theirs), "blocked": blocked.median,
            "blocked_runs": f"{len(blocked.times)} blocks x {blocked.number_per_run}",
            "plain": plain, "per_layer": pl, "layers": len(report.rows)}


def ms(s: float) -> str:
    return f"{s * 1000:.2f} ms"


def spread(st: Any) -> str:
    return f"{ms(st.median)} ({st.p10 * 1000:.2f}-{st.p90 * 1000:.2f})"


def report_lines(results: list[dict[str, Any]], threads: int, calls: int, rounds: int) -> list[str]:
    lines = ["# cnnstat bench timing vs torch.utils.benchmark.Timer (CPU)", "",
             f"Machine: {machine()}.  ",
             f"torch threads fixed at {threads} for both tools (Timer's num_threads); "
             f"{rounds} alternating rounds of {calls} calls per tool and case, after 3 warm-up "
             "calls; eval mode, torch.inference_mode, batch of normal noise.", "",
             "| network | batch | calls per tool | cnnstat `time_calls` median (p10-p90) | "
             "Timer `timeit(1)` median (p10-p90) | ratio of medians (cnnstat / Timer) | "
             "Timer `blocked_autorange` median | ratio (cnnstat / blocked) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['batch']} | {r['calls']} | {spread(r['ours'])} | "
                     f"{spread(r['timer'])} | {r['ours'].median / r['timer'].median:.3f} | "
                     f"{ms(r['blocked'])} ({r['blocked_runs']}) | "
                     f"{r['ours'].median / r['blocked']:.3f} |")
    lines += ["", "## Cost of `--per-layer`", "",
              "Each layer timed by forward pre/post hooks that synchronise the device and read "
              "`time.perf_counter` (CUDA events on a GPU); the forward pass without hooks timed "
              "just before, with as many calls.", "",
              "| network | batch | operations | whole forward, no hooks | hooked forward | "
              "sum of per-layer medians | sum / whole | empty nn.Identity under the hooks | "
              "added per hooked call |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        pl, whole = r["per_layer"], r["plain"].median
        lines.append(f"| {r['name']} | {r['batch']} | {r['layers']} | {ms(whole)} | "
                     f"{ms(pl.hooked_forward.median)} | {ms(pl.sum_of_medians)} | "
                     f"{pl.sum_of_medians / whole:.3f} | {pl.hook_floor.median * 1e6:.1f} us | "
                     f"{pl.hook_overhead * 1e6:.1f} us |")
    lines += ["", "A ratio of medians near 1 means both tools measure the same thing: the "
              "per-call time of the forward pass; what is left is the machine's drift between "
              "rounds (this CPU is shared).  `blocked_autorange` runs once, after the "
              "alternating rounds, and reports the median of block means, so drift shows more "
              "in its ratio.  The sum of per-layer medians leaves out the Python between layers "
              "(SpecNet's graph walk) and adds the hooks' floor once per layer."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=8, help="calls per tool per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "bench_vs_timer.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = [compare(n, b, args.calls, args.rounds, args.threads) for n, b in CASES]
    text = "\n".join(report_lines(results, args.threads, args.calls, args.rounds)) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

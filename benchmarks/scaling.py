"""Analysis time against depth: the CIFAR ResNet family (6n + 2 layers) from n = 3 to n = 800.

For each depth: load + expand + analyze in-process, median of REPEATS runs (after a warm-up),
and the time per reported operation, which should stay flat if the cost grows linearly.  Also a
cold `cnnstat summary resnet-cifar-1202` process (median of fresh processes; target < 1 s).
Where PyTorch and the cnnstat[torch] builder are installed, the same networks are counted by
torch's FlopCounterMode (meta device) and fvcore's FlopCountAnalysis (real tensors, n <= 18) in
the same run, as peers.  Results go to benchmarks/scaling.md.  Run: python benchmarks/scaling.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # measure this checkout

from startup import machine  # noqa: E402

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.spec.loader import load  # noqa: E402

DEPTHS = (3, 9, 18, 50, 100, 200, 400, 800)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cnnstat_time(n: int, repeats: int) -> tuple[float, int]:
    rows = len(analyze(load("resnet-cifar", {"n": n})).rows)
    return median_time(lambda: analyze(load("resnet-cifar", {"n": n})), repeats), rows


def peers(n: int, repeats: int) -> dict[str, float]:
    """Seconds for torch's FlopCounterMode (meta) and fvcore (real tensors) on the same network."""
    try:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        from cnnstat import build
    except ImportError:
        return {}
    out: dict[str, float] = {}
    model = build(load("resnet-cifar", {"n": n}), device="meta").eval()
    x = torch.empty(1, 3, 32, 32, device="meta")

    def flop_counter() -> None:
        with FlopCounterMode(display=False):
            model(x)

    out["FlopCounterMode (meta)"] = median_time(flop_counter, repeats)
    if n <= 18:
        try:
            from fvcore.nn import FlopCountAnalysis
        except ImportError:
            return out
        real = build(load("resnet-cifar", {"n": n})).eval()
        xr = torch.zeros(1, 3, 32, 32)

        def fvcore_count() -> None:
            analysis = FlopCountAnalysis(real, xr)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.total()

        out["fvcore FlopCountAnalysis"] = median_time(fvcore_count, max(1, repeats // 2))
    return out


def cold(repeats: int) -> list[float]:
    cmd = [sys.executable, "-m", "cnnstat", "summary", "resnet-cifar-1202", "--format", "json"]
    subprocess.run(cmd, capture_output=True, check=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "scaling.md"))
    args = parser.parse_args()
    lines = ["# Analysis time against depth (CIFAR ResNets, 6n + 2 layers)", "",
             f"Machine: {machine()}.  ",
             f"Each figure: median of {args.repeats} in-process runs after a warm-up.", "",
             "| n | layers (6n+2) | operations reported | cnnstat load+analyze | per operation |"
             " FlopCounterMode (meta) | fvcore |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for n in DEPTHS:
        seconds, rows = cnnstat_time(n, args.repeats)
        peer = peers(n, args.repeats) if n <= 200 else {}
        fcm = peer.get("FlopCounterMode (meta)")
        fvc = peer.get("fvcore FlopCountAnalysis")
        lines.append(f"| {n} | {6 * n + 2} | {rows} | {seconds * 1000:.1f} ms | "
                     f"{seconds / rows * 1e6:.1f} µs | "
                     f"{f'{fcm * 1000:.1f} ms' if fcm else '-'} | "
                     f"{f'{fvc * 1000:.1f} ms' if fvc else '-'} |")
    times = cold(args.repeats)
    med = statistics.median(times)
    lines += ["", f"Cold `cnnstat summary resnet-cifar-1202 --format json` (a fresh process, "
              f"4,208 operations): median {med:.3f} s (min {min(times):.3f}, max {max(times):.3f})"
              f"; target < 1 s: {'met' if med < 1 else 'NOT met'}.", "",
              "The peers need a built module (cnnstat.build) and count only conv/linear (and, for "
              "fvcore, BN and adaptive pooling); they are shown for scale, not as the same job: "
              "cnnstat also derives shapes, parameters, element-wise ops and diagnostics."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

"""``diff`` and ``check --baseline`` against ``summary``, from 4,900 to 49,000 layers.

Matching two layer lists by name used to cost O(n^2) (each layer counted the earlier layers of
its name): 4.9k/9.8k/19.6k layers took 4/11/58 s in ``diff``, and ``check --baseline`` of a valid
49k-layer spec took 263 s where ``summary`` took ~10 s.  The target is ``check --baseline`` within
2x of ``summary`` of the same spec.  Each command runs in a fresh process (what a CI job pays),
median of REPEATS runs; the spec is a chain of ``repeat: N`` [3x3 conv, relu] pairs, and B differs
from A in its last conv, so ``diff`` has one change to find among all the layers.  Results go to
benchmarks/diff_scaling.md.  Run:  python benchmarks/diff_scaling.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # measure this checkout

from startup import machine  # noqa: E402

HUNDREDS = (24, 49, 98, 245)  # hundreds of [conv, relu] pairs: 4,801 to 49,001 layers
SPEC = """name: chain
input: [8, 8, 8]
params: {{hundreds: {hundreds}, last: {last}}}
layers:
  - repeat: $hundreds
    layers:
      - repeat: 100
        layers:
          - conv: {{out: 8, kernel: 3, padding: 1}}
          - relu
  - conv: {{out: $last, kernel: 1}}
"""


def run(args: list[str], repeats: int, expect: int = 0) -> float:
    """Median wall-clock seconds of ``cnnstat ARGS`` in fresh processes, which must exit
    ``expect`` (so a rejected spec is never timed as a fast success)."""
    env = {**os.environ, "CNNSTAT_CACHE_DIR": tempfile.mkdtemp(prefix="cnnstat-bench-cache-")}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "cnnstat", *args], capture_output=True,
                              env=env, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != expect:
            raise SystemExit(f"cnnstat {' '.join(args)} exited {proc.returncode}, not {expect}:"
                             f"\n{proc.stderr.decode()[-2000:]}")
    return statistics.median(times)


def measure(hundreds: int, tmp: Path, repeats: int) -> dict[str, float]:
    a, b = tmp / f"a{hundreds}.yaml", tmp / f"b{hundreds}.yaml"
    a.write_text(SPEC.format(hundreds=hundreds, last=8), encoding="utf-8")
    b.write_text(SPEC.format(hundreds=hundreds, last=16), encoding="utf-8")
    base = tmp / f"base{hundreds}.json"
    out = {"summary": run(["summary", str(a), "--format", "json"], repeats),
           "check --write-baseline": run(["check", str(a), "--write-baseline", str(base)],
                                         repeats)}
    out["check --baseline"] = run(["check", str(b), "--baseline", str(base)], repeats, expect=1)
    out["diff A B"] = run(["diff", str(a), str(b), "--format", "json"], repeats)
    out["diff baseline B"] = run(["diff", f"{base}#chain", str(b), "--format", "json"], repeats)
    out["baseline MiB"] = base.stat().st_size / 2**20
    return out


def table(results: dict[int, dict[str, float]]) -> str:
    keys = [k for k in next(iter(results.values())) if k != "baseline MiB"]
    lines = ["| layers | " + " | ".join(keys) + " | check --baseline / summary | baseline file |",
             "|---:|" + "---:|" * (len(keys) + 2)]
    for layers, row in results.items():
        ratio = row["check --baseline"] / row["summary"]
        lines.append(f"| {layers:,} | " + " | ".join(f"{row[k]:.2f} s" for k in keys) +
                     f" | {ratio:.2f} | {row['baseline MiB']:.1f} MiB |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hundreds", type=int, nargs="*", default=list(HUNDREDS),
                        help="sizes: hundreds of [conv, relu] pairs (layers = 200 x N + 1)")
    parser.add_argument("--out", type=Path, default=HERE / "diff_scaling.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {200 * n + 1: measure(n, Path(tmp), args.repeats) for n in args.hundreds}
    worst = max(r["check --baseline"] / r["summary"] for r in results.values())
    text = (f"# diff and check --baseline against summary\n\nMachine: {machine()}.  \n"
            f"Each figure: median of {args.repeats} fresh processes (`python -m cnnstat ...`, "
            "an empty analysis cache).  A chain of [3x3 conv, relu] pairs; B changes the last "
            "conv.\n\n" + table(results) + "\n\n"
            f"Target: `check --baseline` within 2x of `summary` of the same spec: worst ratio "
            f"{worst:.2f}, {'met' if worst <= 2 else 'NOT met'}.\n")
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

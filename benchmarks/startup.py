"""Start-up benchmark: fresh `cnnstat` processes against `python -c "import torch"`, in one run.

Every command runs in a new process (that is what a user waits for).  The commands are measured
in interleaved rounds (one run of each per round, ROUNDS rounds after WARMUP untimed rounds), so
a slow moment of the machine falls on all of them alike; each figure is the median over the
rounds, with the spread.  cnnstat runs from this checkout (`python -m cnnstat`) with a fresh
cache directory, filled by the warm-up rounds (the state of any second run on a user's machine);
the same commands with `CNNSTAT_NO_CACHE=1` show the cost without the cache.  Bytecode is
written (PYTHONDONTWRITEBYTECODE is unset for the runs), as an installed package has it.  Each target is a
ratio to `import torch` measured in the same rounds (issue 11).

Run:  python benchmarks/startup.py [--rounds 9]   ->  benchmarks/startup.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    env: dict[str, str]
    target: float | None = None  # required speed-up over `import torch` (None: a reference)
    times: list[float] | None = None


def run_once(case: Case) -> float:
    start = time.perf_counter()
    subprocess.run(case.argv, capture_output=True, check=True, env=case.env)
    return time.perf_counter() - start


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import importlib.metadata as md
        torch_version = md.version("torch")
    except Exception:  # noqa: BLE001 - report whatever is installed
        torch_version = "not installed"
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, torch {torch_version}")


def cases(py: str, cache_dir: str) -> list[Case]:
    warm = {**os.environ, "CNNSTAT_CACHE_DIR": cache_dir}
    warm.pop("CNNSTAT_NO_CACHE", None)
    # bytecode as an installed package has it (pip compiles it at install; any value of this
    # variable, even "0", would make every run compile cnnstat's sources again)
    warm.pop("PYTHONDONTWRITEBYTECODE", None)
    cold = {**warm, "CNNSTAT_NO_CACHE": "1"}
    cn = [py, "-m", "cnnstat"]
    return [
        Case("`cnnstat params vgg16 --format json`", cn + ["params", "vgg16", "--format", "json"],
             warm, 10),
        Case("`cnnstat summary vgg16` (table)", cn + ["summary", "vgg16"], warm, 8),
        Case("`cnnstat list`", cn + ["list"], warm, 4),
        Case("`cnnstat summary resnet-cifar-1202` (table)", cn + ["summary", "resnet-cifar-1202"],
             warm, 1),
        Case("`cnnstat summary resnet-cifar-1202 --format json`",
             cn + ["summary", "resnet-cifar-1202", "--format", "json"], warm, 4),
        Case("`cnnstat params vgg16 --format json`, no cache",
             cn + ["params", "vgg16", "--format", "json"], cold),
        Case("`cnnstat summary vgg16` (table), no cache", cn + ["summary", "vgg16"], cold),
        Case("`cnnstat list`, no cache", cn + ["list"], cold),
        Case("`python -c pass` (the interpreter)", [py, "-c", "pass"], warm),
        Case("`python -c \"import click, rich, pydantic, yaml\"`",
             [py, "-c", "import click, rich.console, rich.table, pydantic, yaml"], warm),
        Case("`python -c \"import torch\"` (the peer)", [py, "-c", "import torch"], warm),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "startup.md"))
    args = parser.parse_args()
    os.chdir(HERE.parent)  # `python -m cnnstat` runs this checkout
    with tempfile.TemporaryDirectory(prefix="cnnstat-bench-cache-") as cache_dir:
        todo = cases(sys.executable, cache_dir)
        for _ in range(args.warmup):
            for case in todo:
                run_once(case)
        samples: dict[str, list[float]] = {c.label: [] for c in todo}
        for _ in range(args.rounds):
            for case in todo:
                samples[case.label].append(run_once(case))
    torch_median = statistics.median(samples[todo[-1].label])
    lines = ["# Start-up: fresh `cnnstat` processes vs `import torch`", "",
             f"Machine: {machine()}.  ",
             f"Each figure: the median of {args.rounds} interleaved rounds (after "
             f"{args.warmup} warm-up rounds that also fill a fresh cache), min..max in brackets; "
             "the ratio is `import torch`'s median over the command's median, in the same run.",
             "", "| command | median wall time | x faster than `import torch` | target | met |",
             "|---|---:|---:|---:|---|"]
    for case in todo:
        times = samples[case.label]
        med = statistics.median(times)
        ratio = torch_median / med
        target = f">= {case.target:g}x" if case.target and case.target > 1 else (
            "faster" if case.target else "")
        met = "" if case.target is None else ("yes" if ratio >= case.target and
                                              (case.target > 1 or ratio > 1) else "NO")
        lines.append(f"| {case.label} | {med:.3f} s ({min(times):.3f}..{max(times):.3f}) | "
                     f"{ratio:.1f} | {target} | {met} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

"""Interactive latency: the commands a person waits for, in fresh processes, beside `import torch`.

Issue 29's targets, cache warm: `report resnet50` <= 3 s, `plot complexity` <= 1.5 s, `verify
resnet18` <= 4 s, `receptive-field` (the zoo) <= 1 s.  Every command runs in a new process (what
a user waits for), in interleaved rounds (one run of each per round, after WARMUP untimed rounds
that also fill a fresh cache directory), so a slow moment of the machine falls on all of them
alike; each figure is the median over the rounds with the spread, and its ratio to `python -c
"import torch"` measured in the same rounds.  The machine is named and its load average taken
before and after: compare absolute figures only between runs on one machine at a similar load.

Run:  python benchmarks/latency.py [--rounds 5]   ->  benchmarks/latency.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from startup import machine  # noqa: E402  (the same description of the machine)


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    target: float | None = None  # seconds (None: a reference)


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, env=env)
    return time.perf_counter() - start


def cases(py: str, out: Path) -> list[Case]:
    cn = [py, "-m", "cnnstat"]
    return [
        Case("`cnnstat report resnet50 -o r.html`", cn + ["report", "resnet50", "-o",
                                                          str(out / "r.html")], 3.0),
        Case("`cnnstat plot complexity -o c.svg`", cn + ["plot", "complexity", "-o",
                                                         str(out / "c.svg")], 1.5),
        Case("`cnnstat verify resnet18`", cn + ["verify", "resnet18"], 4.0),
        Case("`cnnstat receptive-field` (the zoo)", cn + ["receptive-field"], 1.0),
        Case("`cnnstat summary resnet50 --depth 1`", cn + ["summary", "resnet50", "--depth", "1"]),
        Case("`cnnstat report resnet50 --verify -o r.html`",
             cn + ["report", "resnet50", "--verify", "-o", str(out / "rv.html")]),
        Case("`python -c \"import torch\"` (the peer)", [py, "-c", "import torch"]),
    ]


def load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "latency.md"))
    args = parser.parse_args()
    os.chdir(HERE.parent)  # `python -m cnnstat` runs this checkout
    before = load()
    with tempfile.TemporaryDirectory(prefix="cnnstat-latency-") as tmp:
        env = {**os.environ, "CNNSTAT_CACHE_DIR": str(Path(tmp) / "cache")}
        env.pop("CNNSTAT_NO_CACHE", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode as an installed package has it
        todo = cases(sys.executable, Path(tmp))
        for _ in range(args.warmup):
            for case in todo:
                run_once(case.argv, env)
        samples: dict[str, list[float]] = {c.label: [] for c in todo}
        for _ in range(args.rounds):
            for case in todo:
                samples[case.label].append(run_once(case.argv, env))
    after = load()
    torch_median = statistics.median(samples[todo[-1].label])
    lines = ["# Interactive latency: fresh `cnnstat` processes vs `import torch`", "",
             f"Machine: {machine()}.  Load average (1 / 5 / 15 min) before: {before}; after: "
             f"{after}.  ",
             f"Each figure: the median of {args.rounds} interleaved rounds of fresh processes "
             f"(after {args.warmup} warm-up round(s) that also fill a fresh cache), min..max in "
             "brackets; the ratio is the median over `import torch`'s median in the same run.",
             "", "| command | median wall time | x `import torch` | target | met |",
             "|---|---:|---:|---:|---|"]
    for case in todo:
        times = samples[case.label]
        med = statistics.median(times)
        target = f"<= {case.target:g} s" if case.target else ""
        met = "" if case.target is None else ("yes" if med <= case.target else "NO")
        lines.append(f"| {case.label} | {med:.2f} s ({min(times):.2f}..{max(times):.2f}) | "
                     f"{med / torch_median:.2f} | {target} | {met} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

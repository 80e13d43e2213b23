"""The test suite's own time: where it goes (per file, the slowest tests) and what the parallel
run and the fast tier take, in one run on one machine.

Each configuration runs the suite as the README's test command does (``python -m pytest -q``,
with ``CI=true`` so nothing that CI runs is skipped), writing JUnit XML; the per-file table sums
the recorded time of each test (setup, call and teardown) and the wall time is the whole
process, collection and worker start-up included.  Configurations:

* ``serial``: ``-p no:xdist`` (one process; the per-file table comes from this run);
* ``parallel``: ``-n auto`` (the README's test command; ``.ci/run``);
* ``fast``: ``-m "not slow" -n auto`` (the edit loop's tier, CONTRIBUTING.md).

A whole suite takes minutes, so each configuration runs once per round (``--rounds``, default 1);
with more rounds the median is reported.  The load average before and after each run is
recorded: read the figures as ratios between configurations of the same run.

Run:  python benchmarks/tests.py [--rounds N] [--only serial,parallel,fast]  ->  benchmarks/tests.md
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from startup import machine  # noqa: E402  (the same description of the machine)
CONFIGS = {
    "serial": ["-p", "no:xdist"],
    "parallel": ["-n", "auto"],
    "fast": ["-m", "not slow", "-n", "auto"],
}


def run(name: str, xml: Path) -> tuple[float, str, float, float]:
    """One run of the suite: wall seconds, pytest's last line, load before and after."""
    before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", *CONFIGS[name],
                           f"--junitxml={xml}"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "CI": "true"}, check=False)
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else "(no output)"
    if proc.returncode != 0:
        failed = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        raise SystemExit(f"{name}: pytest exited {proc.returncode}: {last}\n" + "\n".join(failed))
    return wall, last, before, os.getloadavg()[0]


def per_file(xml: Path) -> tuple[dict[str, float], dict[str, int], list[tuple[float, str]]]:
    seconds: dict[str, float] = collections.defaultdict(float)
    count: collections.Counter[str] = collections.Counter()
    tests: list[tuple[float, str]] = []
    for case in ET.parse(xml).iter("testcase"):
        module = case.get("classname", "").split(".")
        name = module[1] if len(module) > 1 else module[0]
        t = float(case.get("time", "0"))
        seconds[name] += t
        count[name] += 1
        tests.append((t, f"{name}::{case.get('name')}"))
    return seconds, count, sorted(tests, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", default="serial,parallel,fast")
    parser.add_argument("--out", type=Path, default=HERE / "tests.md")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    walls: dict[str, list[float]] = {n: [] for n in names}
    notes: dict[str, str] = {}
    table = None
    table_from = ""
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in names:
                xml = Path(tmp) / f"{name}-{r}.xml"
                wall, last, before, after = run(name, xml)
                walls[name].append(wall)
                notes[name] = f"{last} (load {before:.1f} before, {after:.1f} after)"
                print(f"{name}: {wall:.1f} s: {notes[name]}", flush=True)
                if table is None or name == "serial":  # the serial run's, when there is one
                    table, table_from = per_file(xml), name
    out = [f"# The test suite's time\n", f"Machine: {machine()}.  "
           f"`python benchmarks/tests.py --rounds {args.rounds}` "
           f"({time.strftime('%Y-%m-%d')}).\n",
           "| configuration | command | wall time (median) | pytest's summary |",
           "| --- | --- | ---: | --- |"]
    for name in names:
        cmd = " ".join(["python -m pytest -q", *(f'"{a}"' if " " in a else a
                                                  for a in CONFIGS[name])])
        out.append(f"| {name} | `{cmd}` | {statistics.median(walls[name]):.1f} s | "
                   f"{notes[name]} |")
    if table is not None:
        seconds, count, tests = table
        out += ["", f"## Per file ({table_from} run; setup + call + teardown)", "",
                "| file | tests | seconds | share |", "| --- | ---: | ---: | ---: |"]
        total = sum(seconds.values())
        for f, s in sorted(seconds.items(), key=lambda kv: -kv[1])[:40]:
            out.append(f"| {f} | {count[f]} | {s:.1f} | {100 * s / total:.1f}% |")
        out.append(f"| (all {len(seconds)} files) | {sum(count.values())} | {total:.1f} | |")
        out += ["", f"## The 30 slowest tests ({table_from} run)", "", "| seconds | test |",
                "| ---: | --- |"]
        out += [f"| {s:.1f} | `{n}` |" for s, n in tests[:30]]
    args.out.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

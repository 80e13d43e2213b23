"""Cold-start benchmark: a fresh `cnnstat summary SPEC` process against `python -c "import torch"`.

Each command runs in a new process (that is what a user waits for), a few times to warm the OS
file cache, then REPEATS times; the median and the spread (min..max) are reported.  The results
go to benchmarks/startup.md with the machine described.  Run:  python benchmarks/startup.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str], repeats: int, warmup: int = 2) -> list[float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for _ in range(warmup):
        subprocess.run(cmd, capture_output=True, check=True, env=env)
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=env)
        out.append(time.perf_counter() - start)
    return out


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


def row(label: str, times: list[float]) -> tuple[str, float, str]:
    med = statistics.median(times)
    return label, med, f"{med:.3f} s (min {min(times):.3f}, max {max(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--spec", default="vgg16")
    parser.add_argument("--out", default=str(HERE / "startup.md"))
    args = parser.parse_args()
    py = sys.executable
    os.chdir(HERE.parent)  # `python -m cnnstat` runs this checkout
    cnnstat = [py, "-m", "cnnstat", "summary", args.spec, "--format", "json"]
    table = [row(f"`cnnstat summary {args.spec}`", timed(cnnstat, args.repeats)),
             row("`cnnstat summary " + args.spec + "` (table output, rich)",
                 timed([py, "-m", "cnnstat", "summary", args.spec], args.repeats)),
             row("`python -c pass` (interpreter alone)", timed([py, "-c", "pass"], args.repeats))]
    try:
        table.append(row("`python -c \"import torch\"`",
                         timed([py, "-c", "import torch"], args.repeats)))
    except subprocess.CalledProcessError:
        pass
    ours = max(table[0][1], table[1][1])  # the slower of the JSON and the default table output
    lines = [f"# Cold start: `cnnstat summary {args.spec}` vs `import torch`", "",
             f"Machine: {machine()}.  ", f"Each figure: median of {args.repeats} fresh processes "
             "(after 2 warm-up runs), with the spread.", "",
             "| command | median wall time |", "|---|---|"]
    lines += [f"| {label} | {text} |" for label, _, text in table]
    if len(table) == 4:
        lines += ["", f"Both `cnnstat summary` runs are at least {table[3][1] / ours:.1f}x faster "
                  "than importing torch (target: >= 5x); slower of the two "
                  f"{ours:.3f} s, target <= 0.35 s: {'met' if ours <= 0.35 else 'NOT met'}."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

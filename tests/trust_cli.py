"""cnnstat run as a user runs it, bounded and fenced in (issue 26's hostile corpus,
tests/test_trust_sweep.py and tests/test_trust_bounds.py).

:func:`run` starts ``python -m cnnstat ARGS`` in a child process limited in address space
(RLIMIT_AS) and time, whose working directory, HOME, TMPDIR and cache directory are all in the
test's own directory, and checks that no file the checkout tracks changed: whatever a hostile
input makes cnnstat do, it can write only where the test looks.  No traceback and no internal
error may ever come out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MEMORY = 3 << 29  # 1.5 GiB: enough for cnnstat without torch, far from reading a device whole
BOUNDED = ("import resource, runpy, sys\n"
           "memory = int(sys.argv.pop(1))\n"
           "resource.setrlimit(resource.RLIMIT_AS, (memory, memory))\n"
           "sys.argv = ['cnnstat', *sys.argv[1:]]\n"
           "runpy.run_module('cnnstat', run_name='__main__')\n")


@cache
def tracked() -> tuple[Path, ...]:
    """The checkout's tracked files (or, without git, its package and zoo)."""
    proc = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                          check=False)
    if proc.returncode == 0 and proc.stdout:
        return tuple(REPO / p for p in proc.stdout.decode().split("\0") if p)
    return tuple(p for d in ("cnnstat", "specs") for p in (REPO / d).rglob("*") if p.is_file())


def snapshot() -> dict[Path, tuple[int, int]]:
    out = {}
    for path in tracked():
        try:
            st = path.stat()
        except OSError:
            continue
        out[path] = (st.st_size, st.st_mtime_ns)
    return out


def run(tmp_path: Path, *args: str, timeout: float = 30, memory: int = MEMORY,
        stdin: object = subprocess.DEVNULL,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``cnnstat ARGS`` in the fence; asserts it ended in time, without a traceback or an
    internal error, and without changing a tracked file of the checkout."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    fenced = {**os.environ, "HOME": str(home), "TMPDIR": str(home), "XDG_CACHE_HOME":
              str(home / ".cache"), "CNNSTAT_CACHE_DIR": str(home / "cache"),
              "CNNSTAT_NO_CACHE": "1", "PYTHONPATH": str(REPO), **(env or {})}
    before = snapshot()
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", BOUNDED, str(memory), *args], stdin=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          cwd=tmp_path, env=fenced)
    assert time.monotonic() - start < timeout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert snapshot() == before, "a file of the checkout changed"
    return proc


def run_many(tmp_path: Path, runs: list[list[str]], seconds: float = 10,
             memory: int = MEMORY) -> list[dict[str, Any]]:
    """Several command lines (absolute paths in them) in one bounded child process
    (tests/fuzz_cli_child.py ``--argv``), each within ``seconds``: their exit codes, stdout and
    stderr, in order; none with a traceback or an internal error, no tracked file changed."""
    listing = tmp_path / "runs.json"
    listing.write_text(json.dumps(runs))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home), "XDG_CACHE_HOME":
           str(home / ".cache"), "CNNSTAT_CACHE_DIR": str(home / "cache"),
           "CNNSTAT_NO_CACHE": "1", "PYTHONPATH": str(REPO)}
    before = snapshot()
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz_cli_child", "--argv", str(listing),
                           str(memory), str(seconds)], capture_output=True, text=True,
                          timeout=30 + seconds * len(runs), check=False, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(runs)
    for result in results:
        assert result["exit"] in (0, 1, 2), result
        assert not result["traceback"] and not result["internal_error"], result
    assert snapshot() == before, "a file of the checkout changed"
    return results

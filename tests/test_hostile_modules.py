"""The corpus of hostile user modules (tests/hostile_modules/): ``cnnstat verify conv-example
--module FILE:make --format json`` never passes a module it could not check, and ends every case
with a plain message and its exit code -- never a traceback, an internal error, a raw control
character, stdout that is not the report, or a hang past ``--timeout``.

tests/hostile_modules/expected.json maps each file to ``[exit code, substring of stderr, ...]``.
The cases run as real processes (the user's output must not reach the real stdout), a few at a
time: each starts Python and torch twice (cnnstat, and the child that runs the module).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

CORPUS = Path(__file__).parent / "hostile_modules"
ROOT = Path(__file__).parent.parent
EXPECTED: dict[str, list[object]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))
DEFAULT_TIMEOUT = 120  # seconds: a case without its own "# args: --timeout N"
SLACK = 60  # seconds beyond --timeout for cnnstat to start, kill the child and report
WORKERS = 3
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")  # all but tab and newline


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timeout: float


def arguments(name: str) -> list[str]:
    first = (CORPUS / name).read_text("utf-8").splitlines()[0]
    args = first.removeprefix("# args:").split() if first.startswith("# args:") else []
    return args if "--timeout" in args else [*args, "--timeout", str(DEFAULT_TIMEOUT)]


def run_case(name: str) -> Ran:
    args = arguments(name)
    timeout = float(args[args.index("--timeout") + 1])
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "cnnstat", "verify", "conv-example", "--module",
         f"{CORPUS / name}:make", "--format", "json", *args],
        cwd=ROOT, capture_output=True, timeout=timeout + SLACK, stdin=subprocess.DEVNULL)
    return Ran(proc.returncode, proc.stdout.decode("utf-8", "backslashreplace"),
               proc.stderr.decode("utf-8", "backslashreplace"), time.monotonic() - start,
               timeout)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Ran]]]:
    """Every selected case, started at once on a few workers (each test waits for its own)."""
    selected = [item.callspec.params["name"] for item in request.session.items
                if item.module is sys.modules[__name__] and hasattr(item, "callspec")
                and "name" in item.callspec.params]
    pool = ThreadPoolExecutor(WORKERS)
    futures = {name: pool.submit(run_case, name) for name in dict.fromkeys(selected)}
    yield futures
    pool.shutdown(cancel_futures=True)


def test_every_corpus_module_has_an_expectation() -> None:
    assert {p.name for p in CORPUS.glob("*.py")} == set(EXPECTED)
    assert len(EXPECTED) >= 12


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_module_is_reported_cleanly(name: str, runs: dict[str, Future[Ran]]) -> None:
    exit_code, *messages = EXPECTED[name]
    ran = runs[name].result()
    err = ran.stderr
    assert ran.returncode == exit_code, err
    assert "Traceback" not in err and "internal error" not in err, err
    for message in messages:
        assert str(message) in err, err
    assert not RAW_CONTROL.search(err) and not RAW_CONTROL.search(ran.stdout)
    if exit_code == 2:  # could not check: no report, and the message says why
        assert ran.stdout == "" and "cnnstat: error: --module" in err
    else:  # checked: stdout is the report and nothing else
        assert json.loads(ran.stdout)["ok"] is (exit_code == 0)
    assert ran.seconds < ran.timeout + SLACK


def test_a_process_the_module_started_does_not_outlive_verify(
        runs: dict[str, Future[Ran]]) -> None:
    if "leaves_a_process_behind.py" not in runs or not Path("/proc/self/cmdline").exists():
        pytest.skip("needs the leaves_a_process_behind.py case and /proc")
    assert runs["leaves_a_process_behind.py"].result().returncode == 0
    deadline = time.monotonic() + 10  # SIGKILL is delivered asynchronously
    while _running("cnnstat-hostile-grandchild") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running("cnnstat-hostile-grandchild")


def _running(marker: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False

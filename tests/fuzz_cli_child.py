"""The child process of the CLI fuzz test (tests/test_fuzz.py): runs cnnstat's command line on
every spec file in a directory, in this one process, under an address-space limit, and prints
one JSON line per run: the file, the command, its exit code, the seconds it took and whether
its stderr held a traceback or an internal error.

    python -m tests.fuzz_cli_child DIR MEMORY_BYTES SECONDS_PER_RUN

With ``--argv FILE``, the runs are the command lines (JSON: a list of argument lists) in FILE
instead, each line also carrying the run's stdout and stderr (the sweep, merge and scale fuzz
test, and tests/trust_cli.py's batches):

    python -m tests.fuzz_cli_child --argv FILE MEMORY_BYTES SECONDS_PER_RUN
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from tests.limits import Hang, time_limit

COMMANDS = (("check", "{}", "--format", "json"), ("check", "{}", "--format", "junit"),
            ("summary", "{}", "--format", "json"), ("summary", "{}"))


def main(directory: str, memory: int, seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from cnnstat.cli.main import main as cli  # imported under the limit, like a user's run

    runner = CliRunner()
    for path in sorted(Path(directory).glob("*.yaml")):
        for command in COMMANDS:
            args = [a.format(path) for a in command]
            start = time.perf_counter()
            try:
                with time_limit(seconds):
                    result = runner.invoke(cli, args, catch_exceptions=True)
                code, stderr = result.exit_code, result.stderr
                crashed = result.exception is not None and not isinstance(result.exception,
                                                                          SystemExit)
            except Hang:
                code, stderr, crashed = -1, "", False
            print(json.dumps({
                "file": path.name, "command": " ".join(command[:1] + command[2:]), "exit": code,
                "seconds": round(time.perf_counter() - start, 3),
                "traceback": crashed or "Traceback" in stderr,
                "internal_error": "internal error" in stderr,
                "stderr": stderr[-400:]}), flush=True)


def main_argv(listing: str, memory: int, seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from cnnstat.cli.main import main as cli

    runner = CliRunner()
    for args in json.loads(Path(listing).read_text()):
        start = time.perf_counter()
        try:
            with time_limit(seconds):
                result = runner.invoke(cli, args, catch_exceptions=True)
            code, stdout, stderr = result.exit_code, result.stdout, result.stderr
            crashed = result.exception is not None and not isinstance(result.exception,
                                                                      SystemExit)
        except Hang:
            code, stdout, stderr, crashed = -1, "", "", False
        print(json.dumps({
            "argv": args, "exit": code, "seconds": round(time.perf_counter() - start, 3),
            "traceback": crashed or "Traceback" in stderr,
            "internal_error": "internal error" in stderr,
            "stdout": stdout[-20000:], "stderr": stderr[-4000:]}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--argv":
        main_argv(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))

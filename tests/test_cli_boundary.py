"""The error boundary's promises for what users do: a mistake is a plain message with its exit
code (never 'internal error', never a traceback), Ctrl-C exits 130, and a reader that goes away
(``| head -1``) ends the run quietly with 141, neither reusing 1 ("spec rejected")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write

CNNSTAT = [sys.executable, "-m", "cnnstat"]
UNICODE_TITLE = "name: t\ntitle: 'caf\u00e9 \u2014 \u2713'\ninput: [3, 8, 8]\nlayers: [relu]\n"


def clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr


def test_ctrl_c_in_a_command_exits_130(cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("cnnstat.analysis.run", interrupted)
    result = cli("summary", "lenet5")
    assert result.exit_code == 130
    assert result.stdout == "" and result.stderr.strip() == "cnnstat: interrupted"


def test_ctrl_c_exits_130() -> None:
    """Interrupted while waiting for a spec on standard input (a real SIGINT)."""
    proc = subprocess.Popen([*CNNSTAT, "summary", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # the interpreter starts and blocks reading stdin
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert out == "" and err.strip() == "cnnstat: interrupted"


def test_a_closed_pipe_exits_quietly() -> None:
    """``cnnstat summary vgg16 | head -1`` where head has already gone: no traceback, no
    'Exception ignored' at exit, exit 141 (128 + SIGPIPE), as the shell reports a killed writer."""
    read, write_end = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([*CNNSTAT, "summary", "vgg16"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == ""


def test_a_closed_stdin_is_a_usage_error() -> None:
    proc = subprocess.run([*CNNSTAT, "summary", "-"], stdin=None, capture_output=True,
                          text=True, timeout=120, check=False,
                          preexec_fn=lambda: os.close(0))  # noqa: PLW1509 - a closed fd 0
    assert proc.returncode == 2
    clean(proc.stderr)
    assert proc.stderr.startswith("cnnstat: error: cannot read standard input: it is closed")


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_a_stdout_that_cannot_encode_the_title(tmp_path: Path, fmt: str) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run([*CNNSTAT, "summary", write(tmp_path, UNICODE_TITLE), "--format", fmt],
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 2
    clean(proc.stderr)
    assert "cnnstat: error: standard output's encoding (ascii) cannot represent '\\xe9'" \
        in proc.stderr
    assert "hint: set PYTHONIOENCODING=utf-8" in proc.stderr


def test_json_on_an_ascii_stdout_still_works(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run([*CNNSTAT, "summary", write(tmp_path, UNICODE_TITLE), "--format",
                           "json"], capture_output=True, text=True, timeout=120, check=False,
                          env=env)
    assert proc.returncode == 0 and '"caf\\u00e9' in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("summary", "lenet5", "--set", "classes=" + "9" * 5000),
     "--set classes=...: an integer of 5,000 digits is too large (at most 100 digits)"),
    (("summary", "lenet5", "--set", "classes=-" + "1_000" * 1500),
     "an integer of 6,000 digits is too large"),
    (("summary", "lenet5", "--set", "classes=!!python/object/apply:os.system [ls]"),
     "--set 'classes=!!python/object/apply:os.system [ls]': YAML tags are not allowed"),
    (("explain", "conv", "--input", "3x32x32", "--filters", "4", "--kernel", "3", "--arg",
      "stride=" + "9" * 5000), "--arg stride=...: an integer of 5,000 digits is too large"),
    (("explain", "conv", "--input", "3x32x32", "--filters", "4", "--kernel", "3", "--arg",
      "stride=!foo 1"), "--arg 'stride=!foo 1': YAML tags are not allowed"),
])
def test_option_values_users_can_get_wrong(cli: Callable, args: tuple[str, ...],
                                           message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    clean(result.stderr)
    assert message in result.stderr


def test_an_unreadable_arg_value_stays_text_and_is_rejected_in_the_spec(cli: Callable) -> None:
    result = cli("explain", "conv", "--input", "3x32x32", "--filters", "4", "--kernel", "3",
                 "--arg", "stride=[1")
    assert result.exit_code == 1 and "E303" in result.stderr
    clean(result.stderr)


@pytest.mark.parametrize(("option", "value"), [
    ("--time-budget", "nan"), ("--time-budget", "inf"), ("--time-budget", "-1"),
    ("--time-budget", "0"), ("--time-budget", "1e9"), ("--time-budget", "soon"),
    ("--threads", "0"), ("--threads", "100000"),
])
def test_absurd_bench_settings_are_usage_errors(cli: Callable, option: str, value: str) -> None:
    result = cli("bench", "lenet5", option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr
    clean(result.stderr)

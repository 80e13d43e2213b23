"""No control character from a spec reaches a terminal or a CI log raw: tables (every format),
diagnostics, GitHub annotations and JUnit show escapes, so an ESC cannot retitle the window or
clear the screen and a newline cannot forge a ``path:line:col: error`` or ``::error`` line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.render.escape import escape_controls
from tests.conftest import write

# a spec with control characters where the schema lets them through: layer names (quoted YAML
# escapes), the title, a figure's source and its known difference
HOSTILE = """\
name: hostile
title: "\\e]0;pwned\\a title\\rx.yaml:1:1: error[E999]: forged"
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, name: "c1\\e[2J"}
  - relu: {name: "r\\nx.yaml:1:1: error[E999]: forged"}
  - conv: {out: 4, kernel: 3, name: "\\u202eevil"}
reference:
  params:
    - {value: 1, source: "\\e[2Jpaper\\n::error::forged"}
    - {value: 2, source: "p", known_difference: "\\x9b31m note"}
"""
FORGED = ("x.yaml:1:1: error[E999]", "::error::forged")


def raw_controls(text: str, keep: str = "\n") -> list[str]:
    """The control characters in ``text`` (other than ``keep``) that would reach a terminal."""
    return sorted({c for c in text if c not in keep and escape_controls(c) != c})


def no_forged_lines(text: str) -> None:
    for line in text.splitlines():
        assert not line.startswith(FORGED), line


@pytest.mark.parametrize(("text", "expected"), [
    ("conv1", "conv1"),
    ("c1\x1b[2J", "c1\\x1b[2J"),
    ("\x1b]0;t\x07", "\\x1b]0;t\\x07"),
    ("a\rb\nc\td", "a\\rb\\nc\\td"),
    ("\x9b31m", "\\x9b31m"),                # C1 CSI
    ("\u202eevil", "\\u202eevil"),           # right-to-left override
    ("x\u2028y", "x\\u2028y"),               # line separator
    ("caf\u00e9 \u2713 3x224x224", "caf\u00e9 \u2713 3x224x224"),  # printable text is kept
])
def test_escape_controls(text: str, expected: str) -> None:
    assert escape_controls(text) == expected


def test_escape_controls_keeps_what_it_is_told_to() -> None:
    assert escape_controls("a\nb\x1b", keep="\n") == "a\nb\\x1b"


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_summary_in_every_format(tmp_path: Path, cli: Callable, fmt: str) -> None:
    result = cli("summary", write(tmp_path, HOSTILE), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert raw_controls(result.stdout) == [] and raw_controls(result.stderr) == []
    no_forged_lines(result.stdout)
    if fmt == "json":
        names = [layer["name"] for layer in json.loads(result.stdout)["layers"]]
        assert names[0] == "c1\x1b[2J"  # JSON keeps the exact value, escaped by JSON itself
    elif fmt == "markdown":
        rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
        assert len(rows) == 1 + 3 + 1  # header, three layers, total: nothing split a row
        assert "c1\\x1b[2J" in result.stdout
    else:
        assert "c1\\x1b[2J" in result.stdout and "r\\nx.yaml:1:1" in result.stdout


@pytest.mark.parametrize("args", [("summary", "--style", "lecture"), ("params",),
                                  ("explain", "--layer", "c1\x1b[2J"), ("memory",),
                                  ("receptive-field",)])
def test_other_views(tmp_path: Path, cli: Callable, args: tuple[str, ...]) -> None:
    path = write(tmp_path, HOSTILE)
    result = cli(args[0], path, *args[1:])
    assert result.exit_code == 0, result.stderr
    assert raw_controls(result.stdout) == [] and raw_controls(result.stderr) == []
    no_forged_lines(result.stdout)


def test_diagnostics_and_every_check_report(tmp_path: Path, cli: Callable) -> None:
    path = write(tmp_path, HOSTILE)
    text = cli("check", path)
    assert text.exit_code == 1
    assert raw_controls(text.stderr) == []
    no_forged_lines(text.stderr)
    assert "published 1 by \\x1b[2Jpaper\\n::error::forged" in text.stderr
    github = cli("check", path, "--format", "github")
    assert raw_controls(github.stdout) == []
    assert [line[:8] for line in github.stdout.splitlines()] == ["::error ", "::notice"]
    junit = cli("check", path, "--format", "junit")
    assert raw_controls(junit.stdout) == []
    failure = ET.fromstring(junit.stdout).find("testsuite/testcase/failure")
    assert failure is not None and "\\x1b[2Jpaper" in (failure.get("message") or "")
    doc = json.loads(cli("check", path, "--format", "json").stdout)
    assert doc["files"][0]["specs"][0]["figures"][0]["source"] == "\x1b[2Jpaper\n::error::forged"


def test_a_usage_error_naming_hostile_input_is_escaped(cli: Callable) -> None:
    result = cli("summary", "no\x1b]0;pwned\x07such")
    assert result.exit_code == 2
    assert raw_controls(result.stderr) == []
    assert "no\\x1b]0;pwned\\x07such" in result.stderr

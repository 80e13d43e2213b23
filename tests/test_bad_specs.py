"""The corpus of broken specs (tests/bad_specs/): each gets a clean, located diagnostic and its
documented exit code -- never a traceback, a hang or unbounded memory.

tests/bad_specs/expected.json maps each file to ``[exit code, "CODE@line:column", ...]``: the
exit code of ``cnnstat check FILE`` and every diagnostic it must print, in order.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.limits import time_limit

CORPUS = Path(__file__).parent / "bad_specs"
EXPECTED: dict[str, list[object]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))
DIAG = re.compile(r"^(\S+):(\d+):(\d+): (error|warning|note)\[([A-Z]\d{3})\]: ", re.M)
LOADER_ERROR = re.compile(r"E[1-4]\d\d")  # what every command reports, not only check


def found(stderr: str, path: str) -> list[str]:
    return [f"{m[5]}@{m[2]}:{m[3]}" for m in DIAG.finditer(stderr) if m[1] == path]


def test_every_corpus_file_has_an_expectation() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.json"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_spec_is_reported_cleanly(name: str, cli: Callable) -> None:
    exit_code, *diagnostics = EXPECTED[name]
    path = str(CORPUS / name)
    with time_limit(20):
        result = cli("check", path, "--notes")
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.exit_code == exit_code, result.stderr
    assert found(result.stderr, path) == diagnostics, result.stderr
    if exit_code == 2:
        assert result.stderr.startswith("cnnstat: error: ")
    else:
        assert result.stderr.rstrip().splitlines()[-1].startswith("checked 1 file")
    assert result.stdout == ""


@pytest.mark.parametrize("name", sorted(
    n for n, e in EXPECTED.items() if len(e) > 1 and not n.startswith("variant-")
    and LOADER_ERROR.fullmatch(str(e[1]).split("@")[0])))  # summary builds the defaults only
def test_summary_rejects_it_with_the_same_diagnostic(name: str, cli: Callable) -> None:
    path = str(CORPUS / name)
    with time_limit(20):
        result = cli("summary", path, "--format", "json")
    assert result.exit_code == 1 and result.stdout == ""
    assert found(result.stderr, path)[0] == EXPECTED[name][1]


def test_a_directory_where_a_spec_file_is_expected(cli: Callable) -> None:
    result = cli("summary", str(CORPUS / "directory.yaml"))
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_the_whole_corpus_in_one_run_within_bounded_memory() -> None:
    """Every problem of every file in one run, in a process limited to 1.5 GiB of address space
    (an unbounded allocation dies with MemoryError, which would show as an internal error)."""
    limit = ("import resource, runpy, sys\n"
             "resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))\n"
             "sys.argv = ['cnnstat', 'check', '--notes', sys.argv[1]]\n"
             "runpy.run_module('cnnstat', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", limit, str(CORPUS)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    for name, (_, *diagnostics) in EXPECTED.items():
        assert found(proc.stderr, str(CORPUS / name)) == diagnostics, name
    files = sum(1 for p in CORPUS.rglob("*.yaml") if p.is_file())
    assert f"checked {files} files" in proc.stderr.splitlines()[-1]


@pytest.mark.parametrize(("text", "code", "where"), [
    ("name: big\ninput: [3, 8, 8]\nlayers: [relu]\n# " + "x" * (1024 * 1024) + "\n", "E105",
     "E105@1:1"),
    # node 1001 is the 991st 'relu' (after 10 nodes: the mapping, 3 keys, 'wide', 2 lists, 3 ints)
    ("name: wide\ninput: [3, 8, 8]\nlayers: [" + ", ".join(["relu"] * 2000) + "]\n", "E105",
     f"E105@3:{len('layers: [') + 1 + len('relu, ') * 990}"),
    ("name: deep\ninput: [3, 8, 8]\nlayers:\n" + "".join(
        "  " * i + "- residual:\n" + "  " * i + "    body:\n" for i in range(0, 80, 2)), "E105",
     None),
])
def test_oversized_documents(text: str, code: str, where: str | None, tmp_path: Path,
                             cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cnnstat.spec.source.MAX_COMPOSED", 1000)  # the limit, not its size
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    with time_limit(30):
        result = cli("check", str(path))
    assert result.exit_code == 1 and "internal error" not in result.stderr
    first = found(result.stderr, str(path))[0]
    assert first.startswith(code) and (where is None or first == where)

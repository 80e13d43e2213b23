"""One bad file never destroys a ``check`` report: each file's failure is that file's own error,
and the JSON, JUnit and GitHub reports are always complete and parse.  Baselines are written
atomically and read defensively (deep nesting, NaN, wrong types are usage errors, exit 2)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.check import files as checking
from tests.conftest import write

GOOD = "name: good\ninput: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n"
PARAMS = (3 * 3 * 3 + 1) * 8  # the good spec's conv: (k*k*C_in + 1) * C_out
HUGE_FIGURE = ("name: huge\ninput: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n"
               "reference:\n  params: {value: 1" + "0" * 400 + ", source: a typo}\n")


@pytest.fixture
def two_files(tmp_path: Path) -> Path:
    write(tmp_path, GOOD, "a-good.yaml")
    write(tmp_path, HUGE_FIGURE, "b-huge.yaml")
    write(tmp_path, GOOD.replace("good", "other"), "c-good.yaml")
    return tmp_path


def test_a_huge_reference_is_a_located_finding_in_json(two_files: Path, cli: Callable) -> None:
    result = cli("check", str(two_files), "--format", "json")
    assert result.exit_code == 1 and "internal error" not in result.stderr
    doc = json.loads(result.stdout)
    assert [f["status"] for f in doc["files"]] == ["ok", "failed", "ok"]
    (diag,) = doc["files"][1]["diagnostics"]
    assert (diag["code"], diag["line"], diag["column"]) == ("E601", 6, 11)
    assert "published about 10**400" in diag["message"]
    assert doc["files"][0]["specs"][0]["totals"]["params"] == PARAMS
    assert doc["summary"]["files"] == 3 and doc["summary"]["failed"] == 1


def test_a_huge_reference_in_junit_and_github(two_files: Path, cli: Callable) -> None:
    junit = cli("check", str(two_files), "--format", "junit")
    assert junit.exit_code == 1
    suite = ET.fromstring(junit.stdout).find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    github = cli("check", str(two_files), "--format", "github")
    (line,) = github.stdout.splitlines()
    assert line.startswith(f"::error file={two_files / 'b-huge.yaml'},line=6,col=11,title=E601::")


def test_one_file_that_breaks_the_checker_is_that_files_error(
        two_files: Path, cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug that only one file reaches (simulated) costs that file, not the report."""
    real = checking.check_bytes

    def flaky(raw: bytes, name: str, only: str | None = None) -> checking.FileResult:
        if name.endswith("b-huge.yaml"):
            raise ZeroDivisionError("simulated")
        return real(raw, name, only)

    monkeypatch.setattr(checking, "check_bytes", flaky)
    result = cli("check", str(two_files), "--format", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert [f["status"] for f in doc["files"]] == ["ok", "error", "ok"]
    assert "ZeroDivisionError: simulated" in doc["files"][1]["error"]
    assert doc["summary"]["could_not_run"] == 1


def test_a_dangling_symlink_under_a_directory_is_reported(tmp_path: Path, cli: Callable) -> None:
    write(tmp_path, GOOD, "good.yaml")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    result = cli("check", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path / 'gone.yaml'}: a symbolic link to " in result.stderr
    assert "checked 2 files (1 spec)" in result.stderr


# -- baselines -----------------------------------------------------------------------------

@pytest.fixture
def baseline(tmp_path: Path, cli: Callable) -> Path:
    spec = write(tmp_path, GOOD, "good.yaml")
    path = tmp_path / "baseline.json"
    assert cli("check", spec, "--write-baseline", str(path)).exit_code == 0
    return path


def _layer0(doc: object, **fields: object) -> object:
    assert isinstance(doc, dict)
    doc["specs"]["good"]["layers"][0].update(fields)
    return doc


@pytest.mark.parametrize(("edit", "message"), [
    (lambda doc: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (lambda doc: json.dumps(doc).replace('"params": 224', '"params": NaN', 1),
     "NaN is not a number JSON allows"),
    (lambda doc: json.dumps(doc).replace('"params": 224', '"params": Infinity', 1),
     "Infinity is not a number JSON allows"),
    (lambda doc: json.dumps(_layer0(doc, params=2.5)), "'params' is not a whole number"),
    (lambda doc: json.dumps(_layer0(doc, macs=10**40)), "'macs' is not a whole number"),
    (lambda doc: json.dumps(doc).replace('"params": 224', '"params": ' + "9" * 5000, 1),
     "not a JSON document"),
    (lambda doc: json.dumps(doc).replace('"name": "conv1"', '"name": 7', 1),
     "'name' is not a string"),
    (lambda doc: json.dumps(doc).replace('"output_shape": [8, 30, 30]',
                                         '"output_shape": [8, -30, "x"]', 1),
     "'output_shape' is not a list of sizes"),
])
def test_a_broken_baseline_is_a_usage_error(baseline: Path, cli: Callable,
                                            edit: Callable[[object], str], message: str) -> None:
    doc = json.loads(baseline.read_text("utf-8"))
    baseline.write_text(edit(doc), encoding="utf-8")
    spec = str(baseline.parent / "good.yaml")
    for args in (("check", spec, "--baseline", str(baseline)), ("diff", str(baseline), spec)):
        result = cli(*args)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith(f"cnnstat: error: {baseline}: ")
        assert message in result.stderr and "internal error" not in result.stderr


def test_write_baseline_replaces_the_file_atomically(baseline: Path, cli: Callable,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that dies before the rename (a kill, a full disk) leaves the old baseline whole
    and no temporary file behind."""
    before = baseline.read_bytes()

    def killed(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", killed)
    spec = write(baseline.parent, GOOD.replace("out: 8", "out: 16"), "good.yaml")
    result = cli("check", spec, "--write-baseline", str(baseline))
    assert result.exit_code == 2
    assert "--write-baseline" in result.stderr and "No space left on device" in result.stderr
    assert baseline.read_bytes() == before
    assert sorted(p.name for p in baseline.parent.iterdir()) == ["baseline.json", "good.yaml"]


def test_write_baseline_keeps_the_mode_of_the_file_it_replaces(baseline: Path,
                                                                cli: Callable) -> None:
    baseline.chmod(0o640)
    spec = str(baseline.parent / "good.yaml")
    assert cli("check", spec, "--write-baseline", str(baseline)).exit_code == 0
    assert baseline.stat().st_mode & 0o777 == 0o640
    assert json.loads(baseline.read_text("utf-8"))["specs"]["good"]["totals"]["params"] == PARAMS

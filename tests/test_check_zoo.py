"""CI runs `cnnstat check specs/ --strict` on the zoo: every built-in spec, its defaults and every
variant, against its published figures, with warnings as failures."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from cnnstat import zoo

# Warnings the zoo has today, each a true property of the network as published (torchvision's
# SqueezeNet conv1 is 7x7/2 (1.0) or 3x3/2 (1.1) with no padding on 224 pixels, so its floor
# drops the last row and column).  They make the strict check fail until the lead decides how a
# spec acknowledges a warning it cannot avoid; see test_zoo_passes_the_strict_check.
KNOWN_WARNINGS = {("squeezenet1-0.yaml", "W501"), ("squeezenet1-1.yaml", "W501")}


@pytest.fixture(scope="module")
def zoo_check() -> dict[str, object]:
    from click.testing import CliRunner

    from cnnstat.cli import main

    result = CliRunner().invoke(main, ["check", str(zoo.specs_dir()), "--format", "json"],
                                catch_exceptions=False)
    return {"exit": result.exit_code, "doc": json.loads(result.stdout), "stderr": result.stderr}


def test_zoo_passes_the_check(zoo_check: dict[str, object]) -> None:
    doc = zoo_check["doc"]
    assert zoo_check["exit"] == 0, zoo_check["stderr"]
    assert doc["summary"]["errors"] == 0 and doc["summary"]["failed"] == 0  # type: ignore[index]


def test_zoo_checks_every_builtin_name(zoo_check: dict[str, object]) -> None:
    checked = {spec["name"] for f in zoo_check["doc"]["files"] for spec in f["specs"]}  # type: ignore[index]
    assert set(zoo.names()) <= checked


def test_zoo_warnings_are_the_known_ones(zoo_check: dict[str, object]) -> None:
    warnings = {(f["path"].rsplit("/", 1)[-1], d["code"])
                for f in zoo_check["doc"]["files"]  # type: ignore[index]
                for d in f["diagnostics"] if d["severity"] == "warning"}
    assert warnings == KNOWN_WARNINGS


@pytest.mark.xfail(strict=True, reason="squeezenet1-0 and squeezenet1-1 warn W501 (conv1 drops "
                   "a row and a column at 224, as torchvision's network does); reported to the "
                   "lead rather than bending the specs")
def test_zoo_passes_the_strict_check(cli: Callable) -> None:
    result = cli("check", str(zoo.specs_dir()), "--strict")
    assert result.exit_code == 0, result.stderr


def test_strict_zoo_check_fails_only_for_the_known_warnings(cli: Callable) -> None:
    result = cli("check", str(zoo.specs_dir()), "--strict")
    failing = {(m[1].rsplit("/", 1)[-1], m[2]) for m in
               re.finditer(r"^(\S+):\d+:\d+: (?:error|warning)\[(\w+)\]", result.stderr, re.M)}
    assert failing == KNOWN_WARNINGS
    assert result.exit_code == (1 if KNOWN_WARNINGS else 0)
    assert re.search(r"^checked \d+ files \(\d+ specs\): 2 failed, 0 errors, 2 warnings",
                     result.stderr, re.M)

"""CI runs `cnnstat check specs/ --strict` on the zoo: every built-in spec, its defaults and every
variant, against its published figures, with warnings as failures."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from cnnstat import zoo

# Warnings that are true of a network as published are accepted in its spec (``accept:``, with
# the reason) and reported as notes: torchvision's SqueezeNet conv1 is 7x7/2 (1.0) or 3x3/2 (1.1)
# with no padding on 224 pixels, so its floor drops the last row and column.
ACCEPTED = {("squeezenet1-0.yaml", "W501"), ("squeezenet1-1.yaml", "W501")}


@pytest.fixture(scope="module")
def zoo_check(cli: Callable) -> dict[str, object]:
    result = cli("check", str(zoo.specs_dir()), "--format", "json")
    return {"exit": result.exit_code, "doc": json.loads(result.stdout), "stderr": result.stderr}


def test_zoo_passes_the_check(zoo_check: dict[str, object]) -> None:
    doc = zoo_check["doc"]
    assert zoo_check["exit"] == 0, zoo_check["stderr"]
    assert doc["summary"]["errors"] == 0 and doc["summary"]["failed"] == 0  # type: ignore[index]


def test_zoo_checks_every_builtin_name(zoo_check: dict[str, object]) -> None:
    checked = {spec["name"] for f in zoo_check["doc"]["files"] for spec in f["specs"]}  # type: ignore[index]
    assert set(zoo.names()) <= checked


def test_zoo_has_no_warnings_and_the_accepted_ones_are_notes(zoo_check: dict[str, object]) -> None:
    diags = [(f["path"].rsplit("/", 1)[-1], d) for f in zoo_check["doc"]["files"]  # type: ignore[index]
             for d in f["diagnostics"]]
    assert [d for _, d in diags if d["severity"] == "warning"] == []
    accepted = {(path, d["code"]) for path, d in diags
                if d["severity"] == "note" and "(accepted: " in d["message"]}
    assert accepted == ACCEPTED


def test_zoo_passes_the_strict_check(cli: Callable) -> None:
    result = cli("check", str(zoo.specs_dir()), "--strict")
    assert result.exit_code == 0, result.stderr
    # a clean tree is one line: its notes are counted, shown with --notes (issue 29)
    (line,) = result.stderr.splitlines()
    assert re.fullmatch(r"checked \d+ files \(\d+ specs\): 0 failed, 0 errors, 0 warnings, "
                        r"\d+ notes \(--notes shows them\)", line)

"""docs/complexity.svg (shown by the README and docs/pictures.md) is what
tools/make_docs_images.sh makes: byte for byte with the pinned matplotlib (tests/constraints.txt),
else the same labelled networks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_plot import svg_text

matplotlib = pytest.importorskip("matplotlib")

ROOT = Path(__file__).parent.parent
COMMAND = "cnnstat plot complexity -o docs/complexity.svg"


def _pinned() -> str:
    text = (ROOT / "tests" / "constraints.txt").read_text()
    found = re.search(r"^matplotlib==(\S+)$", text, re.MULTILINE)
    assert found, "matplotlib is pinned in tests/constraints.txt"
    return found.group(1)


def test_the_script_makes_it_and_the_readme_shows_it() -> None:
    assert COMMAND in (ROOT / "tools" / "make_docs_images.sh").read_text()
    assert "](docs/complexity.svg)" in (ROOT / "README.md").read_text()
    assert "](complexity.svg)" in (ROOT / "docs" / "pictures.md").read_text()


def test_committed_chart_is_current(cli: Callable, tmp_path: Path) -> None:
    committed = (ROOT / "docs" / "complexity.svg").read_bytes()
    out = tmp_path / "complexity.svg"
    assert cli("plot", "complexity", "-o", str(out)).exit_code == 0
    made = out.read_bytes()
    if matplotlib.__version__ == _pinned():
        assert made == committed, "docs/complexity.svg is stale: run tools/make_docs_images.sh"
    else:
        assert svg_text(made) == svg_text(committed)

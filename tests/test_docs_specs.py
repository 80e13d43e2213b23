"""The spec examples of the manual's "Writing a spec" (docs/spec-language.md) are files
(docs/examples/*.yaml): each is quoted on the page word for word, and each is analysed here, its
figures written as arithmetic, so no example in the docs can go stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.core.report import Report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.yaml"))
PAGE = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")


def analysed(name: str, **kw: object) -> Report:
    return analysis.analyze(str(ROOT / "docs" / "examples" / f"{name}.yaml"), **kw)  # type: ignore[arg-type]


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_is_quoted_on_the_page(path: Path) -> None:
    assert f"```yaml\n{path.read_text(encoding='utf-8')}```" in PAGE


def test_every_complete_spec_on_the_page_analyses(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(name: .*?)```", PAGE, re.S)
    assert len(blocks) >= len(EXAMPLES) + 2
    for i, text in enumerate(blocks):
        path = tmp_path / f"{i}.yaml"
        path.write_text(text, encoding="utf-8")
        assert analysis.analyze(str(path)).rows


def test_tensors_into_blocks() -> None:
    report = analysed("tensors-into-blocks")
    rows = {r.name: r for r in report.rows}
    assert rows["fuse1.body"].input_shape == (16, 32, 32)  # stem, not down
    assert rows["fuse1.add1"].reads == ("fuse1.body", "fuse1.$in")
    assert rows["fuse2.add1"].reads == ("fuse2.body", "down")
    assert rows["residual1.add"].output_shape == (16, 32, 32)
    assert rows["grow1.concat1"].output_shape == (16 + 8, 32, 32)
    assert report.totals.params == (3 * 16 * 9 + 16) + 3 * (16 * 16 * 9 + 16) \
        + (16 * 16 + 16) + (16 * 8 * 9 + 8)


@pytest.mark.parametrize("c", [3, 5])
def test_input_channels(c: int) -> None:
    report = analysed("input-channels", input=(c, 64, 64))
    assert report.totals.params == c * 32 * 9 \
        + (32 * 9 + 2 * 32 + 32 * 64 + 2 * 64) + (64 * 9 + 2 * 64 + 64 * 128 + 2 * 128)
    assert report.rows[-1].output_shape == (128, 1, 1)  # the window is the 16 x 16 map


@pytest.mark.parametrize("n", [1, 3])
def test_loops(n: int) -> None:
    report = analysed("loops", set={"n": n})
    rows = {r.name: r for r in report.rows}
    assert report.totals.params == (3 * 8 * 9 + 8) + n * (8 * 8 * 9 + 8)
    assert rows["b2.conv1" if n == 3 else "b0.conv1"].input_shape == (8, 32, 32)
    assert rows["sum"].reads == tuple(f"b{j}" for j in range(n))  # n = 1: a sum of one
    assert rows["sum"].ops == ({"add": (n - 1) * 8 * 32 * 32} if n > 1 else {})
    assert rows[f"out{n}"].output_shape == (16, 32, 32)


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_recursive_tree(levels: int) -> None:
    report = analysed("recursive-tree", set={"levels": levels})
    leaves, roots = 2 ** (levels - 1), 2 ** (levels - 1) - 1
    assert report.totals.params == leaves * (16 * 16 * 9 + 16) + roots * (32 * 16 + 16)
    assert ("tree1.left.left.conv1" in {r.name for r in report.rows}) == (levels == 3)

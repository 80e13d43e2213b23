"""cnnstat report: one self-contained HTML file (no script, nothing fetched), with every part
per spec; several specs add the comparison and the complexity chart; could-not-run is exit 2.
(tests/test_report_browser.py opens it in a real browser.)"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

import cnnstat

pytest.importorskip("matplotlib")


class Collect(HTMLParser):
    """Tags, the attributes that fetch or link (src, href), ids and headings of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.ids: list[str] = []
        self.headings: list[str] = []
        self._heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for key, value in attrs:
            if key in ("src", "href", "xlink:href", "srcset", "data", "action"):
                self.links.append(value or "")
            if key == "id":
                self.ids.append(value or "")
        self._heading = tag in ("h2", "h3")

    def handle_endtag(self, tag: str) -> None:
        self._heading = False

    def handle_data(self, data: str) -> None:
        if self._heading:
            self.headings.append(data)


def report(cli: Callable, tmp_path: Path, *args: str) -> tuple[str, Collect]:
    out = tmp_path / "report.html"
    result = cli("report", *args, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    page = out.read_text(encoding="utf-8")
    parsed = Collect()
    parsed.feed(page)
    return page, parsed


def test_one_spec_has_every_part_and_fetches_nothing(cli: Callable, tmp_path: Path) -> None:
    page, parsed = report(cli, tmp_path, "lenet5", "--no-verify")
    assert page.startswith("<!DOCTYPE html>")
    assert not {"script", "link", "iframe", "object", "embed", "img"} & set(parsed.tags)
    assert all(link.startswith("#") for link in parsed.links), parsed.links
    assert "@import" not in page and "url(http" not in page
    assert len(parsed.ids) == len(set(parsed.ids))  # the figures' ids made unique
    for heading in ("Summary", "Diagram", "Per layer", "Memory", "Receptive field",
                    "cnnstat check", "cnnstat verify"):
        assert heading in parsed.headings
    assert "Comparison" not in parsed.headings
    assert parsed.tags.count("svg") >= 3
    assert "not run: add --verify" in page
    assert "@media print" in page


def test_several_specs_add_the_comparison_and_the_chart(cli: Callable, tmp_path: Path) -> None:
    page, parsed = report(cli, tmp_path, "resnet18", "mobilenet-v2", "lenet5", "--no-verify")
    assert parsed.headings[:2] == ["Comparison", "Complexity"]
    assert "compare resnet18 vs mobilenet-v2 vs lenet5" in page
    assert "not in the chart (no published top-1 in reference): lenet5" in page
    assert re.search(r'aria-label="complexity chart"', page)
    assert page.count('<section class="spec"') == 3
    # one convention for shapes (issue 29): C x H x W everywhere, never the lecture's H x W x C
    assert "3x224x224" in page and "224x224x3" not in page and "HxWxC" not in page


def test_check_findings_are_shown(cli: Callable, tmp_path: Path) -> None:
    page, _ = report(cli, tmp_path, "squeezenet1-0", "--no-verify")
    assert "squeezenet1-0: " in page and "W501" in page  # conv1 drops a row at 224 (accepted)


def test_a_built_in_spec_is_named_by_the_zoo_never_by_its_install_path(
        cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run from outside the checkout, as a user of an installed package does: the findings once
    # read '../main/.venv/lib/python3.11/site-packages/cnnstat/specs/resnet50.yaml:82:7'.
    from cnnstat import zoo

    monkeypatch.chdir(tmp_path)
    page, _ = report(cli, tmp_path, "resnet50-v1", "--no-verify")
    assert re.search(r"(?m)(^|<pre>)resnet50\.yaml:\d+:\d+: note\[N602\]", page), page
    assert "resnet50-v1: " in page
    installed = zoo.specs_dir()
    assert str(installed) not in page and "specs/resnet50.yaml" not in page
    assert "site-packages" not in page and "../" not in page


def test_a_report_is_the_same_twice(cli: Callable, tmp_path: Path) -> None:
    first, _ = report(cli, tmp_path, "lenet5", "--no-verify")
    second, _ = report(cli, tmp_path, "lenet5", "--no-verify")
    assert first == second


@pytest.mark.torch
def test_verify_is_in_the_report_when_torch_is_installed(cli: Callable, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    page, _ = report(cli, tmp_path, "lenet5", "--verify")
    assert "cnnstat verify: analytic vs live PyTorch" in page
    assert "1 of 1 specs agree with live PyTorch on every figure" in page


@pytest.mark.parametrize(("args", "message"), [
    (["lenet5", "-o", "report.pdf"], "end the file name in .html"),
    (["no-such-net", "-o", "report.html"], "no built-in spec named 'no-such-net'"),
    (["lenet5", "-o", "no/such/dir/report.html"], "no such directory: no/such/dir"),
])
def test_could_not_run_is_exit_2(cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("report", "--no-verify", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_without_matplotlib_the_report_says_how_to_install_it(
        cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = cli("report", "lenet5", "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert "pip install 'cnnstat[plot]'" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_the_diagram_is_cnnstat_graphs(cli: Callable, tmp_path: Path) -> None:
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    page, _ = report(cli, tmp_path, "resnet-basic-block", "--no-verify")
    assert 'aria-label="resnet-basic-block: diagram"' in page
    for layer in cnnstat.analyze("resnet-basic-block").layers:  # a box per operation
        assert f"<title>{layer.name}</title>" in page


def test_without_graphviz_the_page_says_why_there_is_no_diagram(
        cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    page, _ = report(cli, tmp_path, "lenet5", "--no-verify")
    assert "diagram not drawn: drawing .svg needs the graphviz Python package" in page
    assert "pip install" in page


def test_text_from_a_spec_is_shown_never_obeyed(cli: Callable, tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    spec = tmp_path / "hostile.yaml"
    spec.write_text("name: hostile\ntitle: '<script>alert(2)</script>'\ninput: [1, 8, 8]\n"
                    f"layers:\n  - conv: {{out: 2, kernel: 3, name: '{hostile}'}}\n  - relu\n")
    page, parsed = report(cli, tmp_path, str(spec), "--no-verify")
    assert not {"script", "img"} & set(parsed.tags)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page

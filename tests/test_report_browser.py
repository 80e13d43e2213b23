"""cnnstat report opened as a person opens it: from disk in headless Chromium (Debian's
``chromium``; .ci/run installs it).  A screenshot is taken and decoded, the page logs no error and
requests nothing but itself, every figure is non-blank on screen, the tables hold the numbers of
``--format json``, and the page prints to PDF."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import browser

pytest.importorskip("matplotlib")
pytest.importorskip("websockets")
if browser.chromium() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium for the report tests (.ci/run installs it)")
    pytest.skip("chromium is not installed", allow_module_level=True)

SPECS = ("alexnet", "resnet18")
LAYOUT = """(() => {
  const box = e => { const r = e.getBoundingClientRect();
    return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; };
  return {
    svgs: [...document.querySelectorAll('svg')].map(s => ({...box(s),
      label: s.getAttribute('aria-label')})),
    imgs: [...document.querySelectorAll('img')].map(i => ({...box(i), natural: i.naturalWidth})),
    tables: [...document.querySelectorAll('table')].map(t => ({
      caption: t.caption ? t.caption.textContent : '',
      rows: [...t.rows].map(r => [...r.cells].map(c => c.textContent))})),
    scripts: document.scripts.length,
    height: document.documentElement.scrollHeight};
})()"""


def decode(png: bytes) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def colours(image: Any) -> int:
    return len(image.getcolors(maxcolors=1 << 24) or [])


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory, cli: Callable) -> Any:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = cli("report", *SPECS, "--no-verify", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    with browser.open_page(out) as page:
        layout = page.evaluate(LAYOUT)
        shots = [decode(page.screenshot({k: s[k] for k in ("x", "y", "width", "height")}))
                 for s in layout["svgs"] + layout["imgs"]]
        yield {"page": page, "layout": layout, "shots": shots, "path": out,
               "screenshot": decode(page.screenshot()), "pdf": page.pdf()}


def test_the_screenshot_is_the_whole_page_and_not_blank(opened: Any) -> None:
    shot = opened["screenshot"]
    assert shot.size[0] == 1280
    assert shot.size[1] == opened["layout"]["height"] > 2000
    assert colours(shot) > 100


def test_no_console_error_no_script_no_request_but_the_file(opened: Any) -> None:
    page = opened["page"]
    assert page.errors() == []
    assert opened["layout"]["scripts"] == 0
    assert page.requests() == [opened["path"].resolve().as_uri()]


def test_every_figure_is_drawn_and_not_blank(opened: Any) -> None:
    figures = opened["layout"]["svgs"] + opened["layout"]["imgs"]
    # comparison: complexity; per spec: per-layer bars, memory, receptive field (the diagram
    # when cnnstat graph is present)
    assert len([s for s in figures if s.get("label")]) >= 1 + 3 * len(SPECS)
    for fig, shot in zip(figures, opened["shots"]):
        assert fig["width"] > 100 and fig["height"] > 100, fig
        assert colours(shot) > 8, fig


def _int(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.mark.parametrize("spec", SPECS)
def test_summary_tables_hold_the_json_numbers(opened: Any, cli: Callable, spec: str) -> None:
    doc = json.loads(cli("summary", spec, "--format", "json").stdout)
    table = next(t for t in opened["layout"]["tables"]
                 if t["caption"].startswith(f"{spec}: ") and t["rows"][0][:2] == ["name", "layer"])
    header, *rows = table["rows"]
    col = {h: i for i, h in enumerate(header)}
    *layers, total = rows
    assert [r[col["name"]] for r in layers] == [la["name"] for la in doc["layers"]]
    for row, layer in zip(layers, doc["layers"]):
        assert [_int(row[col[h]]) for h in ("params", "MACs", "activations")] == \
            [layer["params"], layer["macs"], layer["activations"]]
    t = doc["totals"]
    assert [_int(total[col[h]]) for h in ("params", "MACs", "activations")] == \
        [t["params"], t["macs"], t["activations"]]


def test_comparison_table_holds_the_json_totals(opened: Any, cli: Callable) -> None:
    doc = json.loads(cli("compare", *SPECS, "--format", "json").stdout)
    table = next(t for t in opened["layout"]["tables"] if t["caption"].startswith("compare "))
    header, *rows = table["rows"]
    col = {h: i for i, h in enumerate(header)}
    for row, spec in zip(rows, SPECS):
        summary = json.loads(cli("summary", spec, "--format", "json").stdout)["totals"]
        assert row[col["spec"]] == spec
        assert _int(row[col["params"]]) == summary["params"]
        assert _int(row[col["MACs"]]) == summary["macs"]
    assert doc["command"] == "compare"


def test_it_prints(opened: Any) -> None:
    pdf = opened["pdf"]
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") \
        >= 1 + len(SPECS)  # the comparison, then each spec from a new page

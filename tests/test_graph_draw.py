"""cnnstat graph as a person sees it: SVG parsed for the expected nodes, PNG decoded, PDF and
SVG byte for byte reproducible, and the command line's files, messages and exit codes.

The drawing tests need Graphviz's ``dot`` and the ``graphviz`` package; they skip where ``dot``
is missing only outside CI (``.ci/run`` installs Graphviz, so there they run)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnnstat.analysis.pipeline import run
from cnnstat.views import graph
from tests.conftest import write
from tests.png_check import SIGNATURE, decode, distinct_pixels
from tests.test_graph import CHAIN, RESIDUAL

_CAN_DRAW = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None
needs_dot = pytest.mark.skipif(not _CAN_DRAW and not os.environ.get("CI"),
                               reason="Graphviz (dot and the graphviz package) is not installed; "
                               "CI installs it (.ci/run)")
SVG = "{http://www.w3.org/2000/svg}"


def node_titles(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return [g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g")
            if g.get("class") == "node"]


@needs_dot
def test_svg_holds_every_box_and_edge(tmp_path: Path) -> None:
    svg = graph.diagram(run(write(tmp_path, RESIDUAL)), "svg")
    titles = node_titles(svg)
    assert sorted(titles) == ["conv1", "input", "legend", "residual1.add", "residual1.bn1",
                              "residual1.conv1", "residual1.relu1"]
    root = ET.fromstring(svg)
    edge_titles = [g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g")
                   if g.get("class") == "edge"]
    assert "conv1->residual1.add" in edge_titles and len(edge_titles) == 6
    clusters = [g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g")
                if g.get("class") == "cluster"]
    assert clusters == ["cluster_c0"]
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "fill: share of the network's MACs" in text and "MACs 9,216" in text  # 8*8 x 4 x (4*3*3)


@needs_dot
def test_svg_of_resnet152_collapsed_by_default() -> None:
    titles = node_titles(graph.diagram(run("resnet152"), "svg"))
    assert len(titles) == 1 + 57 + 1  # input, 57 boxes at depth 2, the legend
    assert "layer3.bottleneck36" in titles and "layer3.bottleneck36.conv1" not in titles


@needs_dot
def test_png_decodes_to_a_drawing(tmp_path: Path) -> None:
    data = graph.diagram(run(write(tmp_path, CHAIN)), "png")
    assert data.startswith(SIGNATURE)
    png = decode(data)
    assert 100 < png.width < 2000 and 300 < png.height < 5000
    assert distinct_pixels(png) >= 8  # white, black text, the fills, antialiasing


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "pdf", "png"])
def test_same_spec_same_bytes(tmp_path: Path, fmt: str) -> None:
    spec = write(tmp_path, CHAIN)
    first = graph.diagram(run(spec), fmt)
    assert first == graph.diagram(run(spec), fmt)
    if fmt == "pdf":
        assert first.startswith(b"%PDF-")


@needs_dot
def test_cli_writes_the_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "net.SVG"
    out.write_text("old")
    result = cli("graph", write(tmp_path, CHAIN), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"wrote {out} ({out.stat().st_size:,} bytes)\n"  # as plot, report
    assert node_titles(out.read_bytes())[:2] == ["input", "conv1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.SVG", "spec.yaml"]  # no temp left


def test_cli_text_formats_need_no_graphviz(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "graphviz", None)
    spec = write(tmp_path, CHAIN)
    for name in ("net.dot", "net.gv", "net.mmd"):
        assert cli("graph", spec, "-o", str(tmp_path / name)).exit_code == 0
    assert (tmp_path / "net.dot").read_text().startswith("digraph cnnstat {")
    assert "flowchart TB" in (tmp_path / "net.mmd").read_text()
    result = cli("graph", spec, "-o", "-", "--format", "mmd")
    assert result.exit_code == 0 and result.stdout == (tmp_path / "net.mmd").read_text()


def test_missing_dot_names_the_install_step(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without dot
    out = tmp_path / "net.png"
    result = cli("graph", write(tmp_path, CHAIN), "-o", str(out))
    assert result.exit_code == 2 and result.stdout == ""
    assert "cnnstat: error: drawing .png needs Graphviz's dot program" in result.stderr
    assert "apt-get install graphviz" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_package_names_the_extra(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    result = cli("graph", write(tmp_path, CHAIN), "-o", str(tmp_path / "net.svg"))
    assert result.exit_code == 2
    assert "pip install 'cnnstat[graph]'" in result.stderr


@pytest.mark.parametrize(("target", "message"), [
    ("net.jpg", "cannot tell the format from the suffix '.jpg'"),
    ("net", "cannot tell the format from a name with no suffix"),
    ("-", "standard output has no suffix"),
    ("missing/net.dot", "no such directory"),
])
def test_cli_usage_errors(cli, tmp_path: Path, target: str,  # type: ignore[no-untyped-def]
                          message: str) -> None:
    path = target if target == "-" else str(tmp_path / target)
    result = cli("graph", write(tmp_path, CHAIN), "-o", path)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_depth_and_default_collapse_note(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("graph", "resnet152", "-o", "-", "--format", "dot")
    assert result.exit_code == 0
    assert "note: 515 operations: blocks collapsed below depth 2" in result.stderr
    assert result.stdout.startswith("digraph cnnstat {")
    one = cli("graph", "resnet152", "-o", "-", "--format", "dot", "--depth", "1")
    assert one.exit_code == 0 and "note:" not in one.stderr
    assert '"layer3" [label="layer3\\nblock of ' in one.stdout
    assert cli("graph", "resnet152", "-o", "-", "--format", "dot", "--depth", "0").exit_code == 2


def test_cli_data_options(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("graph", write(tmp_path, CHAIN), "-o", "-", "--format", "dot",
                 "--input", "3x16x16", "--batch", "2", "--rf")
    assert result.exit_code == 0, result.stderr
    # conv at 16x16: 16*16*4*27 = 27,648 MACs per image, 55,296 for two
    assert "MACs 55,296" in result.stdout and "\\nRF 3" in result.stdout
    assert "input 3x16x16, batch 2" in result.stdout


def test_too_many_boxes_to_lay_out_is_refused(cli,  # type: ignore[no-untyped-def]
                                              tmp_path: Path) -> None:
    flat = "name: flat\ntitle: flat\ninput: [4]\nlayers:\n  - repeat: 5000\n    layers: [relu]\n"
    spec = write(tmp_path, flat)
    result = cli("graph", spec, "-o", str(tmp_path / "flat.svg"))
    assert result.exit_code == 2  # 5,000 relus and the input: 5,001 boxes
    assert "5,001 boxes are too many to lay out as .svg (at most 5,000)" in result.stderr
    assert cli("graph", spec, "-o", str(tmp_path / "flat.dot")).exit_code == 0

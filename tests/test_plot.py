"""cnnstat plot: every kind renders, as a person sees it (the SVG's text, decoded PNG pixels),
byte for byte the same twice; the data drawn equals the analysis; failures are exit 2."""

from __future__ import annotations

import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

import cnnstat
from cnnstat.views import plots

pytest.importorskip("matplotlib")

DATA = Path(__file__).parent / "plot_data"
BENCH = str(DATA / "bench-lenet5.json")
SVG = "{http://www.w3.org/2000/svg}"


def svg_text(data: bytes) -> list[str]:
    """The text of an SVG from matplotlib: drawn as paths, each labelled by a comment."""
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg"
    return re.findall(r"<!-- (.*?) -->", data.decode("utf-8"))


def png_pixels(data: bytes) -> tuple[tuple[int, int], int]:
    """(size, number of distinct colours) of a decoded PNG."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return image.size, len(colours or [])


KINDS = [
    ("layers", ["layers", "alexnet"], ["alexnet: MACs, parameters and activations per operation",
                                       "input 3x227x227", "MACs = multiply-accumulates",
                                       "conv1", "MACs (multiply-accumulates)"]),
    ("memory", ["memory", "resnet18"], ["resnet18: live activation memory", "input 3x224x224",
                                        "float32", "peak 6.12 MiB (6,422,528 bytes) during bn1"]),
    ("roofline", ["roofline", BENCH], ["lenet5: per-layer roofline", "batch 1", "cpu",
                                       "arithmetic intensity (FLOP per byte moved; log scale)"]),
    ("bench", ["bench", BENCH], ["Latency and throughput against batch size: lenet5",
                                 "batch size (images; log 2 scale)", "throughput (images/s)"]),
    ("rf", ["rf", "vgg16"], ["vgg16: receptive field of", "input 3x224x224",
                             "input row (pixels)"]),
    ("complexity", ["complexity", "resnet50", "vgg16", "mobilenet-v2"],
     ["Top-1 accuracy against compute: 3 networks", "resnet50", "vgg16", "mobilenet-v2",
      "published top-1 accuracy on ImageNet (%)", "torchvision 0.29.1"]),
]


@pytest.mark.parametrize(("kind", "args", "texts"), KINDS, ids=[k[0] for k in KINDS])
def test_each_kind_draws_an_svg_with_its_title_and_axes(cli: Callable, tmp_path: Path,
                                                         kind: str, args: list[str],
                                                         texts: list[str]) -> None:
    out = tmp_path / f"{kind}.svg"
    result = cli("plot", *args, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    text = " ".join(svg_text(out.read_bytes())).replace("\n", " ")  # lines wrapped
    for expected in texts:
        assert expected in text, expected


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_figures_are_reproducible_byte_for_byte(cli: Callable, tmp_path: Path, fmt: str) -> None:
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    for path in (first, second):
        assert cli("plot", "layers", "lenet5", "-o", str(path)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_bytes()) > 1000


def test_png_is_decoded_non_blank_at_its_size(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "memory.png"
    assert cli("plot", "memory", "vgg16", "-o", str(out)).exit_code == 0
    (width, height), colours = png_pixels(out.read_bytes())
    # figure.new: max(8, min(24, 0.12 x operations + 4)) inches wide, 5 high, at 100 dpi
    operations = len(cnnstat.analyze("vgg16").layers)
    assert (width, height) == (int(100 * max(8.0, min(24.0, 0.12 * operations + 4))), 500)
    assert colours > 16


def test_pdf_has_no_date(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "rf.pdf"
    assert cli("plot", "rf", "alexnet", "-o", str(out)).exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"CreationDate" not in data


def test_complexity_points_are_the_analysis_and_the_published_accuracy() -> None:
    from cnnstat import analysis

    view = plots.complexity([analysis.run(n) for n in ("resnet50", "vgg16-bn", "lenet5")])
    assert view.left_out == ("lenet5",)
    by_name = {p.name: p for p in view.points}
    r50 = cnnstat.analyze("resnet50").totals
    assert (by_name["resnet50"].macs, by_name["resnet50"].params) == (r50.macs, r50.params)
    assert by_name["resnet50"].top1 == 76.13  # torchvision ResNet50_Weights.IMAGENET1K_V1
    assert by_name["vgg16-bn"].top1 == 73.36  # VGG16_BN_Weights.IMAGENET1K_V1
    assert view.sources == ("torchvision 0.29.1 <Weights>.IMAGENET1K_V1 acc@1",)


def test_complexity_over_the_zoo_draws_each_network_once(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "zoo.svg"
    assert cli("plot", "complexity", "-o", str(out)).exit_code == 0
    text = svg_text(out.read_bytes())
    # efficientnet and efficientnet-b0 are one network: drawn once, under the first name
    assert "efficientnet" in text and "efficientnet-b0" not in text
    for name in ("alexnet-torchvision", "resnet152", "densenet201", "vgg19-bn",
                 "shufflenet-v2-x2-0", "efficientnet-b7", "inception-v3"):
        assert name in text


def test_layer_bars_are_the_report_rows() -> None:
    report = cnnstat.analyze("alexnet")
    bars = plots.layer_bars(report)
    assert bars.macs[0] == 55 * 55 * 96 * 3 * 11 * 11  # conv1 at 227x227x3
    assert bars.params[0] == 96 * 3 * 11 * 11 + 96
    assert sum(bars.macs) == report.totals.macs


def test_memory_peak_is_the_schedule_peak() -> None:
    view = plots.live_memory(cnnstat.analyze("resnet18"), "float16")
    # during bn1: conv1's output (64x112x112) read and bn1's written, at 2 bytes
    assert view.live_bytes[view.peak] == 2 * 64 * 112 * 112 * 2
    assert view.names[view.peak] == "bn1"


@pytest.mark.parametrize(("args", "message"), [
    (["layers", "lenet5", "-o", "x.jpg"], "end it in .svg, .png or .pdf"),
    (["layers", "no-such-net", "-o", "x.svg"], "no built-in spec named 'no-such-net'"),
    (["roofline", "missing.json", "-o", "x.svg"], "missing.json: cannot read"),
    (["complexity", "lenet5", "-o", "x.svg"], "no spec with a published top-1"),
    (["rf", "lenet5", "--layer", "f6", "-o", "x.svg"], "has no spatial output"),
])
def test_could_not_draw_is_exit_2(cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("plot", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.svg").exists()


def test_a_json_that_is_not_from_bench_is_exit_2(cli: Callable, tmp_path: Path) -> None:
    doc = tmp_path / "summary.json"
    doc.write_text(cli("summary", "lenet5", "--format", "json").stdout)
    result = cli("plot", "bench", str(doc), "-o", str(tmp_path / "x.svg"))
    assert result.exit_code == 2
    assert "a 'cnnstat summary' document, not 'cnnstat bench'" in result.stderr


def test_roofline_without_per_layer_times_is_exit_2(cli: Callable, tmp_path: Path) -> None:
    doc = json.loads(Path(BENCH).read_text())
    for result in doc["results"]:
        for b in result["batches"]:
            b["per_layer"] = None
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc))
    result = cli("plot", "roofline", str(path), "-o", str(tmp_path / "x.svg"))
    assert result.exit_code == 2 and "--per-layer" in result.stderr


def test_without_matplotlib_every_kind_says_how_to_install_it(
        cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # any import of it fails
    for args in (["layers", "lenet5"], ["complexity"], ["roofline", BENCH]):
        result = cli("plot", *args, "-o", str(tmp_path / "x.svg"))
        assert result.exit_code == 2
        assert "matplotlib is not installed" in result.stderr
        assert "pip install 'cnnstat[plot]'" in result.stderr
    # everything that does not draw still works
    assert cli("summary", "lenet5", "--format", "json").exit_code == 0


def test_what_does_not_draw_never_imports_matplotlib() -> None:
    """The README's first command (a summary) and every help page run without matplotlib."""
    import subprocess

    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from cnnstat.cli.main import main\n"
            "for argv in (['summary', 'vgg16'], ['--help'], ['plot', '--help'],\n"
            "             ['report', '--help'], ['plot', 'rf', '--help']):\n"
            "    try:\n"
            "        main(argv, standalone_mode=False)\n"
            "    except SystemExit as exc:\n"
            "        assert not exc.code, (argv, exc.code)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "stage5.conv3" in proc.stdout and "complexity" in proc.stdout


def test_roofline_without_a_probe_draws_no_roofs_and_says_so(tmp_path: Path) -> None:
    from cnnstat.views import bench_plots

    doc = json.loads(Path(BENCH).read_text())
    doc["probe"] = None
    view = bench_plots.roofline(doc, BENCH, None, None)
    assert view.peak_flops_per_s is None and view.bytes_per_s is None
    assert "no probe in this run (--no-probe): no roofs" in view.footnote
    layers = doc["results"][0]["batches"][0]["per_layer"]["layers"]
    with_flops = [la for la in layers if la["flops"] > 0]
    assert [p.name for p in view.points] == [la["name"] for la in with_flops]
    assert view.points[0].flops_per_s == with_flops[0]["flops"] / \
        with_flops[0]["seconds"]["median"]
    assert f"{len(layers) - len(with_flops)} operations without FLOPs not shown" in view.footnote

"""cnnstat plot KIND: figures (svg, png or pdf, by the -o suffix) with matplotlib.

Needs the ``cnnstat[plot]`` extra; without it every kind exits 2 with the install hint, before
any spec is read.  ``rf --effective`` needs the ``torch`` extra as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from cnnstat.analysis import Analysed
from cnnstat.cli.options import dtype_option, input_option, output_option, set_option
from cnnstat.cli.output import analysed, check_output, drawing_warnings, echo_err
from cnnstat.core.report import Shape
from cnnstat.errors import UsageError
from cnnstat.render import figure

OUTPUT = "The figure's file: .svg, .png or .pdf."


def _start(path: str, specs: Sequence[str] = (), files: Sequence[str] = ()) -> None:
    """Before reading anything: the format must be known, matplotlib installed, and the output
    a file that may be written and is none of the inputs (``specs``, ``files``)."""
    figure.format_of(path)
    figure.require()
    check_output(path, specs=specs, files=files)


def _write(path: str, draw: Callable[[str], bytes]) -> None:
    """Draw in the format the suffix names and write the file (cnnstat.analysis.outputs)."""
    from cnnstat.analysis import outputs

    with drawing_warnings("plot"):
        data = draw(figure.format_of(path))
    outputs.write_bytes(path, data)
    echo_err(f"wrote {path} ({len(data):,} bytes)")


@click.group(name="plot")
def plot() -> None:
    """Figures: the complexity chart, per-layer bars, memory, roofline, timings, fields.

    \b
    cnnstat plot complexity -o complexity.svg
    cnnstat plot layers vgg16 -o vgg16-layers.png
    cnnstat plot memory resnet50 -o memory.pdf
    cnnstat plot roofline bench.json -o roofline.svg
    cnnstat plot rf resnet18 --effective -o rf.png
    """


def complexity_items(specs: tuple[str, ...]) -> list[Analysed]:
    """The specs named, or every built-in spec and variant that publishes a top-1."""
    if specs:
        return [analysed(s, notes=False) for s in specs]
    from cnnstat.analysis.cache import zoo_index  # the names without reading every variant

    texts: dict[Path, bool] = {}
    names = [name for name, e in zoo_index().items()
             if texts.setdefault(e.path, "top1:" in e.path.read_text(encoding="utf-8"))]
    return [analysed(n, notes=False) for n in names]


@plot.command(name="complexity")
@click.argument("specs", nargs=-1)
@output_option(OUTPUT)
def complexity(specs: tuple[str, ...], output: str) -> None:
    """Top-1 accuracy against G-MACs (log), bubble area = parameters (Canziani et al. 2017).

    The accuracy is the spec's published `reference: top1` figure; without SPEC, every
    built-in network that has one."""
    from cnnstat.render.charts import complexity as draw
    from cnnstat.views import plots

    _start(output, specs)
    view = plots.complexity(complexity_items(specs))
    for name in view.left_out if specs else ():  # the zoo: only those that publish one
        echo_err(f"cnnstat: {name}: no published top-1 (reference: top1); not drawn")
    if not view.points:
        raise UsageError("no spec with a published top-1 accuracy to draw",
                         "add reference: {top1: {value: 76.13, source: ...}} to a spec")
    _write(output, lambda fmt: draw(view.points, view.title, view.footnote, fmt))


@plot.command(name="layers")
@click.argument("spec")
@output_option(OUTPUT)
@input_option
@set_option
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
              help="Batch size for MACs and activations.")
def layers(spec: str, output: str, input_shape: Shape | None, overrides: dict[str, object],
           batch: int) -> None:
    """Per-layer MACs, parameters and activations as bars along the network."""
    from cnnstat.render.charts import layers as draw
    from cnnstat.views import plots

    _start(output, [spec])
    report = analysed(spec, input_shape, batch, overrides).report
    _write(output, lambda fmt: draw(plots.layer_bars(report), plots.layers_title(report),
                                    plots.LAYER_LABELS, fmt))


@plot.command(name="memory")
@click.argument("spec")
@output_option(OUTPUT)
@input_option
@set_option
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
              help="Batch size.")
@dtype_option("Bytes per element.")
def memory(spec: str, output: str, input_shape: Shape | None, overrides: dict[str, object],
           batch: int, dtype: str) -> None:
    """Live activation memory over the execution order (inference), the peak marked."""
    from cnnstat.render.charts import memory as draw
    from cnnstat.views import plots

    _start(output, [spec])
    view = plots.live_memory(analysed(spec, input_shape, batch, overrides).report, dtype)
    _write(output, lambda fmt: draw(view.names, view.live_bytes, view.peak, view.title,
                                    view.ylabel, fmt))


def read_bench(path: str) -> dict[str, Any]:
    """A ``cnnstat bench --format json`` document, read as every JSON input is (a regular file
    of bounded size, NaN and deep nesting refused: :func:`cnnstat.check.baseline.read_json`);
    UsageError when unreadable or not one."""
    from cnnstat.check.baseline import read_json

    try:
        doc = read_json(path)
    except UsageError as exc:
        raise UsageError(str(exc), exc.hint or "make one with: cnnstat bench SPEC --format json "
                         "> BENCH.json") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: not a 'cnnstat bench --format json' document")
    return doc


@plot.command(name="roofline")
@click.argument("bench_json", metavar="BENCH.json")
@output_option(OUTPUT)
@click.option("--spec", metavar="NAME", help="The spec to draw (default: the first timed).")
@click.option("--batch", type=click.IntRange(1), help="The batch to draw (default: the first).")
def roofline(bench_json: str, output: str, spec: str | None, batch: int | None) -> None:
    """Per-layer achieved FLOP/s against arithmetic intensity, under the measured roofs
    (from `cnnstat bench --per-layer --format json`)."""
    from cnnstat.render.timing_charts import roofline as draw
    from cnnstat.views import bench_plots

    _start(output, files=[bench_json])
    view = bench_plots.roofline(read_bench(bench_json), bench_json, spec, batch)
    _write(output, lambda fmt: draw(view.points, view.peak_flops_per_s, view.bytes_per_s,
                                    view.title, view.footnote, fmt))


@plot.command(name="bench")
@click.argument("bench_json", metavar="BENCH.json")
@output_option(OUTPUT)
def bench(bench_json: str, output: str) -> None:
    """Latency and throughput against batch size (from `cnnstat bench --batch 1,8,32
    --format json`)."""
    from cnnstat.render.timing_charts import bench as draw
    from cnnstat.views import bench_plots

    _start(output, files=[bench_json])
    view = bench_plots.sweep(read_bench(bench_json), bench_json)
    _write(output, lambda fmt: draw(view.series, view.title, view.footnote, fmt))


@plot.command(name="rf")
@click.argument("spec")
@output_option(OUTPUT)
@input_option
@set_option
@click.option("--layer", metavar="NAME", help="The layer whose centre unit is drawn "
              "(default: the last spatial layer).")
@click.option("--effective", is_flag=True, help="Beside it, the effective field: the mean "
              "|gradient| of the unit over random inputs (Luo et al. 2016; needs torch).")
@click.option("--samples", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Random inputs averaged for --effective.")
def rf(spec: str, output: str, input_shape: Shape | None, overrides: dict[str, object],
       layer: str | None, effective: bool, samples: int) -> None:
    """The receptive field of a layer's centre unit on the input grid."""
    from cnnstat.cli.commands.receptive import analysed_fields
    from cnnstat.render.field_chart import field as draw
    from cnnstat.views import plots
    from cnnstat.views.receptive import chosen_layer

    _start(output, [spec])
    if effective:
        from cnnstat.torch_backend import require

        require()
    report, fields = analysed_fields(spec, input_shape, overrides)
    if fields is None:
        raise UsageError(f"{report.name}: receptive fields need a C x H x W input")
    target = chosen_layer(fields, layer)
    region, box = plots.centre_box(report, fields, target)
    erf = None
    if effective:
        if len(report.inputs) > 1:
            raise UsageError("--effective follows one input's gradient; this spec has several")
        from cnnstat.torch_backend.live import effective_field

        erf = effective_field(report, target.row.name, region.unit, samples)
    label = plots.ERF_LABEL.format(n=samples, seed=0)
    _write(output, lambda fmt: draw(box, erf, plots.field_title(report, target, effective),
                                    label, fmt))

"""cnnstat graph: the network as a diagram (svg, png, pdf through Graphviz; dot, mmd as text)."""

from __future__ import annotations

import sys

import click

from cnnstat.cli.options import (
    batch_option,
    depth_option,
    graph_format,
    graph_format_option,
    input_option,
    set_option,
)
from cnnstat.cli.output import analysed, check_output, echo_err
from cnnstat.core.report import Shape
from cnnstat.errors import UsageError


@click.command(name="graph")
@click.argument("spec")
@click.option("-o", "--output", "path", required=True, metavar="FILE",
              help="Where to write the diagram (.svg, .png, .pdf, .dot, .mmd); '-' for stdout "
              "with --format.")
@graph_format_option
@depth_option("Collapse blocks below N name parts into one box with their totals (default: "
              "every operation, or the deepest depth with at most 150 boxes past 150 "
              "operations).")
@click.option("--rf", is_flag=True, help="Show each box's receptive field.")
@input_option
@set_option
@batch_option
def graph(spec: str, path: str, fmt: str | None, depth: int | None, rf: bool,
          input_shape: Shape | None, overrides: dict[str, object], batch: int) -> None:
    """The network as a diagram: boxes with name, kind, output shape, params and MACs; edges
    with the shapes they carry; blocks as clusters; fill by share of MACs.

    \b
    cnnstat graph resnet18 -o resnet18.svg
    cnnstat graph resnet152 -o resnet152.pdf --depth 1
    cnnstat graph googlenet -o - --format dot | dot -Tpng > googlenet.png
    """
    chosen = graph_format(path, fmt)
    if path == "-" and chosen in ("png", "pdf") and sys.stdout.isatty():
        raise UsageError(f"-o -: not writing {chosen} to a terminal",
                         "redirect standard output to a file, or name one with -o")
    check_output(path, specs=[spec], dash=True)
    from cnnstat.views import graph as graphs  # loaded by the command that needs it

    result = analysed(spec, input_shape, batch, overrides)
    if depth is None and (auto := graphs.auto_depth(result.report)) is not None:
        echo_err(f"note: {len(result.report.rows):,} operations: blocks collapsed below depth "
                 f"{auto} (--depth N to choose)")
    data = graphs.diagram(result, chosen, depth=depth, rf=rf)
    from cnnstat.analysis import outputs

    outputs.write_bytes(path, data, dash=True)
    if path != "-":  # as plot and report say what they wrote (stdout is the diagram itself)
        echo_err(f"wrote {path} ({len(data):,} bytes)")

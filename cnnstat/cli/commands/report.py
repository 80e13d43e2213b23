"""cnnstat report SPEC... -o report.html: one self-contained HTML page (inline SVG and CSS,
no script, no network request).  Needs the ``cnnstat[plot]`` extra for its figures."""

from __future__ import annotations

import click

from cnnstat.cli.options import depth_option, input_option, output_option, set_option
from cnnstat.cli.output import analysed, check_output, drawing_warnings, echo_err
from cnnstat.core.report import Shape
from cnnstat.errors import UsageError
from cnnstat.render import figure


@click.command(name="report")
@click.argument("specs", nargs=-1, required=True)
@output_option("The HTML file to write.")
@input_option
@set_option
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
              help="Batch size for MACs, activations and memory.")
@depth_option("Collapse the diagrams' blocks below this many name parts (as cnnstat graph "
              "--depth).")
@click.option("--verify/--no-verify", "live", default=False, show_default=True,
              help="Add the live cross-check of every layer with PyTorch (cnnstat verify's "
              "tables; needs the torch extra, and seconds per network).")
def report(specs: tuple[str, ...], output: str, input_shape: Shape | None,
           overrides: dict[str, object], batch: int, depth: int | None,
           live: bool) -> None:
    """One HTML page: per spec the summary, diagram, per-layer and memory figures, receptive
    field, check findings and verify result; for several specs a comparison and the
    complexity chart.

    \b
    cnnstat report resnet50 -o resnet50.html
    cnnstat report resnet18 mobilenet-v2 efficientnet-b0 -o compare.html
    cnnstat report resnet18 --verify -o resnet18.html   # with the live cross-check
    """
    from cnnstat.analysis import outputs
    from cnnstat.views import report as report_view

    if not output.lower().endswith((".html", ".htm")):
        raise UsageError(f"-o {output!r}: the report is HTML", "end the file name in .html")
    figure.require()
    check_output(output, specs=specs)
    items = [analysed(s, input_shape, batch, overrides) for s in specs]
    with drawing_warnings("report"):
        page = report_view.page(specs, items, report_view.Options(live, depth))
    outputs.write_text(output, page)
    echo_err(f"wrote {output} ({len(page.encode('utf-8')):,} bytes)")

"""reconcile: every counter's figure for a spec and why they differ."""

from __future__ import annotations

import click

from cnnstat.cli.options import data_options
from cnnstat.cli.output import analysed, emit
from cnnstat.core.report import Shape
from cnnstat.views import reconcile as views


@click.command()
@click.argument("spec")
@data_options
def reconcile(spec: str, fmt: str, input_shape: Shape | None, batch: int,
              overrides: dict[str, object], color: str) -> None:
    """Every counter's figure (torch, fvcore, torchinfo, thop, ptflops, torchscan, calflops,
    DeepSpeed) and its difference from the MACs, split by cause; the causes add up to it."""
    report = analysed(spec, input_shape, batch, overrides).report
    emit(fmt, color, lambda: views.reconcile_json(report), lambda: [views.reconcile_table(report)])

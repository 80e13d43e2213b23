"""summary, params and list: the analytic tables."""

from __future__ import annotations

import click

from cnnstat import views, zoo
from cnnstat.cli_common import data_options, emit, load_report
from cnnstat.core.presets import PRESETS


@click.command()
@click.argument("spec")
@click.option("--count", type=click.Choice(list(PRESETS)), default="macs", show_default=True,
              help="Also count compute as another tool does: torch (FlopCounterMode) or fvcore "
              "(FlopCountAnalysis); 'cnnstat verify' proves both live.")
@data_options
def summary(spec: str, count: str, fmt: str, input_shape: str | None, batch: int,
            overrides: tuple[str, ...], color: str) -> None:
    """Per-layer table: output shape, params, MACs, element-wise ops, activations; totals."""
    report = load_report(spec, input_shape, batch, overrides)
    preset = PRESETS[count]
    emit(fmt, color, views.summary_json(report, preset), [views.summary_table(report, preset)])


@click.command()
@click.argument("spec")
@data_options
def params(spec: str, fmt: str, input_shape: str | None, batch: int,
           overrides: tuple[str, ...], color: str) -> None:
    """Parameter breakdown: weights and bias per layer and per kind, share of the total."""
    report = load_report(spec, input_shape, batch, overrides)
    emit(fmt, color, views.params_json(report), views.params_tables(report))


@click.command(name="list")
@data_options
def list_(fmt: str, input_shape: str | None, batch: int, overrides: tuple[str, ...],
          color: str) -> None:
    """The built-in zoo: name, title, input, params, MACs."""
    rows = [views.list_row(load_report(name, input_shape, batch, overrides))
            for name in zoo.names()]
    emit(fmt, color, views.list_json(rows), [views.list_table(rows)])


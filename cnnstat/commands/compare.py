"""cnnstat compare: two or more specs side by side, per layer, per block and in total."""

from __future__ import annotations

import click

from cnnstat.cli_common import data_options, emit, report_diagnostics


@click.command(name="compare")
@click.argument("specs", nargs=-1, required=True)
@data_options
def compare_command(specs: tuple[str, ...], fmt: str, input_shape: str | None, batch: int,
                    overrides: tuple[str, ...], color: str) -> None:
    """Two or more specs side by side: totals with ratios to the first, layers aligned by name
    (then by position), blocks, and published figures next to the computed ones.

    \b
    cnnstat compare inception-naive inception-bottleneck
    cnnstat compare stack-3x3 conv-7x7 --set C=128
    """
    from cnnstat import compare_view  # loaded by the command that needs it, not at start-up
    from cnnstat.figures import check_figures
    from cnnstat.spec import loader

    if len(specs) < 2:
        raise click.UsageError("compare needs at least two specs")
    items = []
    for spec in specs:
        loaded = loader.load(spec, loader.parse_set(list(overrides)),
                             loader.parse_input(input_shape) if input_shape else None)
        report = loaded.analyze(batch)
        report_diagnostics(list(report.diagnostics), loaded.source)
        items.append(compare_view.Compared(report, tuple(check_figures(report,
                                                                          loaded.reference))))
    layers, blocks = compare_view.layer_slots(items), compare_view.block_slots(items)
    emit(fmt, color, compare_view.document(items, layers, blocks),
         compare_view.tables(items, layers, blocks))

"""cnnstat compare: two or more specs side by side, per layer, per block and in total."""

from __future__ import annotations

import click

from cnnstat.cli.options import data_options
from cnnstat.cli.output import analysed, emit
from cnnstat.core.report import Shape


@click.command(name="compare")
@click.argument("specs", nargs=-1, required=True)
@data_options
def compare_command(specs: tuple[str, ...], fmt: str, input_shape: Shape | None, batch: int,
                    overrides: dict[str, object], color: str) -> None:
    """Two or more specs side by side: totals with ratios to the first, layers aligned by name
    (then by position), blocks, and published figures next to the computed ones.

    \b
    cnnstat compare inception-naive inception-bottleneck
    cnnstat compare stack-3x3 conv-7x7 --set C=128
    """
    from cnnstat.check.figures import check_figures
    from cnnstat.views import (
        compare as compare_view,  # loaded only by the command that needs it
    )

    if len(specs) < 2:
        raise click.UsageError("compare needs at least two specs")
    items = []
    for spec in specs:
        result = analysed(spec, input_shape, batch, overrides)
        figures = tuple(check_figures(result.report, result.loaded.reference))
        items.append(compare_view.Compared(result.report, figures))
    layers, blocks = compare_view.layer_slots(items), compare_view.block_slots(items)
    emit(fmt, color, lambda: compare_view.document(items, layers, blocks),
         lambda: compare_view.tables(items, layers, blocks))

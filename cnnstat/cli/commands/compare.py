"""cnnstat compare: two or more specs side by side, per layer, per block and in total."""

from __future__ import annotations

import click

from cnnstat.cli.options import data_options, depth_option, module_options
from cnnstat.cli.output import analysed, emit, imported
from cnnstat.core.report import Shape


@click.command(name="compare")
@click.argument("specs", nargs=-1)
@module_options
@data_options
@depth_option("Align blocks at N parts of the layer names instead of layers (their params "
              "and MACs summed).")
def compare_command(specs: tuple[str, ...], module: str | None, factory_kwargs: str,
                    timeout: float | None, fmt: str, input_shape: Shape | None, batch: int,
                    overrides: dict[str, object], color: str, depth: int | None) -> None:
    """Two or more specs side by side: totals with ratios to the first, layers aligned by name
    (then by position), blocks, and published figures next to the computed ones.

    \b
    cnnstat compare inception-naive inception-bottleneck
    cnnstat compare stack-3x3 conv-7x7 --set C=128
    cnnstat compare resnet50 resnext50-32x4d --depth 1
    cnnstat compare resnet50 --module mynet.py:build --input 3x224x224   # a spec and a module
    """
    from cnnstat.check.figures import check_figures
    from cnnstat.views import (
        compare as compare_view,  # loaded only by the command that needs it
    )

    if len(specs) + (module is not None) < 2:
        raise click.UsageError("compare needs at least two specs (a --module counts as one)")
    results = [analysed(spec, input_shape, batch, overrides) for spec in specs]
    if module is not None:  # the module last, traced at --input
        results.append(imported(module, factory_kwargs, timeout, input_shape, batch))
    items = []
    for result in results:
        figures = tuple(check_figures(result.report, result.loaded.reference))
        items.append(compare_view.Compared(result.report, figures))
    layers, blocks = compare_view.layer_slots(items, depth), compare_view.block_slots(items)
    emit(fmt, color, lambda: compare_view.document(items, layers, blocks, depth),
         lambda: compare_view.tables(items, layers, blocks, depth))

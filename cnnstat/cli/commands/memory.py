"""cnnstat memory: activation memory for inference (peak) and training, by dtype and batch."""

from __future__ import annotations

import click

from cnnstat.cli.options import (ROLLUP_HELP, data_options, depth_option, dtype_option,
                                 module_options, parse_size)
from cnnstat.cli.output import analysed_source, emit
from cnnstat.core.memory import OPTIMIZER_STATES
from cnnstat.core.report import Shape
from cnnstat.errors import UsageError


@click.command(name="memory")
@click.argument("spec", required=False)
@module_options
@data_options
@dtype_option("Bytes per element.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), default="sgd-momentum",
              show_default=True, help="Optimizer state for training: 0, 1 or 2 values per weight.")
@click.option("--fit", "budget", metavar="SIZE",
              help="Find the largest batch that fits SIZE (16GiB, 512MB; KiB/MiB/GiB = 1024^n, "
              "KB/MB/GB = 1000^n).")
@depth_option(ROLLUP_HELP)
def memory_command(spec: str | None, module: str | None, factory_kwargs: str,
                   timeout: float | None, fmt: str, input_shape: Shape | None, batch: int,
                   overrides: dict[str, object], color: str, dtype: str, optimizer: str,
                   budget: str | None, depth: int | None) -> None:
    """Activation memory: the inference peak per operation, training memory, largest batch.

    \b
    cnnstat memory vgg16
    cnnstat memory resnet50 --batch 32 --dtype float16 --optimizer adam
    cnnstat memory vgg16 --fit 16GiB
    cnnstat memory resnet50 --depth 1
    cnnstat memory --module mynet.py:build --input 3x224x224
    """
    try:
        size = parse_size(budget) if budget is not None else None
    except ValueError as exc:
        raise UsageError(f"--fit: {exc}") from None
    from cnnstat.views import (
        memory as memory_view,  # loaded by the command that needs it
    )

    report = analysed_source(spec, module, factory_kwargs, timeout, input_shape, batch,
                             overrides).report
    view = memory_view.MemoryView(report, dtype, optimizer, size, depth)
    emit(fmt, color, lambda: memory_view.document(view), lambda: memory_view.tables(view))

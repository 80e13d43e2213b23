"""summary, params and list: the analytic tables."""

from __future__ import annotations

import click

from cnnstat.analysis import builtin_names
from cnnstat.cli.options import (ROLLUP_HELP, data_options, depth_option, dtype_option,
                                 module_options)
from cnnstat.cli.output import analysed, analysed_source, emit
from cnnstat.core.counters import ALL_PRESETS
from cnnstat.core.report import Shape
from cnnstat.errors import UsageError
from cnnstat.views import summary as views

STYLES = ("default", "lecture", "memory")


@click.command()
@click.argument("spec", required=False)
@module_options
@click.option("--count", type=click.Choice(list(ALL_PRESETS)), default="macs",
              show_default=True,
              help="Also count compute as another tool does: torch (FlopCounterMode), fvcore "
              "(FlopCountAnalysis), torchinfo, thop, ptflops, torchscan, calflops or deepspeed; "
              "'cnnstat verify' proves them live, 'cnnstat reconcile' shows them all.")
@data_options
@click.option("--style", type=click.Choice(STYLES), default="default", show_default=True,
              help="lecture: the lecture's [HxWxC] NAME: ... lines; memory: the per-layer "
              "memory/params table with the arithmetic shown.")
@dtype_option("Bytes per element for --style memory.")
@depth_option(ROLLUP_HELP)
def summary(spec: str | None, module: str | None, factory_kwargs: str, timeout: float | None,
            count: str, fmt: str, input_shape: Shape | None, batch: int,
            overrides: dict[str, object], color: str, style: str, dtype: str,
            depth: int | None) -> None:
    """Per-layer table: output shape, params, MACs, element-wise ops, activations; totals.
    SPEC, or --module MODULE:FACTORY with --input (the module imported in memory).

    \b
    cnnstat summary resnet50 --depth 1     # one row per stage
    cnnstat summary vgg16 --columns name,output,params,macs
    """
    if style != "default" and count != "macs":
        raise UsageError(f"--count {count} applies to the default summary, not --style {style}",
                         "drop --style, or --count")
    if style != "default" and depth is not None:
        raise UsageError(f"--depth applies to the default summary, not --style {style}",
                         "drop --style, or --depth")
    if style != "default":
        from cnnstat.cli.commands import (
            lecture,  # the lecture formats load only when asked for
        )

        lecture.styled_summary(
            analysed_source(spec, module, factory_kwargs, timeout, input_shape, batch,
                            overrides), style, dtype, fmt, color)
        return
    result = analysed_source(spec, module, factory_kwargs, timeout, input_shape, batch,
                             overrides)
    report, fields, preset = result.report, result.field_sizes, ALL_PRESETS[count]
    emit(fmt, color, lambda: views.summary_json(report, fields, preset, depth),
         lambda: [views.summary_table(report, fields, preset, depth)])


@click.command()
@click.argument("spec", required=False)
@module_options
@data_options
@depth_option(ROLLUP_HELP)
def params(spec: str | None, module: str | None, factory_kwargs: str, timeout: float | None,
           fmt: str, input_shape: Shape | None, batch: int, overrides: dict[str, object],
           color: str, depth: int | None) -> None:
    """Parameter breakdown: weights and bias per layer and per kind, share of the total.
    SPEC, or --module MODULE:FACTORY with --input (the module imported in memory)."""
    report = analysed_source(spec, module, factory_kwargs, timeout, input_shape, batch,
                             overrides).report
    emit(fmt, color, lambda: views.params_json(report, depth),
         lambda: views.params_tables(report, depth))


@click.command(name="list")
@click.argument("patterns", nargs=-1, metavar="[FILTER]...")
@data_options
def list_(patterns: tuple[str, ...], fmt: str, input_shape: Shape | None, batch: int,
          overrides: dict[str, object], color: str) -> None:
    """The built-in zoo: name, title, input, params, MACs.

    FILTER keeps the specs whose name contains it, or whose family (the file its variants share:
    resnet-cifar, efficientnet, regnet...) it names; * and ? match as in file names
    (cnnstat list 'resnet*' vgg).
    """
    names = zoo_filter(builtin_names(), patterns)
    rows = [views.list_row(analysed(name, input_shape, batch, overrides, notes=False).brief)
            for name in names]
    emit(fmt, color, lambda: views.list_json(rows), lambda: [views.list_table(rows)])


def zoo_filter(names: list[str], patterns: tuple[str, ...]) -> list[str]:
    """The built-in names any pattern selects (all of them without patterns); none is a usage
    error, with the closest names as a hint."""
    if not patterns:
        return names
    import fnmatch

    from cnnstat.analysis.cache import zoo_index
    from cnnstat.spec.validate import suggest

    index = zoo_index()

    def selects(pattern: str, name: str) -> bool:
        p = pattern.strip().lower()
        if any(ch in p for ch in "*?["):
            return fnmatch.fnmatchcase(name, p)
        return p in name or p == index[name].path.stem

    chosen = [n for n in names if any(selects(p, n) for p in patterns)]
    if not chosen:
        raise UsageError(f"no built-in spec matches {' '.join(patterns)}",
                         suggest(patterns[0], names, n=3) or "cnnstat list shows them all")
    return chosen

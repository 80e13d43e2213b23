"""The command line: parse options, call the library, render, map failures to exit codes.

Data goes to stdout; diagnostics, warnings and progress go to stderr.  Exit codes come from
:class:`cnnstat.errors.ExitStatus` and are decided in one place, :class:`_Boundary`.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import click

from cnnstat import __version__, views, zoo
from cnnstat.core.report import Report
from cnnstat.errors import ExitStatus, SpecError, UsageError
from cnnstat.render import table as tables
from cnnstat.render.diagnostics import format_diagnostic
from cnnstat.spec import loader

FORMATS = ("table", "json", "csv", "markdown")


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


def report_diagnostics(exc_or_diags: Any, source: Any = None) -> None:
    diags = exc_or_diags.diagnostics if isinstance(exc_or_diags, SpecError) else exc_or_diags
    src = exc_or_diags.source if isinstance(exc_or_diags, SpecError) else source
    for d in diags:
        _echo_err(format_diagnostic(d, src))


class _Boundary(click.Group):
    """The error boundary: user errors never show a traceback; exit codes are decided here."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            report_diagnostics(exc)
            ctx.exit(ExitStatus.REJECTED)
        except UsageError as exc:
            _echo_err(f"cnnstat: error: {exc}" + (f"\n    hint: {exc.hint}" if exc.hint else ""))
            ctx.exit(ExitStatus.ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
            if ctx.meta.get("traceback"):
                traceback.print_exc()
            _echo_err(f"cnnstat: internal error: {type(exc).__name__}: {exc}\n"
                      "    hint: run with --traceback and report it")
            ctx.exit(ExitStatus.ERROR)


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnnstat")
@click.option("--traceback", is_flag=True, help="Show Python tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """Exact shapes, parameters, MACs and memory of CNN architecture specs."""
    ctx.meta["traceback"] = traceback


def data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--format, --input, --batch, --set and --color, shared by every data command."""
    options = [
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                     show_default=True, help="Output format (data goes to stdout)."),
        click.option("--input", "input_shape", metavar="CxHxW",
                     help="Override the input shape, e.g. 3x227x227."),
        click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
                     help="Batch size for MACs, FLOPs and activations."),
        click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
                     help="Override a spec parameter (repeatable)."),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                     show_default=True, help="Colour in table output (honours NO_COLOR)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def load_report(spec: str, input_shape: str | None, batch: int,
                overrides: Sequence[str]) -> Report:
    shape = loader.parse_input(input_shape) if input_shape else None
    loaded = loader.load(spec, loader.parse_set(list(overrides)), shape)
    report = loaded.analyze(batch)
    report_diagnostics(list(report.diagnostics), loaded.source)
    return report


def console(color: str) -> Any:
    from rich.console import Console

    if color == "always" or (color == "auto" and os.environ.get("FORCE_COLOR")):
        return Console(force_terminal=True, soft_wrap=False)
    if color == "never" or os.environ.get("NO_COLOR"):
        return Console(no_color=True, color_system=None, highlight=False)
    if not sys.stdout.isatty():
        return Console(width=200)  # a pipe or file: do not wrap at 80 columns
    return Console()


def emit(fmt: str, color: str, doc: dict[str, Any], tabs: Sequence[tables.Table]) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif fmt == "csv":
        sys.stdout.write(tables.to_csv(tabs))
    elif fmt == "markdown":
        sys.stdout.write(tables.to_markdown(tabs))
    else:
        tables.to_rich(tabs, console(color))


@main.command()
@click.argument("spec")
@data_options
def summary(spec: str, fmt: str, input_shape: str | None, batch: int,
            overrides: tuple[str, ...], color: str) -> None:
    """Per-layer table: output shape, params, MACs, element-wise ops, activations; totals."""
    report = load_report(spec, input_shape, batch, overrides)
    emit(fmt, color, views.summary_json(report), [views.summary_table(report)])


@main.command()
@click.argument("spec")
@data_options
def params(spec: str, fmt: str, input_shape: str | None, batch: int,
           overrides: tuple[str, ...], color: str) -> None:
    """Parameter breakdown: weights and bias per layer and per kind, share of the total."""
    report = load_report(spec, input_shape, batch, overrides)
    emit(fmt, color, views.params_json(report), views.params_tables(report))


@main.command(name="list")
@data_options
def list_(fmt: str, input_shape: str | None, batch: int, overrides: tuple[str, ...],
          color: str) -> None:
    """The built-in zoo: name, title, input, params, MACs."""
    rows = [views.list_row(load_report(name, input_shape, batch, overrides))
            for name in zoo.names()]
    emit(fmt, color, views.list_json(rows), [views.list_table(rows)])


if __name__ == "__main__":  # pragma: no cover
    main()

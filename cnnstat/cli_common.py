"""Options and output plumbing shared by the data commands (stdout for data, stderr for the rest)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from cnnstat.core.report import Report
from cnnstat.errors import Severity, SpecError
from cnnstat.render import jsonfmt
from cnnstat.render import table as tables
from cnnstat.render.diagnostics import format_diagnostic
from cnnstat.spec import loader

FORMATS = ("table", "json", "csv", "markdown")


def echo_err(text: str) -> None:
    click.echo(text, err=True)


def report_diagnostics(exc_or_diags: Any, source: Any = None) -> None:
    """Print diagnostics (a SpecError's, or a list with its source map) on stderr."""
    diags = exc_or_diags.diagnostics if isinstance(exc_or_diags, SpecError) else exc_or_diags
    src = exc_or_diags.source if isinstance(exc_or_diags, SpecError) else source
    for d in diags:
        echo_err(format_diagnostic(d, src))


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


def load_spec(spec: str, input_shape: str | None, overrides: Sequence[str]) -> loader.Loaded:
    shape = loader.parse_input(input_shape) if input_shape else None
    return loader.load(spec, loader.parse_set(list(overrides)), shape)


def load_report(spec: str, input_shape: str | None, batch: int,
                overrides: Sequence[str], notes: bool = True) -> Report:
    """Load and analyse ``spec``; its warnings (and, with ``notes``, its notes) go to stderr."""
    loaded = load_spec(spec, input_shape, overrides)
    report = loaded.analyze(batch)
    shown = [d for d in report.diagnostics if notes or d.severity is not Severity.NOTE]
    report_diagnostics(shown, loaded.source)
    return report


def console(color: str) -> Any:
    """A rich console for stdout; wide (no wrapping) when stdout is a pipe or file."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else 200
    if color == "always" or (color == "auto" and os.environ.get("FORCE_COLOR")):
        return Console(force_terminal=True, width=width)
    if color == "never" or os.environ.get("NO_COLOR"):
        return Console(no_color=True, color_system=None, highlight=False, width=width)
    return Console(width=width)


def emit(fmt: str, color: str, doc: dict[str, Any], tabs: Sequence[tables.Table]) -> None:
    if fmt == "json":
        sys.stdout.write(jsonfmt.dumps(doc))
    elif fmt == "csv":
        sys.stdout.write(tables.to_csv(tabs))
    elif fmt == "markdown":
        sys.stdout.write(tables.to_markdown(tabs))
    else:
        tables.to_rich(tabs, console(color))


@contextmanager
def progress(total: int, show: bool, doing: str, done: str) -> Iterator[Callable[[str], Any]]:
    """A progress bar on stderr when it is a terminal (a run over the zoo); silent otherwise.
    Yields ``advance(name)``, which moves the bar and reads '<done> <name>'."""
    if not show or not sys.stderr.isatty():
        yield lambda name: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(doing, total=total)
        yield lambda name: bar.update(task, advance=1, description=f"{done} {name}")

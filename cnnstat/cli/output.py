"""Output plumbing shared by the commands: data to stdout in the format asked for, diagnostics
and progress to stderr."""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click

from cnnstat import analysis
from cnnstat.analysis import Analysed
from cnnstat.core.report import Shape
from cnnstat.errors import Severity, SpecError, UsageError
from cnnstat.render import jsonfmt, text_table
from cnnstat.render import table as tables
from cnnstat.render.diagnostics import format_diagnostic
from cnnstat.render.escape import escape_controls


def echo_err(text: str) -> None:
    """A message on stderr; no control character reaches the terminal raw (its lines kept)."""
    click.echo(escape_controls(text, keep="\n"), err=True)


def write_text(text: str) -> None:
    """Plain, uncoloured text on stdout: no control character reaches the terminal raw."""
    sys.stdout.write(escape_controls(text, keep="\n"))


def report_diagnostics(exc_or_diags: Any, source: Any = None) -> None:
    """Print diagnostics (a SpecError's, or a list with its source map) on stderr."""
    diags = exc_or_diags.diagnostics if isinstance(exc_or_diags, SpecError) else exc_or_diags
    src = exc_or_diags.source if isinstance(exc_or_diags, SpecError) else source
    for d in diags:
        echo_err(format_diagnostic(d, src))


def analysed(spec: str, input_shape: Shape | None = None, batch: int = 1,
             overrides: Mapping[str, object] | None = None, notes: bool = True) -> Analysed:
    """Load and analyse ``spec``; its warnings (and, with ``notes``, its notes) go to stderr,
    located in its file.  The loaded spec travels with the report for the commands that need
    its figures or parameters."""
    result = analysis.run(spec, input=input_shape, batch=batch, set=overrides)
    shown = [d for d in result.brief.diagnostics if notes or d.severity is not Severity.NOTE]
    if shown:  # the source map (decoded from the cache on first use) only to locate them
        report_diagnostics(shown, result.source)
    return result


def analysed_source(spec: str | None, module: str | None, kwargs: str, timeout: float | None,
                    input_shape: Shape | None = None, batch: int = 1,
                    overrides: Mapping[str, object] | None = None) -> Analysed:
    """A SPEC, or with ``--module`` a PyTorch module imported in memory (as ``cnnstat import``
    writes it, in a child process) and analysed like any spec: the one loader of every
    analysis command that takes ``--module``."""
    if module is None:
        if spec is None:
            raise UsageError("give a SPEC, or --module MODULE:FACTORY with --input")
        return analysed(spec, input_shape, batch, overrides)
    if spec is not None:
        raise UsageError(f"give a SPEC or --module, not both (got {spec!r} and --module)")
    return imported(module, kwargs, timeout, input_shape, batch, overrides)


def imported(module: str, kwargs: str, timeout: float | None, input_shape: Shape | None,
             batch: int = 1, overrides: Mapping[str, object] | None = None) -> Analysed:
    """``--module``: the module imported in memory and analysed (torch needed, in the child)."""
    from cnnstat.cli.options import memory_limit
    from cnnstat.torch_backend import importer, isolation, require

    if overrides:
        raise UsageError("--set applies to a spec's parameters; a --module has none",
                         "pass the factory's arguments with --kwargs JSON")
    if input_shape is None:
        raise UsageError("--module needs the input shape to trace at: --input CxHxW",
                         "e.g. --input 3x224x224")
    require("torch", load=False)
    isolation.split_target(module)
    try:
        done = importer.run_import(module, (input_shape,), kwargs,
                                   timeout or isolation.DEFAULT_TIMEOUT, None, batch,
                                   memory_limit())
    except importer.Failed as failed:
        show_module_output(module, failed.stdout, failed.stderr, "import")
        raise failed.error from None
    show_module_output(module, done.stdout, done.stderr, "import")
    if done.note:
        echo_err(f"cnnstat: import: note: {done.note}")
    return Analysed(done.report.brief, done.loaded.source, report=done.report,
                    loaded=done.loaded)


def show_module_output(target: str, stdout: Any, stderr: Any, command: str) -> None:
    """What the user's module printed, on stderr, marked."""
    from cnnstat.views import verify as verify_view

    for stream, output in (("stdout", stdout), ("stderr", stderr)):
        if output:
            echo_err(verify_view.module_output(target, stream, output, command))


def check_output(path: str | os.PathLike[str] | None, *, specs: Iterable[str] = (),
                 files: Iterable[str | os.PathLike[str]] = (), option: str = "-o",
                 dash: bool = False) -> None:
    """Before any work: refuse (exit 2) an output path that cannot or must not be written
    (:func:`cnnstat.analysis.outputs.check`), including one that is an input of the command:
    the file of a SPEC argument (a built-in name's too) or one of ``files``."""
    if path is None:
        return
    from cnnstat.analysis import outputs

    outputs.check(path, [*spec_files(specs), *files], option=option, dash=dash)


def spec_files(specs: Iterable[str]) -> list[str]:
    """The files SPEC arguments read: a path (without its ``#variant``) or a built-in name's
    file; standard input and unknown names read none."""
    from cnnstat import zoo

    out = []
    for spec in specs:
        if spec == "-":
            continue
        if zoo.names_a_file(spec):
            out.append(spec if os.path.exists(spec) else spec.rpartition("#")[0] or spec)
        elif (entry := zoo.find(spec)) is not None:
            out.append(str(entry.path))
    return out


def use_color(color: str) -> bool:
    """--color always|never|auto; auto: NO_COLOR off, FORCE_COLOR on, else a terminal."""
    if color == "always" or (color == "auto" and os.environ.get("FORCE_COLOR")):
        return True
    if color == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def terminal_width() -> int | None:
    """The terminal's width when stdout is one; None (nothing wraps) for a pipe or a file."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def chosen_columns() -> list[str] | None:
    """The keys given to ``--columns`` in this command, or None."""
    from cnnstat.cli.options import COLUMNS_META

    ctx = click.get_current_context(silent=True)
    keys = ctx.meta.get(COLUMNS_META) if ctx is not None else None
    return list(keys) if keys else None


def choose(tabs: Sequence[tables.Table]) -> Sequence[tables.Table]:
    """``tabs`` with the columns ``--columns`` chose (a key no table has: exit 2, listing the
    valid keys)."""
    keys = chosen_columns()
    if keys is None:
        return tabs
    try:
        return tables.select_columns(tabs, keys)
    except ValueError as exc:
        raise UsageError(f"--columns: {exc}", "separate keys with commas, e.g. "
                         "--columns name,output,params,macs") from None


def emit(fmt: str, color: str, document: Callable[[], dict[str, Any]],
         tabs: Callable[[], Sequence[tables.Table]]) -> None:
    """Write a view in the one format asked for: ``document`` builds the JSON document and
    ``tabs`` the tables, and only the one needed is built.  A table fitted to the terminal by
    leaving columns out says so in one line on stderr."""
    if fmt == "json":
        if chosen_columns() is not None:
            raise UsageError("--columns chooses the columns of tables; a JSON document has "
                             "every field", "drop --columns, or use --format table/csv/markdown")
        sys.stdout.write(jsonfmt.dumps(document()))
    elif fmt == "csv":
        sys.stdout.write(tables.to_csv(choose(tabs())))
    elif fmt == "markdown":
        sys.stdout.write(tables.to_markdown(choose(tabs())))
    else:
        shown = choose(tabs())
        width = terminal_width()
        done = text_table.fitted(shown, width, text_table.Style(use_color(color)))
        sys.stdout.write(done.text)
        line = text_table.left_out_line(done, width) if width is not None else None
        if line is not None:  # dim where stderr is a terminal that takes colour
            dim = text_table.Style(use_color(color) and sys.stderr.isatty())
            click.echo(dim.dim(escape_controls(line)), err=True)


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


_GLYPH = re.compile(r"Glyph \d+ \((.*)\) missing from font\(s\) (.+?)\.?$")


@contextmanager
def drawing_warnings(command: str) -> Iterator[None]:
    """matplotlib's warnings while ``command`` draws (``plot``, ``report``), each said once on
    stderr as cnnstat's one line, never printed raw: a glyph missing from the font (a name in a
    script the font lacks) says which character and how it is drawn."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for line in dict.fromkeys(_drawing_warning(command, str(w.message)) for w in caught):
        echo_err(line)


def _drawing_warning(command: str, message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "a warning"
    glyph = _GLYPH.match(first)
    if glyph:
        char = glyph.group(1)
        name = char[3:-1] if char.startswith("\\N{") else char
        return (f"cnnstat: {command}: warning: the font {escape_controls(glyph.group(2))} has no "
                f"glyph for {escape_controls(name)}; the figure shows an empty box in its place")
    return f"cnnstat: {command}: warning: matplotlib: {escape_controls(first)}"

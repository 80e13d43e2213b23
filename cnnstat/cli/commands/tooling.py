"""diff and schema: tools around spec files."""

from __future__ import annotations

import sys

import click

from cnnstat.cli.options import color_option, format_option, input_option, module_options
from cnnstat.cli.output import echo_err, emit, imported
from cnnstat.core.report import Shape
from cnnstat.errors import ExitStatus, UsageError


@click.command()
@click.argument("a")
@click.argument("b", required=False)
@module_options
@input_option
@format_option()
@click.option("--all", "show_all", is_flag=True, help="Show unchanged layers too.")
@color_option
def diff(a: str, b: str | None, module: str | None, factory_kwargs: str, timeout: float | None,
         input_shape: Shape | None, fmt: str, show_all: bool, color: str) -> None:
    """Per-layer differences between two specs, matched by layer name, with totals and ratios.

    A and B are specs (built-in names, paths, '-') or JSON files: a baseline from
    'check --write-baseline' (FILE.json#NAME picks a spec) or 'summary --format json' output.
    With --module MODULE:FACTORY (and --input) instead of B, B is that module, imported in
    memory.  A report: the exit status is 0 whatever the differences."""
    from cnnstat.views import diff as diffing

    if (b is None) == (module is None):
        raise UsageError("diff compares A with B, or A with --module MODULE:FACTORY: give one")
    if input_shape is not None and module is None:
        raise UsageError("--input applies to --module (the shape to trace it at)")
    other = b if b is not None else \
        imported(str(module), factory_kwargs, timeout, input_shape).report
    sa, sb, changes = diffing.diff(a, other)
    emit(fmt, color, lambda: diffing.diff_json(sa, sb, changes),
         lambda: [diffing.diff_table(sa, sb, changes, show_all)])


@click.command()
@click.option("--check", "check_only", is_flag=True,
              help="Compare the schema shipped in the package with the generated one; exit 1 "
                   "if they differ.")
def schema(check_only: bool) -> ExitStatus:
    """The JSON Schema of spec files (for editors and CI), generated from the spec models.

    Editors that use yaml-language-server validate and complete a spec whose first line is
    '# yaml-language-server: $schema=<path or URL of this schema>'."""
    from cnnstat.spec.schema import SCHEMA_FILE, schema_text

    text = schema_text()
    if not check_only:
        sys.stdout.write(text)
        return ExitStatus.OK
    shipped = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.is_file() else None
    if shipped != text:
        echo_err(f"{SCHEMA_FILE}: " + ("missing" if shipped is None else "out of date") +
                 f"\n    hint: regenerate it: cnnstat schema > {SCHEMA_FILE}")
        return ExitStatus.REJECTED
    echo_err(f"{SCHEMA_FILE}: up to date")
    return ExitStatus.OK

"""The command line: parse options, call the library, render, map failures to exit codes.

Data goes to stdout; diagnostics, warnings and progress go to stderr.  Exit codes come from
:class:`cnnstat.errors.ExitStatus` and are decided in one place, :class:`_Boundary`.
"""

from __future__ import annotations

import traceback
from typing import Any

import click

from cnnstat.cli.commands import analysis, check, compare, explain, memory, tooling
from cnnstat.cli.commands.bench import bench
from cnnstat.cli.commands.receptive import receptive_field
from cnnstat.cli.commands.verify import verify
from cnnstat.cli.output import echo_err, report_diagnostics
from cnnstat.errors import ExitStatus, SpecError, UsageError
from cnnstat.render.jsonfmt import VERSION


class _Boundary(click.Group):
    """The error boundary: user errors never show a traceback; exit codes are decided here."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            status = super().invoke(ctx)
        except SpecError as exc:
            report_diagnostics(exc)
            ctx.exit(ExitStatus.REJECTED)
        except UsageError as exc:
            echo_err(f"cnnstat: error: {exc}" + (f"\n    hint: {exc.hint}" if exc.hint else ""))
            ctx.exit(ExitStatus.ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
            if ctx.meta.get("traceback"):
                traceback.print_exc()
            echo_err(f"cnnstat: internal error: {type(exc).__name__}: {exc}\n"
                      "    hint: run with --traceback and report it")
            ctx.exit(ExitStatus.ERROR)
        if isinstance(status, int) and status != ExitStatus.OK:
            ctx.exit(int(status))  # a command returns its status; only the boundary exits
        return status


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="cnnstat")
@click.option("--traceback", is_flag=True, help="Show Python tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """Exact shapes, parameters, MACs and memory of CNN architecture specs."""
    ctx.meta["traceback"] = traceback


for command in (analysis.summary, analysis.params, analysis.list_):
    main.add_command(command)
main.add_command(receptive_field)
main.add_command(explain.explain_command)
main.add_command(compare.compare_command)
main.add_command(memory.memory_command)
main.add_command(verify)
main.add_command(bench)
main.add_command(check.check)
main.add_command(tooling.diff)
main.add_command(tooling.schema)

"""The command line: parse options, call the library, render, map failures to exit codes.

Data goes to stdout; diagnostics, warnings and progress go to stderr.  Exit codes come from
:class:`cnnstat.errors.ExitStatus` and are decided in one place, :class:`_Boundary`.
"""

from __future__ import annotations

import importlib
import traceback
from typing import Any

import click

from cnnstat.cli.output import echo_err, report_diagnostics
from cnnstat.errors import ExitStatus, SpecError, UsageError
from cnnstat.render.jsonfmt import VERSION

# command name -> "module:attribute" under cnnstat.cli.commands, imported only when that command
# runs (or help lists it), so one command's start-up never pays for another's imports.
COMMANDS = {
    "summary": "analysis:summary",
    "params": "analysis:params",
    "list": "analysis:list_",
    "receptive-field": "receptive:receptive_field",
    "explain": "explain:explain_command",
    "compare": "compare:compare_command",
    "memory": "memory:memory_command",
    "verify": "verify:verify",
    "bench": "bench:bench",
    "check": "check:check",
    "diff": "tooling:diff",
    "schema": "tooling:schema",
}


class _Boundary(click.Group):
    """The error boundary: user errors never show a traceback; exit codes are decided here.
    Commands are looked up in :data:`COMMANDS` and imported when first needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(f"cnnstat.cli.commands.{module}"), attr)
        assert isinstance(command, click.Command)
        return command

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

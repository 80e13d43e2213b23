"""The command line: parse options, call the library, render, map failures to exit codes.

Data goes to stdout; diagnostics, warnings and progress go to stderr.  Exit codes come from
:class:`cnnstat.errors.ExitStatus` and are decided in one place, :class:`_Boundary`: 0 ok, 1 the
spec was rejected, 2 could not run, 130 interrupted (Ctrl-C), 141 the reader of stdout went away
(``cnnstat summary vgg16 | head -1``), each without a traceback.
"""

from __future__ import annotations

import codecs
import errno
import importlib
import sys
import traceback
from typing import Any

import click

from cnnstat.cli import streams
from cnnstat.cli.output import echo_err, report_diagnostics
from cnnstat.errors import ExitStatus, SpecError, UsageError
from cnnstat.render.escape import escape_controls
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
    "graph": "graph:graph",
    "plot": "plot:plot",
    "report": "report:report",
    "import": "importer:import_command",
    "sweep": "sweep:sweep",
    "merge": "sweep:merge",
    "scale": "scale:scale",
    "reconcile": "reconcile:reconcile",
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
        streams.guard()
        try:
            status = super().invoke(ctx)
            sys.stdout.flush()  # a reader that went away is seen here, not at exit
        except SpecError as exc:
            report_diagnostics(exc)
            ctx.exit(ExitStatus.REJECTED)
        except UsageError as exc:
            _usage_error(str(exc), exc.hint)
            ctx.exit(ExitStatus.ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            echo_err("\ncnnstat: interrupted")
            ctx.exit(ExitStatus.INTERRUPTED)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                streams.silence()
                ctx.exit(ExitStatus.BROKEN_PIPE)
            if not isinstance(exc, streams.StdoutError):
                _internal(ctx, exc)
            streams.silence()
            _usage_error(f"cannot write to standard output: {exc.strerror or exc}",
                         "redirect it to a file system that has room"
                         if exc.errno in (errno.ENOSPC, errno.EDQUOT) else None)
            ctx.exit(ExitStatus.ERROR)
        except UnicodeEncodeError as exc:
            if not _stdout_encoding(exc):
                _internal(ctx, exc)
            _usage_error(f"standard output's encoding ({exc.encoding}) cannot represent "
                         f"{exc.object[exc.start:exc.end]!a}",
                         "set PYTHONIOENCODING=utf-8 (or a UTF-8 locale), or use --format json")
            ctx.exit(ExitStatus.ERROR)
        except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
            _internal(ctx, exc)
        if isinstance(status, int) and status != ExitStatus.OK:
            ctx.exit(int(status))  # a command returns its status; only the boundary exits
        return status


def _usage_error(message: str, hint: str | None) -> None:
    echo_err(f"cnnstat: error: {escape_controls(message)}" +
             (f"\n    hint: {escape_controls(hint)}" if hint else ""))


def _internal(ctx: click.Context, exc: BaseException) -> None:
    """An internal error (a bug): exit 2 with a request to report it."""
    if ctx.meta.get("traceback"):
        traceback.print_exception(exc)
    echo_err(f"cnnstat: internal error: {type(exc).__name__}: {escape_controls(str(exc))}\n"
             "    hint: run with --traceback and report it")
    ctx.exit(ExitStatus.ERROR)


def _stdout_encoding(exc: UnicodeEncodeError) -> bool:
    """Whether the error is stdout's encoding refusing a character (not a bug of ours)."""
    encoding = getattr(sys.stdout, "encoding", None)
    try:
        return encoding is not None and \
            codecs.lookup(encoding).name == codecs.lookup(exc.encoding).name
    except LookupError:
        return False


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="cnnstat")
@click.option("--traceback", is_flag=True, help="Show Python tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """Exact shapes, parameters, MACs and memory of CNN architecture specs."""
    ctx.meta["traceback"] = traceback

"""check: every spec file against everything it claims, for CI (exit 0 clean, 1 failed, 2 could
not run)."""

from __future__ import annotations

import sys

import click

from cnnstat.cli.options import CheckFormat, format_option
from cnnstat.cli.output import check_output, echo_err
from cnnstat.errors import ExitStatus, UsageError


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@format_option(CheckFormat, default="text",
               help="text: diagnostics on stderr; json, github, junit: a report on stdout.")
@click.option("--baseline", "baseline_file", metavar="FILE",
              help="Fail (E606) on any change of shapes, params or MACs against this baseline.")
@click.option("--write-baseline", metavar="FILE",
              help="Write the per-layer figures of every spec to FILE (JSON).")
@click.option("--notes", "-v", "--verbose", "notes", is_flag=True,
              help="Text output: show the notes too (accepted warnings, known differences); "
              "they are counted, not shown, by default, and always in the other formats.")
def check(paths: tuple[str, ...], strict: bool, fmt: str, baseline_file: str | None,
          write_baseline: str | None, notes: bool) -> ExitStatus:
    """Check spec files: YAML and schema, geometry, warnings, published reference figures,
    expect pins and budgets, for the defaults and every variant.

    PATH is a file, a directory (searched for *.yaml and *.yml) or a built-in name; without
    one, the built-in specs are checked.  Every problem in every file is reported."""
    # Imported here: the other commands' cold start does not pay for them.
    from cnnstat.analysis import cache
    from cnnstat.check import baseline as baselines
    from cnnstat.check import files as checking
    from cnnstat.views import check as check_report

    files = checking.spec_files(paths or checking.default_paths())
    if not files:
        raise UsageError("no spec files (*.yaml, *.yml) under " + ", ".join(paths),
                         "give spec files or directories that contain some")
    check_output(write_baseline, files=[*(path for path, _ in files),
                                        *([baseline_file] if baseline_file else [])],
                 option="--write-baseline")
    old = baselines.read(baseline_file) if baseline_file else None
    with cache.bypassed():  # a gate: every figure it judges is computed here, none read back
        results = [checking.check_file(path, only) for path, only in files]
    extra = {}
    if old is not None:
        extra["baseline"] = {"file": baseline_file, "specs": baselines.compare(old, results)}
    if write_baseline:
        baselines.write(write_baseline, results)
    summary = checking.summarise(results, strict)
    if fmt == "text":
        for block in check_report.text(results, notes):
            echo_err(block)
    elif fmt == "json":
        sys.stdout.write(check_report.to_json(results, summary, strict, extra))
    elif fmt == "github":
        sys.stdout.write(check_report.github(results))
    else:
        sys.stdout.write(check_report.junit(results, strict))
    echo_err(summary.line() + (" (--notes shows them)" if fmt == "text" and summary.notes
                               and not notes else ""))
    if summary.could_not_run:
        return ExitStatus.ERROR
    return ExitStatus.REJECTED if summary.failed else ExitStatus.OK

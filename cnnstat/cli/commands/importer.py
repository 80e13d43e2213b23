"""import: a readable spec from a PyTorch module (traced in a child process), proven by its
totals; ``verify SPEC --module TARGET`` proves it layer by layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cnnstat.cli.options import (
    kwargs_option,
    memory_limit,
    memory_limit_option,
    module_timeout_option,
    parse_input,
)
from cnnstat.cli.output import (
    check_output,
    echo_err,
    report_diagnostics,
    show_module_output,
    write_text,
)
from cnnstat.core.report import Shape

if TYPE_CHECKING:
    from cnnstat.torch_backend.importer import Imported


def _inputs_callback(ctx: click.Context, param: click.Parameter,
                     value: tuple[str, ...]) -> tuple[Shape, ...]:
    return tuple(parse_input(v) for v in value)


@click.command(name="import")
@click.argument("target", metavar="MODULE:FACTORY")
@click.option("--input", "inputs", multiple=True, metavar="CxHxW", callback=_inputs_callback,
              help="The input shape to trace at (one per argument of forward(), in order).")
@kwargs_option
@click.option("-o", "--output", metavar="FILE", help="Write the spec to FILE (default: stdout).")
@module_timeout_option
@memory_limit_option
def import_command(target: str, inputs: tuple[Shape, ...], factory_kwargs: str,
                   output: str | None, timeout: float | None) -> None:
    """A spec from a PyTorch module: traced with torch.fx in a child process, every call mapped
    to a spec kind, repeated blocks folded; its parameters and FLOPs are checked against the
    module's (numel, FlopCounterMode).  An operation with no spec kind is exit 1.

    \b
    cnnstat import mynets.py:make_resnet --input 3x224x224 -o resnet.yaml
    cnnstat verify resnet.yaml --module mynets.py:make_resnet
    """
    from cnnstat.torch_backend import require

    require("torch", load=False)
    check_output(output, files=module_files(target))
    imported = _run(target, inputs, factory_kwargs, timeout, output)
    if imported.report.diagnostics:
        report_diagnostics(list(imported.report.diagnostics), imported.loaded.source)
    if output is None:
        write_text(imported.text)
        return
    from cnnstat.analysis import outputs

    outputs.write_text(output, imported.text)
    t = imported.report.totals
    echo_err(f"cnnstat: import: wrote {output}: {len(imported.report.rows)} operations, "
             f"{t.params:,} params, {t.macs:,} MACs")


def module_files(target: str) -> list[str]:
    """The files that may hold the module of ``MODULE:FACTORY`` (found without importing
    anything): ``path/to/file.py``, or for ``pkg.mod`` the ``pkg/mod.py`` and
    ``pkg/mod/__init__.py`` under the working directory and every ``sys.path`` entry."""
    import os
    import sys

    where = target.rpartition(":")[0]
    if not where:
        return []
    if where.endswith(".py") or "/" in where or os.sep in where:
        return [where]
    relative = where.replace(".", os.sep)
    return [os.path.join(base or os.curdir, name) for base in (os.curdir, *sys.path)
            for name in (relative + ".py", os.path.join(relative, "__init__.py"))]


def _run(target: str, inputs: tuple[Shape, ...], kwargs: str, timeout: float | None,
         output: str | None) -> Imported:
    from cnnstat.torch_backend import importer, isolation

    isolation.split_target(target)
    try:
        imported = importer.run_import(target, inputs, kwargs,
                                       timeout or isolation.DEFAULT_TIMEOUT, output,
                                       memory=memory_limit())
    except importer.Failed as failed:
        show_module_output(target, failed.stdout, failed.stderr, "import")
        raise failed.error from None
    show_module_output(target, imported.stdout, imported.stderr, "import")
    if imported.note:
        echo_err(f"cnnstat: import: note: {imported.note}")
    return imported

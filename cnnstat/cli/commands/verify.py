"""verify: build specs as live PyTorch modules and prove the analytic numbers, layer by layer.

torch (and fvcore) are imported inside the command, never at CLI start-up; without them the
command exits 2 with the install hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from cnnstat import zoo
from cnnstat.analysis import cache
from cnnstat.cli.options import (
    data_options,
    kwargs_option,
    memory_limit,
    memory_limit_option,
    seconds_option,
)
from cnnstat.cli.output import analysed, echo_err, emit, progress
from cnnstat.core.counters import TOOLS
from cnnstat.core.report import Shape
from cnnstat.errors import ExitStatus, UsageError
from cnnstat.render.table import Table

COUNT_CHOICES = ("all", "torch", "fvcore", *(p.name for p in TOOLS))
#: the module each tool's live check imports (``require`` names it when it is missing)
TOOL_MODULES = {"torchinfo": "torchinfo", "thop": "thop", "ptflops": "ptflops",
                "ptflops-aten": "ptflops", "torchscan": "torchscan", "calflops": "calflops",
                "deepspeed": "deepspeed"}


@click.command()
@click.argument("specs", nargs=-1)
@click.option("--module", "impl", metavar="MODULE:FACTORY",
              help="Check your own nn.Module against the spec instead: pkg.mod:factory or "
              "path/to/file.py:factory (called with --kwargs, if given).")
@kwargs_option
@click.option("--count", "count", type=click.Choice(COUNT_CHOICES), default="all",
              show_default=True,
              help="FLOP counters to check: PyTorch FlopCounterMode against the 'torch' preset, "
              "fvcore FlopCountAnalysis against the 'fvcore' preset, both ('all'), or one "
              "other tool (torchinfo, thop, ptflops, ...) against its preset.")
@click.option("--device", type=click.Choice(["meta", "cpu"]), default="meta", show_default=True,
              help="Where to build the network: meta allocates nothing (fvcore always traces "
              "on CPU).")
@click.option("--receptive-field", "rf", is_flag=True,
              help="Also trace the corners and centre of the last spatial layer back through "
              "the live network (input-gradient support, positive weights) and compare with the "
              "analytic receptive field.  Runs real float64 tensors on the CPU.")
@seconds_option("--timeout", "timeout",
                help="With --module: seconds the module may take, from starting Python and "
                "torch to the end of its forward pass [default: 300].")
@memory_limit_option
@data_options
def verify(specs: tuple[str, ...], impl: str | None, factory_kwargs: str, count: str, device: str, rf: bool,
           timeout: float | None, fmt: str, input_shape: Shape | None, batch: int,
           overrides: dict[str, object], color: str) -> ExitStatus:
    """Build SPEC (default: the whole zoo) in PyTorch and compare every layer's output shape,
    parameters, buffers and FLOPs with the analytic numbers.  Exit 0 when all agree, 1 on any
    mismatch, 2 when PyTorch is missing, or when the --module could not be run (it exited,
    raised, hung past --timeout or patched torch)."""
    from cnnstat.torch_backend import require

    counters = ("torch", "fvcore") if count == "all" else (count,)
    if impl is None and factory_kwargs != "{}":
        raise UsageError("--kwargs applies to --module (the factory's keyword arguments)")
    if impl is None and timeout is not None:
        raise UsageError("--timeout applies to --module (the user's code runs in a child "
                         "process with a time limit)", "add --module MODULE:FACTORY, or drop "
                         "--timeout")
    with cache.bypassed():  # a gate: every figure it judges is computed here, none read back
        if impl is not None:
            require("torch", load=False)
            ok = _conformance(specs, impl, factory_kwargs, timeout, fmt, color, input_shape,
                              batch, overrides)
        else:
            require("torch", *(["fvcore"] if "fvcore" in counters else []),
                    *(TOOL_MODULES[c] for c in counters if c in TOOL_MODULES))
            ok = _verify(specs, counters, device, fmt, color, input_shape, batch, overrides, rf)
    return ExitStatus.OK if ok else ExitStatus.REJECTED


def _verify(specs: Sequence[str], counters: tuple[str, ...], device: str, fmt: str, color: str,
            input_shape: Shape | None, batch: int, overrides: dict[str, object],
            rf: bool) -> bool:
    from cnnstat.torch_backend.live import check_receptive_field
    from cnnstat.torch_backend.verify import verify_report
    from cnnstat.views import verify as verify_view

    names = list(specs) or zoo.names()
    results, fields = [], []
    with progress(len(names), show=not specs, doing="verifying",
                  done="verified") as advance:
        for name in names:
            report = analysed(name, input_shape, batch, overrides).report
            results.append(verify_report(report, counters, device))
            if rf:
                fields.append(check_receptive_field(report))
            advance(name)
    for r in results:
        if r.first_divergence is not None:
            lc = r.first_divergence
            echo_err(f"cnnstat: verify: {r.spec}: first divergent layer '{lc.name}' "
                     f"({', '.join(lc.diverging())})")
        elif not r.ok:
            echo_err(f"cnnstat: verify: {r.spec}: totals differ")
    checked = [c for c in fields if c is not None]
    for check in checked:
        if not check.ok:
            echo_err(f"cnnstat: verify: {check.spec}: the live receptive field of "
                     f"'{check.layer}' differs from the analytic one")

    def document() -> dict[str, Any]:
        doc = verify_view.verify_json(results)
        if rf:
            doc["receptive_field"] = [verify_view.field_check_json(c) for c in checked]
        return doc

    def tables() -> list[Table]:
        out = [verify_view.layer_table(r) for r in results] if len(results) == 1 else \
            [verify_view.overview_table(results),
             *(verify_view.layer_table(r) for r in results if not r.ok)]
        return out + ([verify_view.field_check_table(checked)] if rf else [])

    emit(fmt, color, document, tables)
    return all(r.ok for r in results) and all(c.ok for c in fields if c is not None)


def _conformance(specs: Sequence[str], impl: str, kwargs: str, timeout: float | None, fmt: str,
                 color: str, input_shape: Shape | None, batch: int,
                 overrides: dict[str, object]) -> bool:
    """The user's module is imported, built and run in a child process (torch_backend.isolation);
    what it printed is shown on stderr, never on stdout; a child that did not finish is exit 2."""
    from cnnstat.torch_backend import isolation
    from cnnstat.torch_backend.verify import run_module
    from cnnstat.views import verify as verify_view

    if len(specs) != 1:
        raise UsageError("--module compares one spec with one module; give exactly one SPEC")
    isolation.split_target(impl)  # a malformed target is refused before anything runs
    report = analysed(specs[0], input_shape, batch, overrides).report
    outcome = run_module(report, impl, timeout or isolation.DEFAULT_TIMEOUT, kwargs,
                         memory_limit())
    for stream, output in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        if output:
            echo_err(verify_view.module_output(impl, stream, output))
    if outcome.error is not None or outcome.result is None:
        raise outcome.error or UsageError(f"--module {impl!r}: no result")
    result = outcome.result
    if not result.ok:
        echo_err(f"cnnstat: verify: {result.spec} vs {impl}: "
                 f"{verify_view.conformance_notes(result)[0].lstrip(verify_view.BAD + ' ')}")
    emit(fmt, color, lambda: verify_view.conformance_json(result),
         lambda: [verify_view.conformance_table(result)])
    return result.ok

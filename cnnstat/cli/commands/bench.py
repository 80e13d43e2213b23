"""bench: time the built networks on the CPU or a GPU, against the analytic numbers.

torch is imported inside the command, never at CLI start-up; without it the command exits 2 with
the install hint.  ``--device cuda`` without CUDA exits 2 with the reason.
"""

from __future__ import annotations

import click

from cnnstat import zoo
from cnnstat.cli.options import (
    color_option,
    format_option,
    input_option,
    parse_batches,
    seconds_option,
    set_option,
    threads_option,
)
from cnnstat.cli.output import analysed, echo_err, emit, progress
from cnnstat.core.report import Shape
from cnnstat.errors import ExitStatus, UsageError
from cnnstat.torch_backend.bench import DEVICES, DTYPES, OOM, BenchRun, Options

DEFAULT_ITERS = 20


@click.command()
@click.argument("specs", nargs=-1)
@click.option("--device", type=click.Choice(DEVICES), default="cpu", show_default=True,
              help="Where to time the network.")
@click.option("--batch", "batch_text", metavar="N[,N...]",
              help="Batch size, or a comma-separated sweep such as 1,8,32,128  [default: 1]")
@click.option("--fit", is_flag=True,
              help="Find the largest batch that runs (doubling, then bisection) and time it.")
@click.option("--max-batch", type=click.IntRange(1), default=4096, show_default=True,
              help="Upper bound of the --fit search.")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Weights and inputs in this dtype (float16 on the CPU runs, slowly: warned).")
@click.option("--train", is_flag=True,
              help="Time forward + backward steps (training mode, no optimizer step).")
@click.option("--channels-last", is_flag=True, help="Weights and input in channels-last memory.")
@click.option("--compile", "compile_", is_flag=True,
              help="torch.compile the network (the first call, timed apart, compiles).")
@threads_option
@click.option("--warmup", type=click.IntRange(0), default=3, show_default=True,
              help="Untimed calls after the first call.")
@click.option("--iters", type=click.IntRange(1),
              help=f"Timed calls per batch  [default: {DEFAULT_ITERS}]")
@seconds_option("--time-budget",
                help="Instead of --iters: timed calls until SECONDS of wall time pass (at least 3).")
@click.option("--per-layer", is_flag=True,
              help="Also time every layer under hooks: time, arithmetic intensity, bound.")
@click.option("--no-probe", is_flag=True,
              help="Skip the matmul and copy probe (no fractions of peak).")
@format_option()
@input_option
@set_option
@color_option
def bench(specs: tuple[str, ...], device: str, batch_text: str | None, fit: bool,
          max_batch: int, dtype: str, train: bool, channels_last: bool, compile_: bool,
          threads: int | None, warmup: int, iters: int | None, time_budget: float | None,
          per_layer: bool, no_probe: bool, fmt: str, input_shape: Shape | None,
          overrides: dict[str, object], color: str) -> ExitStatus:
    """Time SPEC (default: the whole zoo) on a device: median latency with p10/p90 and IQR,
    images/s, achieved FLOP/s from the analytic FLOPs, fraction of the device's measured peak,
    device and analytic memory.

    \b
    cnnstat bench resnet18 --batch 1,8 --iters 10
    cnnstat bench resnet50 --device cuda --dtype bfloat16 --batch 64 --time-budget 3
    cnnstat bench mobilenet-v2 --per-layer
    cnnstat bench vgg16 --fit --max-batch 512
    """
    from cnnstat.torch_backend import require

    opts = _options(device, batch_text, fit, max_batch, dtype, train, channels_last, compile_,
                    threads, warmup, iters, time_budget, per_layer, no_probe)
    require("torch")
    from cnnstat.torch_backend.bench import bencher as make_bencher
    from cnnstat.views import bench as bench_view

    bencher = make_bencher(opts)
    if dtype == "float16" and device == "cpu":
        echo_err("cnnstat: warning: float16 on cpu: many PyTorch CPU kernels take slow paths "
                 "for float16; the timings are real but seldom representative")
    names = list(specs) or zoo.names()
    probe = bencher.probe()
    results = []
    with progress(len(names), show=not specs, doing="timing", done="timed") as advance:
        for name in names:
            report = analysed(name, input_shape, 1, overrides).report
            results.append(bencher.run(report, probe))
            advance(name)
    run = BenchRun(bencher.environment(), opts, probe, tuple(results))
    for s in run.specs:
        for r in s.results:
            if r.status == OOM:
                echo_err(f"cnnstat: bench: {s.spec}: batch {r.batch}: out of memory ({r.error})")
    emit(fmt, color, lambda: bench_view.document(run), lambda: bench_view.tables(run))
    if not run.measured:
        echo_err("cnnstat: error: nothing could be timed (every batch ran out of memory)")
        return ExitStatus.ERROR
    return ExitStatus.OK


def _options(device: str, batch_text: str | None, fit: bool, max_batch: int, dtype: str,
             train: bool, channels_last: bool, compile_: bool, threads: int | None, warmup: int,
             iters: int | None, time_budget: float | None, per_layer: bool,
             no_probe: bool) -> Options:
    if iters is not None and time_budget is not None:
        raise UsageError("--iters and --time-budget both set the number of timed calls",
                         "give one of them")
    if fit and batch_text is not None:
        raise UsageError("--fit searches for the batch size itself; it cannot take --batch",
                         "bound the search with --max-batch")
    try:
        batches = tuple(parse_batches("1" if batch_text is None else batch_text))
    except ValueError as exc:
        raise UsageError(f"--batch: {exc}") from None
    return Options(device, dtype, batches, warmup, iters or DEFAULT_ITERS, time_budget, train,
                   channels_last, compile_, threads, per_layer, not no_probe, fit, max_batch)

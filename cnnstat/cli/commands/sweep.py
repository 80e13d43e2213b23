"""sweep and merge: many configurations of one spec, analysed exactly, with budgets, the Pareto
front, worker processes, a results file that survives an interruption, and shards."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cnnstat import __version__
from cnnstat.analysis.pareto import Budget, Objective
from cnnstat.analysis.sweep import (
    MAX_CONFIGS,
    Evaluator,
    Row,
    grid,
    sample,
    shard,
    shard_size,
)
from cnnstat.cli.options import (
    color_option,
    dtype_option,
    format_option,
    jobs_option,
    no_rf_option,
    parse_budget,
    parse_input,
    parse_objective,
    parse_shard,
    parse_vary,
    set_option,
)
from cnnstat.cli.output import check_output, echo_err, emit, progress
from cnnstat.core.memory import DTYPE_BYTES
from cnnstat.errors import ExitStatus, UsageError

DEFAULT_OBJECTIVES: tuple[str, ...] = ()  # a front needs objectives the user chooses


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler's pre-emption, ``kill``) stops the sweep as Ctrl-C does: the worker
    processes are stopped and every finished row is already in the results file."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def budgets_of(texts: Sequence[str]) -> list[Budget]:
    return [Budget(*parse_budget(t), text=t) for t in texts]


def objectives_of(texts: Sequence[str]) -> list[Objective]:
    return [Objective(*parse_objective(t)) for t in (texts or DEFAULT_OBJECTIVES)]


def _show(fmt: str, color: str, head: dict[str, Any], rows: list[Row], budgets: list[Budget],
          objectives: list[Objective]) -> None:
    from cnnstat.views import sweep as view

    dtype_bytes = DTYPE_BYTES[head.get("dtype", "float32")]
    shown = view.marked(rows, budgets, objectives, dtype_bytes)
    emit(fmt, color, lambda: view.document(head, shown, budgets, objectives),
         lambda: [view.table(head, shown, budgets, objectives)])


@click.command()
@click.argument("spec")
@click.option("--vary", "vary_texts", multiple=True, metavar="NAME=V1,V2,...",
              help="A spec parameter and its values (repeatable: the cartesian product).")
@click.option("--input", "input_texts", multiple=True, metavar="CxHxW",
              help="An input size (repeatable: one more axis of the product).")
@click.option("--random", "random_n", type=click.IntRange(1), metavar="N",
              help="N configurations drawn from the product instead of all of it (one run "
              "analyses at most 1,000,000: more is refused up front).")
@click.option("--seed", type=int, default=0, show_default=True, help="The seed of --random.")
@click.option("--budget", "budget_texts", multiple=True, metavar="METRIC<=LIMIT",
              help="macs<=2G, params<=10M, memory<=4GiB@batch32 (repeatable).")
@click.option("--objective", "objective_texts", multiple=True, metavar="[max:]METRIC",
              help="A Pareto objective, minimised unless max: (repeatable; none: no front).")
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
              help="The batch of the memory column (memory budgets may name their own).")
@dtype_option("Bytes per element of the memory column.")
@no_rf_option
@jobs_option
@click.option("--out", "out_text", metavar="FILE",
              help="Stream rows to this JSON-lines file as they finish (locked while it runs).")
@click.option("--resume", is_flag=True, help="Skip the configurations already in --out.")
@click.option("--shard", "shard_text", metavar="I/N", help="Run shard I of N (0-based).")
@click.option("--bench", "bench_front", is_flag=True, help="Also time the Pareto front.")
@click.option("--bench-all", is_flag=True, help="Also time every configuration in budget.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "mps"]), default="cpu",
              show_default=True, help="Where --bench times.")
@set_option
@format_option()
@color_option
def sweep(spec: str, vary_texts: tuple[str, ...], input_texts: tuple[str, ...],
          random_n: int | None, seed: int, budget_texts: tuple[str, ...],
          objective_texts: tuple[str, ...], batch: int, dtype: str, no_rf: bool,
          jobs: int | None, out_text: str | None, resume: bool, shard_text: str | None,
          bench_front: bool, bench_all: bool, device: str, overrides: dict[str, object],
          fmt: str, color: str) -> ExitStatus:
    """Analyse every configuration of SPEC: the product of the --vary values and --input sizes.

    \b
    cnnstat sweep resnet50 --vary width=0.5,0.75,1 --vary depth=0.5,1 --input 3x160x160
    cnnstat sweep efficientnet --vary width=1,1.1,1.2 --budget macs<=1G --objective max:rf
    cnnstat sweep resnet50 --vary width=0.5,1,2 --out run.jsonl --shard 0/4
    """
    from cnnstat.analysis import sweep_run

    if resume and out_text is None:
        raise UsageError("--resume continues a results file", "give it with --out FILE")
    check_output(out_text, specs=[spec], option="--out")
    out = Path(out_text) if out_text is not None else None
    vary = [parse_vary(t) for t in vary_texts]
    if len({n for n, _ in vary}) != len(vary):
        raise UsageError("--vary: a parameter is varied twice", "give each parameter once")
    clash = sorted({n for n, _ in vary} & set(overrides))
    if clash:
        raise UsageError(f"--set {clash[0]} and --vary {clash[0]}: a parameter is either fixed "
                         "or varied")
    inputs: list[tuple[int, ...] | None] = [parse_input(t) for t in input_texts] or [None]
    parts = parse_shard(shard_text) if shard_text is not None else None
    budgets, objectives = budgets_of(budget_texts), objectives_of(objective_texts)
    space = grid(vary, inputs)
    total = bounded(space.size, random_n, parts)
    chosen = sample(vary, inputs, random_n, seed) if random_n else space
    fixed = tuple(overrides.items())
    configs = [type(c)(c.index, fixed + c.set, c.input)
               for c in (shard(chosen, *parts) if parts else chosen)]
    evaluate = Evaluator(spec, batch=batch, dtype_bytes=DTYPE_BYTES[dtype], rf=not no_rf)
    head = {"spec": spec, "digest": evaluate.digest(), "cnnstat": __version__,
            "vary": [[n, vs] for n, vs in vary],
            "set": dict(overrides), "inputs": [list(s) if s else None for s in inputs],
            "random": random_n, "seed": seed if random_n else None, "batch": batch,
            "dtype": dtype, "rf": not no_rf, "total": total, "shard": shard_text}
    workers = jobs or default_jobs()
    with terminated_as_interrupt(), \
            progress(len(configs), show=True, doing="analysing", done="analysed") as advance:
        rows = sweep_run.run(evaluate, configs, head, jobs=workers, out=out, resume=resume,
                             advance=lambda: advance(""))
    if bench_front or bench_all:
        _bench(spec, rows, budgets, objectives, device, bench_all, DTYPE_BYTES[dtype])
    _show(fmt, color, head, rows, budgets, objectives)
    failed = sum(1 for r in rows if r.get("error"))
    if failed:
        echo_err(f"cnnstat: sweep: {failed} of {len(rows)} configurations rejected by the spec "
                 "(see the error column)")
    return ExitStatus.OK


def bounded(size: int, random_n: int | None, parts: tuple[int, int] | None) -> int:
    """The sweep's number of configurations (the grid's ``size``, or the ``--random`` draw),
    refused up front, with the count and a way out, when one run would analyse more than
    :data:`~cnnstat.analysis.sweep.MAX_CONFIGS` of them (a draw is made whole before sharding,
    so it is bounded itself)."""
    total = min(random_n, size) if random_n else size
    run = shard_size(total, *parts) if parts else total
    if random_n and total > MAX_CONFIGS:
        raise UsageError(f"--random {random_n:,}: more than {MAX_CONFIGS:,} configurations "
                         f"(the grid has {size:,})",
                         f"draw at most {MAX_CONFIGS:,}; run more draws with other --seed values")
    if run > MAX_CONFIGS:
        what = f" (shard {parts[0]}/{parts[1]}: {run:,})" if parts else ""
        least = -(-total // MAX_CONFIGS)
        raise UsageError(f"the sweep has {total:,} configurations{what}, more than "
                         f"{MAX_CONFIGS:,} in one run",
                         f"sample it with --random N, or split it with --shard I/N for N of "
                         f"{least:,} or more")
    return total


def _bench(spec: str, rows: list[Row], budgets: list[Budget], objectives: list[Objective],
           device: str, every: bool, dtype_bytes: int) -> None:
    """Time the front (or every row within the budgets) through ``cnnstat bench``'s timer: the
    median latency at batch 1 goes into the row as ``latency_ms``."""
    from cnnstat import analysis
    from cnnstat.torch_backend import require
    from cnnstat.views import sweep as view

    require("torch")
    from cnnstat.torch_backend.bench import Options, bencher as make_bencher

    bencher = make_bencher(Options(device=device, probe=False))
    shown = view.marked(rows, budgets, objectives, dtype_bytes)
    chosen = [r for r in shown if (r["within"] if every else r["pareto"])]
    by_index = {int(r["index"]): r for r in rows}
    with progress(len(chosen), show=True, doing="timing", done="timed") as advance:
        for r in chosen:
            input_shape = tuple(r["input"]) if r.get("input") else None
            report = analysis.analyze(spec, input=input_shape, set=r["set"])
            result = bencher.run(report).results[0]
            if result.latency is not None:
                by_index[int(r["index"])]["latency_ms"] = result.latency.median * 1000
            advance("")


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--budget", "budget_texts", multiple=True, metavar="METRIC<=LIMIT",
              help="As sweep's --budget.")
@click.option("--objective", "objective_texts", multiple=True, metavar="[max:]METRIC",
              help="As sweep's --objective.")
@format_option()
@color_option
def merge(files: tuple[Path, ...], budget_texts: tuple[str, ...],
          objective_texts: tuple[str, ...], fmt: str, color: str) -> ExitStatus:
    """Join the results files of a sweep's shards (sweep --shard I/N --out FILE) into the
    result one run would give.

    \b
    cnnstat merge shard-*.jsonl --budget macs<=2G --format json
    """
    from cnnstat.analysis import sweep_run

    budgets, objectives = budgets_of(budget_texts), objectives_of(objective_texts)
    head, rows = sweep_run.merge(list(files))
    missing = int(head.get("total", len(rows))) - len(rows)
    if missing:
        echo_err(f"cnnstat: merge: {missing} of {head.get('total')} configurations are in no "
                 "file (a shard missing or unfinished)")
    _show(fmt, color, head, rows, budgets, objectives)
    return ExitStatus.OK

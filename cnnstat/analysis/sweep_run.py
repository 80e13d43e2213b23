"""Running a sweep: worker processes, rows streamed to a results file, resume, merge.

The results file (:mod:`cnnstat.analysis.sweep_file`) is JSON lines: a header (the spec's
digest, cnnstat's version, what varies, the batch and dtype, the shard) then one row per
finished configuration, each line flushed as it is written, so a sweep that is interrupted
(Ctrl-C, SIGTERM, a node that goes away) keeps every row it finished.  ``resume`` reads the file
back, drops a last line cut short, refuses a header that differs from this run's in anything a
number depends on (naming what), and skips every configuration already there.  Rows come back in
the order of the configurations whatever the number of processes (``Pool.imap``), so a run is
deterministic.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from cnnstat.analysis import outputs
from cnnstat.analysis.sweep import MAX_CONFIGS, Config, Evaluator, Row, Source
from cnnstat.analysis.sweep_file import FORMAT, differences, read
from cnnstat.errors import UsageError

_WORKER: Evaluator | None = None
PROBE_S = 0.25
"""Seconds this process analyses configurations itself before it decides on workers."""
PARALLEL_S = 2.0
"""Workers are started only for more work than this (seconds on one core, estimated)."""
WORKER_S = 1.0
"""Seconds of work, at least, for each worker started."""


def _init(source: Source, batch: int, dtype_bytes: int, rf: bool, parent: int) -> None:
    """A worker: the parent handles Ctrl-C and stops the pool (with SIGTERM, which ends a
    worker quietly whatever handler the parent had); the worker ends with its parent and
    analyses the spec the parent read."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_with(parent)
    _WORKER = Evaluator(source, batch=batch, dtype_bytes=dtype_bytes, rf=rf)


def _end_with(parent: int) -> None:
    """A parent killed outright (SIGKILL: no time to stop its pool) takes its workers with it,
    quietly: Linux sends them SIGTERM (the parent-death signal), instead of leaving them to
    finish a task and fail to send it (a BrokenPipeError traceback on the terminal, after
    the sweep is gone).  Elsewhere a worker ends when it next talks to the parent."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError, TypeError):
        return
    if os.getppid() != parent:  # the parent was gone before the signal was asked for
        os._exit(0)


def _work(config: Config) -> Row:
    assert _WORKER is not None
    return _WORKER(config)


def workers_for(left: int, seconds: float, jobs: int, idle: float | None = None) -> int:
    """How many processes analyse ``left`` configurations estimated at ``seconds`` on one core:
    one (this process) unless the work is more than :data:`PARALLEL_S`; else at most ``jobs``,
    never more than the configurations, no more than one per :data:`WORKER_S` of work, and no
    more than the cores that are idle (``idle``: the usable cores less the load average).
    Measured on a shared 2-core machine (benchmarks/sweep_jobs.md): starting a worker costs 0.1
    to 0.3 s and each warms its own caches of block expansions, so two workers were slower than
    one below about 2 s of work, and slower at any size while other work kept the cores busy
    (200 EfficientNet widths: 0.6 s in one process, 1.0 s in two, at a load of 2.2)."""
    if left <= 1 or seconds < PARALLEL_S:
        return 1
    cores = max(1, int((idle_cores() if idle is None else idle) + 0.5))
    return max(1, min(jobs, left, int(seconds / WORKER_S), cores))


def idle_cores() -> float:
    """The cores this process may use less the 1-minute load average (all of them where the
    system has no load average)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    try:
        return usable - os.getloadavg()[0]
    except OSError:  # no load average (Windows)
        return float(usable)


def rows(evaluate: Evaluator, configs: Sequence[Config], *, jobs: int,
         ordered: bool = True) -> Iterator[Row]:
    """The row of each configuration, in order, from up to ``jobs`` processes.  This process
    analyses the first configurations itself for :data:`PROBE_S` seconds; from their pace it
    estimates the rest and starts :func:`workers_for` workers, or goes on alone.
    ``ordered=False`` lets the processes take the configurations grouped by their parameters
    (:func:`grouped`) in runs of about 1/(8 x jobs) of the sweep, and yields rows in that
    order; each row carries its ``index``."""
    if not ordered:
        configs = grouped(configs)
    done, start, first = 0, time.perf_counter(), 0.0
    while done < len(configs) and time.perf_counter() - start < PROBE_S:
        yield evaluate(configs[done])
        done += 1
        first = first or time.perf_counter() - start  # the first pays for cold caches
    left = len(configs) - done
    spent = time.perf_counter() - start
    pace = (spent - first) / (done - 1) if done > 1 else spent
    workers = workers_for(left, pace * left, jobs)
    if workers <= 1:
        yield from (evaluate(c) for c in configs[done:])
        return
    yield from _pool(evaluate, configs[done:], workers, ordered)


def _pool(evaluate: Evaluator, configs: Sequence[Config], jobs: int,
          ordered: bool) -> Iterator[Row]:
    import multiprocessing

    chunk = max(1, min(8, len(configs) // (jobs * 8)))
    if not ordered:
        chunk = max(1, -(-len(configs) // (jobs * 8)))
    pool = multiprocessing.get_context().Pool(
        jobs, _init, (evaluate.source, evaluate.batch, evaluate.dtype_bytes, evaluate.rf,
                      os.getpid()))
    try:
        yield from pool.imap(_work, configs, chunksize=chunk)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def grouped(configs: Sequence[Config]) -> list[Config]:
    """The configurations with each parameter set's input sizes together, the sets in the order
    first met (a grid's: the first ``--vary`` parameter slowest).  A process that takes a run of
    them expands each network once for all its input sizes and meets few values of the slow
    parameters, whose block expansions and walks it reuses.  (Sorted by name instead, the sets
    of a width x depth sweep of ResNet-50 put every width in every run: two evaluators taking
    alternate runs then needed 20 to 30% more CPU time than one, against 9% in this order.)"""
    first: dict[str, int] = {}
    keys = [first.setdefault(json.dumps(dict(c.set), sort_keys=True), len(first))
            for c in configs]
    return [c for _, c in sorted(zip(keys, configs), key=lambda kc: kc[0])]


class Stream:
    """The results file being written: a header, then a line per row, each flushed.  It is
    opened without following a symbolic link and locked (``outputs.open_locked``) before it is
    read or emptied, so a second sweep on the same file is refused instead of mixing lines."""

    def __init__(self, path: Path, header: dict[str, Any], resume: bool) -> None:
        self.path = path
        self.done: dict[str, Row] = {}
        self.fh: IO[str] = outputs.open_locked(path, option="--out")
        try:
            self._start(header, resume)
        except BaseException:
            self.fh.close()
            raise

    def _start(self, header: dict[str, Any], resume: bool) -> None:
        size = os.fstat(self.fh.fileno()).st_size
        if resume and size:
            old, rows_, good = read(self.path)
            changed = differences(old, header)
            if old.get("shard") != header.get("shard"):
                changed.append(f"--shard ({old.get('shard')} then, {header.get('shard')} now)")
            if changed:
                raise UsageError(f"{self.path}: holds a different sweep, so its rows cannot be "
                                 f"reused: {'; '.join(changed)}",
                                 "resume with the same spec and options, or write a new --out")
            self.done = {r["key"]: r for r in rows_}
            if good < size:  # a line cut short: keep only whole lines
                self.fh.truncate(good)
            self.fh.seek(0, os.SEEK_END)
        else:
            self.fh.truncate(0)
            self.write(header)

    def write(self, item: dict[str, Any]) -> None:
        self.fh.write(json.dumps(item, sort_keys=True) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


def run(evaluate: Evaluator, configs: Sequence[Config], header: dict[str, Any], *, jobs: int,
        out: Path | None = None, resume: bool = False,
        advance: Callable[[], Any] = lambda: None) -> list[Row]:
    """Every configuration's row, in order: those in ``out`` already (``resume``) are read, the
    others analysed and appended to ``out`` as they finish.  ``header`` carries the spec's
    digest (``evaluate.digest()``), cnnstat's version and the options."""
    stream = Stream(out, {"format": FORMAT, **header}, resume) if out is not None else None
    done = stream.done if stream is not None else {}
    todo = [c for c in configs if c.key() not in done]
    for _ in range(len(configs) - len(todo)):
        advance()
    fresh: dict[str, Row] = {}
    try:
        for row in rows(evaluate, todo, jobs=jobs, ordered=False):
            fresh[row["key"]] = row
            if stream is not None:
                stream.write(row)
            advance()
    finally:
        if stream is not None:
            stream.close()
    return [{**(fresh.get(c.key()) or done[c.key()]), "index": c.index} for c in configs]


def merge(paths: Sequence[Path]) -> tuple[dict[str, Any], list[Row]]:
    """The shards' rows as one sweep: the headers must describe the same sweep (the same spec,
    by its digest, the same cnnstat and options), every configuration is kept once, in the
    order of the whole sweep; two files that disagree on one are refused."""
    if not paths:
        raise UsageError("merge: no results files given", "e.g. cnnstat merge shard-*.jsonl")
    header: dict[str, Any] | None = None
    by_key: dict[str, Row] = {}
    for path in paths:
        head, items, _ = read(path)
        if header is None:
            header = head
        elif changed := differences(header, head, (f"in {paths[0]}", f"in {path}")):
            raise UsageError(f"{path}: a different sweep from {paths[0]}: {'; '.join(changed)}",
                             "merge the shards of one sweep, run with the same spec and options")
        for row in items:
            seen = by_key.setdefault(row["key"], row)
            if seen != row:
                raise UsageError(f"{path}: configuration {row['key']} has other figures than in "
                                 "an earlier file", "merge the shards of one sweep")
        if len(by_key) > MAX_CONFIGS:
            raise UsageError(f"merge: more than {MAX_CONFIGS:,} configurations",
                             "merge fewer files at a time")
    assert header is not None
    merged = sorted(by_key.values(), key=lambda r: int(r["index"]))
    clash = next((a for a, b in zip(merged, merged[1:]) if a["index"] == b["index"]), None)
    if clash is not None:
        raise UsageError(f"merge: two configurations are numbered {clash['index']}",
                         "merge the shards of one sweep")
    return {**header, "shard": None}, merged

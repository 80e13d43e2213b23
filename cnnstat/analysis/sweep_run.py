"""Running a sweep: worker processes, rows streamed to a results file, resume, merge.

The results file is JSON lines: a header (the spec, what varies, the batch and dtype, the shard)
then one row per finished configuration, each line flushed as it is written, so a sweep that is
interrupted (Ctrl-C, SIGTERM, a node that goes away) keeps every row it finished.  ``resume``
reads the file back, drops a last line cut short, checks that the header is the same sweep, and
skips every configuration already there.  Rows come back in the order of the configurations
whatever the number of processes (``Pool.imap``), so a run is deterministic.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from cnnstat.analysis import outputs
from cnnstat.analysis.sweep import Config, Evaluator, Row
from cnnstat.errors import UsageError

FORMAT = "cnnstat-sweep/1"
_WORKER: Evaluator | None = None


def _init(spec: str, batch: int, dtype_bytes: int, rf: bool) -> None:
    """A worker: the parent handles Ctrl-C and stops the pool (with SIGTERM, which ends a
    worker quietly whatever handler the parent had); the worker reads the spec once."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER = Evaluator(spec, batch=batch, dtype_bytes=dtype_bytes, rf=rf)


def _work(config: Config) -> Row:
    assert _WORKER is not None
    return _WORKER(config)


def rows(spec: str, configs: Sequence[Config], *, jobs: int, batch: int = 1,
         dtype_bytes: int = 4, rf: bool = True, ordered: bool = True) -> Iterator[Row]:
    """The row of each configuration, in order, from ``jobs`` processes (1: this process).
    ``ordered=False`` lets the processes take the configurations grouped by their parameters
    (:func:`grouped`) in runs of about 1/(8 x jobs) of the sweep, and yields rows in that
    order; each row carries its ``index``."""
    if jobs <= 1 or len(configs) <= 1:
        evaluate = Evaluator(spec, batch=batch, dtype_bytes=dtype_bytes, rf=rf)
        yield from (evaluate(c) for c in configs)
        return
    import multiprocessing

    chunk = max(1, min(8, len(configs) // (jobs * 8)))
    if not ordered:
        configs = grouped(configs)
        chunk = max(1, -(-len(configs) // (jobs * 8)))
    pool = multiprocessing.get_context().Pool(jobs, _init, (spec, batch, dtype_bytes, rf))
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


def read(path: Path) -> tuple[dict[str, Any], list[Row], int]:
    """(header, rows, length of the good part in bytes) of a results file; a last line cut
    short by an interruption is left out."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    header: dict[str, Any] | None = None
    out: list[Row] = []
    good = 0
    for line in data.splitlines(keepends=True):
        try:
            item = json.loads(line)
        except ValueError:
            break
        if not line.endswith(b"\n") or not isinstance(item, dict):
            break
        if header is None:
            if item.get("format") != FORMAT:
                raise UsageError(f"{path}: not a cnnstat sweep results file",
                                 "give a file written by 'cnnstat sweep --out'")
            header = item
        else:
            out.append(item)
        good += len(line)
    if header is None:
        raise UsageError(f"{path}: no header line", "give a file written by 'cnnstat sweep --out'")
    return header, out, good


def same_sweep(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two headers describe the same sweep (the shard aside)."""
    keys = ("spec", "vary", "set", "inputs", "random", "seed", "batch", "dtype", "rf", "total")
    return all(a.get(k) == b.get(k) for k in keys)


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
            if not same_sweep(old, header) or old.get("shard") != header.get("shard"):
                raise UsageError(f"{self.path}: holds a different sweep (its header differs)",
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


def run(spec: str, configs: Sequence[Config], header: dict[str, Any], *, jobs: int,
        out: Path | None = None, resume: bool = False, advance: Callable[[], Any] = lambda: None,
        batch: int = 1, dtype_bytes: int = 4, rf: bool = True) -> list[Row]:
    """Every configuration's row, in order: those in ``out`` already (``resume``) are read, the
    others analysed and appended to ``out`` as they finish."""
    stream = Stream(out, {"format": FORMAT, **header}, resume) if out is not None else None
    done = stream.done if stream is not None else {}
    todo = [c for c in configs if c.key() not in done]
    for _ in range(len(configs) - len(todo)):
        advance()
    fresh: dict[str, Row] = {}
    try:
        for row in rows(spec, todo, jobs=jobs, batch=batch, dtype_bytes=dtype_bytes, rf=rf,
                        ordered=False):
            fresh[row["key"]] = row
            if stream is not None:
                stream.write(row)
            advance()
    finally:
        if stream is not None:
            stream.close()
    return [{**(fresh.get(c.key()) or done[c.key()]), "index": c.index} for c in configs]


def merge(paths: Sequence[Path]) -> tuple[dict[str, Any], list[Row]]:
    """The shards' rows as one sweep: the headers must describe the same sweep, every row is
    kept once (by configuration), in the order of the whole sweep."""
    if not paths:
        raise UsageError("merge: no results files given", "e.g. cnnstat merge shard-*.jsonl")
    header: dict[str, Any] | None = None
    by_key: dict[str, Row] = {}
    for path in paths:
        head, items, _ = read(path)
        if header is None:
            header = head
        elif not same_sweep(header, head):
            raise UsageError(f"{path}: a different sweep from {paths[0]} (its header differs)",
                             "merge the shards of one sweep")
        for row in items:
            by_key.setdefault(row["key"], row)
    assert header is not None
    merged = sorted(by_key.values(), key=lambda r: int(r["index"]))
    return {**header, "shard": None}, merged

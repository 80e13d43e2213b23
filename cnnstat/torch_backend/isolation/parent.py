"""The user's code at arm's length, for ``verify --module`` and ``cnnstat import``: the user's
module is imported, built and run in a child process, never in cnnstat's own.

Whatever the user's code does -- ``sys.exit(0)``, ``os._exit(0)``, printing to stdout, patching
torch, raising, hanging -- it does in the child.  The child
(:mod:`cnnstat.torch_backend.isolation.child`) gets its request (the task to run, the analysed
report, the target) on stdin and writes its measurement, or a description of what went wrong, as JSON to a
file in a private temporary directory; its stdout and stderr are captured (head and tail kept)
for the caller to show.  The caller (``verify --module``: :mod:`cnnstat.torch_backend.verify.module`;
``import``: :mod:`cnnstat.torch_backend.importer.run`) names the task the child runs and judges
what it wrote, and only a complete result of a child that exited normally counts: a child that
exited early, was killed, timed out or wrote nothing is a failure that says where it happened.
The child's address space is limited (``--memory-limit``, :data:`DEFAULT_MEMORY`): a module
that needs more is "out of memory" (exit 2), not a machine brought down; and nothing the module
starts outlives the command (:mod:`~cnnstat.torch_backend.isolation.reaper`).
This module imports no torch: the child does.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cnnstat.core.report import Report
from cnnstat.errors import UsageError
from cnnstat.render.escape import escape_controls
from cnnstat.torch_backend.isolation import reaper

DEFAULT_TIMEOUT = 300.0  # seconds, for the whole child: starting Python and torch included
DEFAULT_MEMORY = 16 * 2**30  # bytes of address space (RLIMIT_AS) for the child: --memory-limit
KEEP = 2048  # bytes of each captured stream kept from its start, and as many from its end
MESSAGE_LIMIT = 1000  # characters of a message written by the child
_READER_GRACE = 5.0  # seconds to wait for the capture threads once the child is gone
_BOOT = ("import sys; sys.path[0] = {root!r}; "
         "from cnnstat.torch_backend.isolation import child, reaper; "
         "reaper.supervise({memory!r}, child.main)")


def split_target(target: str) -> tuple[str, str]:
    """``package.module:factory`` or ``path/to/file.py:factory`` -> (where, factory)."""
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise UsageError(f"--module {target!r}: expected MODULE:FACTORY",
                         "e.g. --module mypkg.nets:make_vgg or --module nets.py:make_vgg")
    return where, attr


def is_path(where: str) -> bool:
    return where.endswith(".py") or "/" in where or "\\" in where


@dataclass(frozen=True)
class Request:
    """What the child needs: plain data, pickled by the parent (the child trusts its parent,
    the parent never unpickles what the child wrote)."""

    report: Report | None
    target: str
    sys_path: tuple[str, ...]
    result_path: str
    stage_path: str
    task: str  # the module the child runs: a :class:`~cnnstat.torch_backend.isolation.child.Task`
    kwargs: str = "{}"  # the factory's keyword arguments, as JSON text
    inputs: tuple[tuple[int, ...], ...] = ()  # "import": the input shapes, batch excluded


@dataclass(frozen=True)
class Captured:
    """One output stream of the child: its first and last bytes and how many were left out."""

    head: bytes = b""
    tail: bytes = b""
    left_out: int = 0

    def __bool__(self) -> bool:
        return bool(self.head or self.tail)


# Where the child was (the name it last wrote to its stage file), as said in a message.
def _stage_phrase(stage: str, where: str, attr: str) -> str:
    return {"import": f"while importing {where}", "factory": f"in {attr}()",
            "forward": "in forward()", "trace": "while tracing forward()",
            "done": "after the measurement"}.get(
                stage, "before the module was imported")


def run_child(target: str, timeout: float, task: str, *, report: Report | None = None,
              kwargs: str = "{}", inputs: tuple[tuple[int, ...], ...] = (),
              memory: int | None = DEFAULT_MEMORY) -> tuple[
                  dict[str, Any] | None, UsageError | None, Captured, Captured]:
    """Run ``task`` (a module of cnnstat's that the child imports, see
    :class:`~cnnstat.torch_backend.isolation.child.Task`) on ``target`` in a child process
    limited to ``memory`` bytes of address space: the JSON document it wrote (None when there
    is none, with the error saying why) and what it printed."""
    where, attr = split_target(target)
    if is_path(where) and not Path(where).is_file():
        raise UsageError(f"--module: no such file: {where}")
    work = Path(tempfile.mkdtemp(prefix=f"cnnstat-{task.rpartition('.')[2]}-"))
    try:
        request = Request(report, target, tuple(sys.path), str(work / "result.json"),
                          str(work / "stage"), task, kwargs, inputs)
        child = _Child(pickle.dumps(request), memory)
        timed_out = child.wait(timeout)
        stage = _read_stage(request.stage_path)
        phrase = _stage_phrase(stage, where, attr)
        if timed_out:
            late = UsageError(
                f"--module {target!r}: timed out after {timeout:g} s {phrase}; nothing was "
                "checked", "if the module is just slow, give it longer with --timeout SECONDS")
            return None, late, *child.output()
        doc, error = _document(target, request.result_path, child.returncode, phrase)
        return doc, _out_of_memory(error, memory, child.returncode), *child.output()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _document(target: str, result_path: str, returncode: int,
              phrase: str) -> tuple[dict[str, Any] | None, UsageError | None]:
    doc = _read_result(result_path)
    if returncode != 0 or doc is None:
        return None, UsageError(f"--module {target!r}: {_ended(returncode, phrase, doc)}; "
                                "nothing was checked", _ended_hint(returncode))
    failure = doc.get("failure")
    if isinstance(failure, dict):
        hint = failure.get("hint")
        return None, UsageError(plain(failure.get("message")), plain(hint) if hint else None)
    return doc, None


_MEMORY_WORDS = re.compile(r"out of memory|MemoryError|[Cc]annot allocate memory|can't allocate "
                           r"memory|failed to map segment|bad_alloc")


def _out_of_memory(error: UsageError | None, memory: int | None,
                   returncode: int) -> UsageError | None:
    """A failure that reads as running out of the --memory-limit says so: "out of memory",
    with the limit and how to raise it.  (A process killed by a signal may have run out too;
    its hint says so.)"""
    if error is None or memory is None:
        return error
    limit = f"{memory / 2**30:g} GiB"
    raise_it = (f"the module's process may use {limit} of address space; give it more with "
                "--memory-limit GIB (or none), or use a smaller --input or --batch")
    text = str(error)
    if returncode < 0 and returncode != -signal.SIGTERM:
        return UsageError(text, f"{error.hint + '; ' if error.hint else ''}if it ran out of "
                          f"memory: {raise_it}")
    if not _MEMORY_WORDS.search(text):
        return error
    if "out of memory" not in text:
        text = text.replace(": ", f": out of memory (--memory-limit {limit}): ", 1)
    return UsageError(text, raise_it)


def _ended(returncode: int, phrase: str, doc: object) -> str:
    who = "the process running the module"
    if returncode < 0:
        return f"{who} was killed by {_signal_name(-returncode)} {phrase}"
    if doc is not None:
        return f"{who} exited with status {returncode} {phrase}"
    return (f"{who} exited with status {returncode} {phrase}, before it had a result "
            "(os._exit, or a crash)")


def _ended_hint(returncode: int) -> str | None:
    if returncode == -getattr(signal, "SIGKILL", 9):
        return "a process is killed like this when the system runs out of memory"
    return None


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


def plain(value: object) -> str:
    """Text the child wrote: a string, control characters escaped, not too long."""
    text = escape_controls(value if isinstance(value, str) else repr(value))
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "..."


def _read_stage(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return "start"


def _read_result(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except (OSError, ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


class _Child:
    """The child process, its request written to its stdin and its output drained by threads
    (so a child that prints without end neither blocks nor fills our memory)."""

    def __init__(self, request: bytes, memory: int | None) -> None:
        if not sys.executable:
            raise UsageError("--module: cannot find the Python interpreter to run the module in")
        root = str(Path(__file__).resolve().parents[3])
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT.format(root=root, memory=memory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr  # PIPE gives all three
        self.streams = (_Drain(self.proc.stdout), _Drain(self.proc.stderr))
        self.threads = [threading.Thread(target=_feed, args=(self.proc.stdin, request),
                                         daemon=True),
                        *(threading.Thread(target=s.run, daemon=True) for s in self.streams)]
        for t in self.threads:
            t.start()

    @property
    def returncode(self) -> int:
        return self.proc.returncode if self.proc.returncode is not None else -1

    def wait(self, timeout: float) -> bool:
        """Wait for the child; True if it ran out of time.  The child and everything it
        started are killed on the way out, whatever happened (Ctrl-C included)."""
        try:
            self.proc.wait(timeout)
            return False
        except subprocess.TimeoutExpired:
            return True
        finally:
            self._kill()

    def _kill(self) -> None:
        """Kill what is left: while the child (the supervisor) lives, every process below it
        -- orphans included, since it adopts them -- then its process group; once it is gone,
        anything still in its session or process group."""
        pid = self.proc.pid
        if self.proc.poll() is None:
            reaper.kill_tree(pid)
        try:
            if hasattr(os, "killpg"):
                os.killpg(pid, signal.SIGKILL)
            else:  # pragma: no cover - no process groups (Windows)
                self.proc.kill()
        except (ProcessLookupError, PermissionError):
            pass  # the group is already empty
        reaper.kill_members(pid)  # pids are handed out in turn: none is the child's again yet
        self.proc.wait()

    def output(self) -> tuple[Captured, Captured]:
        deadline = time.monotonic() + _READER_GRACE
        for t in self.threads[1:]:
            t.join(max(0.0, deadline - time.monotonic()))
        return self.streams[0].captured(), self.streams[1].captured()


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except OSError:
        pass  # the child is gone before reading it all: its exit status says why


class _Drain:
    """Read a pipe to its end, keeping the first and the last :data:`KEEP` bytes."""

    def __init__(self, pipe: IO[bytes], keep: int = KEEP) -> None:
        self.pipe, self.keep = pipe, keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        read: Callable[[int], bytes] = getattr(self.pipe, "read1", self.pipe.read)
        try:
            while chunk := read(65536):
                with self.lock:
                    self._keep(chunk)
        except (OSError, ValueError):
            pass
        finally:
            self.pipe.close()

    def _keep(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        del self.tail[:-self.keep]

    def captured(self) -> Captured:
        with self.lock:
            kept = len(self.head) + len(self.tail)
            return Captured(bytes(self.head), bytes(self.tail), self.total - kept)

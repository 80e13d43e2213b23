"""The child process of ``verify --module`` and ``cnnstat import`` (started by
:mod:`cnnstat.torch_backend.isolation.parent`): import the user's module, find its factory, and run
the task the parent named (build and measure one forward pass, or build and trace), writing what
it found -- or what went wrong, and where -- as JSON to the file the parent named.

Nothing is written to stdout or stderr: they belong to the user's code, and the parent shows them
as the module's output.  Before each step the child writes the step's name to its stage file, so
the parent can say where a child that vanished (``os._exit``, a signal) was.  Torch and cnnstat's
measuring code are imported, and a :class:`~cnnstat.torch_backend.isolation.guard.Snapshot` is taken,
before the user's code runs; after each step the snapshot is compared, and a module that changed
torch or cnnstat is refused rather than measured by its own replacements.  The child ends with
``os._exit``: no ``atexit`` handler or leftover thread of the user's can change how it ends.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from cnnstat.errors import UsageError
from cnnstat.torch_backend.isolation.loading import factory_of, import_owner
from cnnstat.torch_backend.isolation.parent import Request, split_target

T = TypeVar("T")
_OURS = (str(Path(__file__).resolve().parents[2]),)  # cnnstat's own files, not the user's
_TASKS = "cnnstat.torch_backend."  # the only modules a child runs as its task
_INPUT_HINT = "the module is run once on zeros of the spec's input shape, at --batch"


def main() -> None:
    request: Request = pickle.loads(sys.stdin.buffer.read())
    _enter(request, "start")
    try:
        outcome = Run(request).outcome()
    except BaseException as exc:  # noqa: BLE001 - whatever happens is reported, never raised
        outcome = {"failure": {"message": f"--module {request.target!r}: the check failed "
                               f"before any result: {first_line(exc)}"}}
    _enter(request, "done")
    _write(request.result_path, outcome)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # noqa: BLE001 - the user's code may have closed or replaced them
            pass
    os._exit(0)


class Task(Protocol):
    """What a child runs, named by the parent (``Request.task``, a module of cnnstat's): verify's
    measurement (:mod:`cnnstat.torch_backend.verify.module_task`) or import's trace
    (:mod:`cnnstat.torch_backend.importer.module_task`)."""

    def warm_up(self) -> None:
        """Whatever torch does on first use, done before the guard's snapshot."""

    def outcome(self, run: Run, factory: Callable[..., Any],
                kwargs: dict[str, Any]) -> dict[str, Any]:
        """Build the module with ``factory(**kwargs)`` and measure it, each step under
        ``run.step``: the JSON document the parent reads."""


class Run:
    """The steps, each under the stage it names; a failure is a message, never a traceback."""

    def __init__(self, request: Request) -> None:
        from cnnstat.torch_backend.common import oom
        from cnnstat.torch_backend.isolation.guard import Snapshot

        if not request.task.startswith(_TASKS):
            raise UsageError(f"no such task: {request.task!r}")
        self.task = cast(Task, importlib.import_module(request.task))
        self.request, self.is_oom = request, oom.is_oom
        self.where, self.attr = split_target(request.target)
        self.phrases = {"import": f"importing {self.where}", "factory": f"{self.attr}()",
                        "forward": "forward()", "trace": "tracing forward()"}
        self.task.warm_up()
        self.snapshot = Snapshot.take()  # before any of the user's code runs
        _user_path(request.sys_path)

    def outcome(self) -> dict[str, Any]:
        try:
            owner = self.step("import", lambda: import_owner(self.where))
            factory = factory_of(owner, self.where, self.attr, self.request.target)
            kwargs = json.loads(self.request.kwargs)
            return self.task.outcome(self, factory, kwargs)
        except UsageError as exc:
            return {"failure": {"message": str(exc), "hint": exc.hint}}

    def step(self, stage: str, fn: Callable[[], T]) -> T:
        _enter(self.request, stage)
        try:
            value = fn()
        except UsageError:
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
            raise self._failure(stage, exc) from None
        changed = self.snapshot.changes()
        if changed:
            more = f" (and {len(changed) - 3} more)" if len(changed) > 3 else ""
            raise UsageError(
                f"--module {self.request.target!r}: {self.phrases[stage]} changed "
                f"{', '.join(changed[:3])}{more}; cnnstat measures with torch and cnnstat as "
                "installed, so nothing was checked",
                "verify a module that does not monkeypatch torch or cnnstat")
        return value

    def _failure(self, stage: str, exc: BaseException) -> UsageError:
        target, phrase = self.request.target, self.phrases[stage]
        if isinstance(exc, SystemExit):
            code = "" if exc.code is None else repr(exc.code)
            return UsageError(f"--module {target!r}: {phrase} called sys.exit({code}); nothing "
                              "was checked", "a module under verify must not exit")
        if self.is_oom(exc):
            return UsageError(f"--module {target!r}: out of memory in {phrase}: "
                              f"{first_line(exc)}", "use a smaller --input or --batch")
        if stage == "import" and isinstance(exc, ImportError):
            return UsageError(f"--module: cannot import {self.where}: {exc}")
        return UsageError(f"--module {target!r}: {phrase} raised {first_line(exc)}"
                          f"{_location(exc)}", _INPUT_HINT if stage == "forward" else None)


def _user_path(parent: tuple[str, ...]) -> None:
    """The user's import path: the working directory first (as ``python -m`` has it), then the
    parent's path."""
    sys.path[:] = list(dict.fromkeys([str(Path.cwd()), *(p for p in parent if p)]))


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _location(exc: BaseException) -> str:
    """`` (at file:line)`` of the innermost frame outside cnnstat and torch, if any."""
    import torch

    theirs = (*_OURS, str(Path(torch.__file__).resolve().parent))
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(theirs) and not f.filename.startswith("<")]
    if not frames:
        return ""
    frame = frames[-1]
    try:
        name = os.path.relpath(frame.filename)
    except ValueError:  # another drive (Windows)
        name = frame.filename
    return f" (at {name}:{frame.lineno})"


def _enter(request: Request, stage: str) -> None:
    try:
        Path(request.stage_path).write_text(stage, encoding="ascii")
    except OSError:
        pass  # the parent then says "before the module was imported"


def _write(path: str, outcome: dict[str, Any]) -> None:
    """Write the result whole or not at all: a temporary file in the same directory, renamed."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(outcome, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

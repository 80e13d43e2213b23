"""The child process of ``verify --module`` (started by :mod:`cnnstat.torch_backend.isolation`):
import the user's module, call its factory, measure one forward pass, and write what it found --
or what went wrong, and where -- as JSON to the file the parent named.

Nothing is written to stdout or stderr: they belong to the user's code, and the parent shows them
as the module's output.  Before each step the child writes the step's name to its stage file, so
the parent can say where a child that vanished (``os._exit``, a signal) was.  Torch and cnnstat's
measuring code are imported, and a :class:`~cnnstat.torch_backend.guard.Snapshot` is taken,
before the user's code runs; after each step the snapshot is compared, and a module that changed
torch or cnnstat is refused rather than measured by its own replacements.  The child ends with
``os._exit``: no ``atexit`` handler or leftover thread of the user's can change how it ends.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cnnstat.errors import UsageError
from cnnstat.torch_backend.isolation import Request, split_target

T = TypeVar("T")
_OURS = (str(Path(__file__).resolve().parents[1]),)  # cnnstat's own files, not the user's
_INPUT_HINT = "the module is run once on zeros of the spec's input shape, at --batch"


def main() -> None:
    request: Request = pickle.loads(sys.stdin.buffer.read())
    _enter(request, "start")
    try:
        outcome = _Run(request).outcome()
    except BaseException as exc:  # noqa: BLE001 - whatever happens is reported, never raised
        outcome = {"failure": {"message": f"--module {request.target!r}: the check failed "
                               f"before any result: {_first_line(exc)}"}}
    _enter(request, "done")
    _write(request.result_path, outcome)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # noqa: BLE001 - the user's code may have closed or replaced them
            pass
    os._exit(0)


class _Run:
    """The steps, each under the stage it names; a failure is a message, never a traceback."""

    def __init__(self, request: Request) -> None:
        from cnnstat.torch_backend import conformance, oom
        from cnnstat.torch_backend.guard import Snapshot

        self.request, self.conformance, self.is_oom = request, conformance, oom.is_oom
        self.where, self.attr = split_target(request.target)
        self.phrases = {"import": f"importing {self.where}", "factory": f"{self.attr}()",
                        "forward": "forward()", "trace": "tracing forward()"}
        if request.task == "import":  # its warm-up counts FLOPs too, without torch._dynamo
            from cnnstat.torch_backend import tracing

            self.tracing = tracing
            tracing.warm_up()
        else:
            conformance.warm_up()
        self.snapshot = Snapshot.take()  # before any of the user's code runs
        _user_path(request.sys_path)

    def outcome(self) -> dict[str, Any]:
        try:
            c = self.conformance
            owner = self._step("import", lambda: c.import_owner(self.where))
            factory = c.factory_of(owner, self.where, self.attr, self.request.target)
            kwargs = json.loads(self.request.kwargs)
            if self.request.task == "import":
                model, note = self._step("factory", lambda: self._on_meta(factory, kwargs))
                described = self._step("trace", lambda: self.tracing.describe(
                    model, self.request.inputs))
                return {**described, "note": note} if note else described
            model = self._step("factory", lambda: c.as_module(factory(**kwargs), self.attr,
                                                              self.request.target))
            report = self.request.report
            assert report is not None  # a verify request carries its report
            measured = self._step("forward", lambda: c.measure(report, model))
        except UsageError as exc:
            return {"failure": {"message": str(exc), "hint": exc.hint}}
        return {"measured": measured.to_json()}

    def _on_meta(self, factory: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[Any, str]:
        """The module built on the meta device, for the import (which needs its shapes, not
        its weights: initialising ResNet-152's 60 M weights is most of its build); a factory
        that cannot build there (it reads a tensor's value: ``.item()``, an ``if`` on a
        tensor) is built again on the CPU, with a note saying so."""
        import torch

        c, target = self.conformance, self.request.target
        try:
            with torch.device("meta"):
                return c.as_module(factory(**kwargs), self.attr, target), ""
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure on meta: build as the user does
            note = (f"{self.attr}() cannot be built on the meta device ({_first_line(exc)}); "
                    "built on the CPU")
        return c.as_module(factory(**kwargs), self.attr, target), note

    def _step(self, stage: str, fn: Callable[[], T]) -> T:
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
                              f"{_first_line(exc)}", "use a smaller --input or --batch")
        if stage == "import" and isinstance(exc, ImportError):
            return UsageError(f"--module: cannot import {self.where}: {exc}")
        return UsageError(f"--module {target!r}: {phrase} raised {_first_line(exc)}"
                          f"{_location(exc)}", _INPUT_HINT if stage == "forward" else None)


def _user_path(parent: tuple[str, ...]) -> None:
    """The user's import path: the working directory first (as ``python -m`` has it), then the
    parent's path."""
    sys.path[:] = list(dict.fromkeys([str(Path.cwd()), *(p for p in parent if p)]))


def _first_line(exc: BaseException) -> str:
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

"""Standard output as the commands write it: a write that fails is known to be stdout's.

A closed standard output (``cnnstat summary vgg16 >&-``) or a full one (``> /dev/full``) is the
user's setup, not a bug: the error boundary reports "cannot write to standard output" and exits
2.  To tell such a failure from any other OSError, the real stdout is wrapped (:func:`guard`) so
that every failed write raises :class:`StdoutError`; after the failure the boundary calls
:func:`silence`, so the interpreter's last flush at exit neither fails again nor prints
"Exception ignored".
"""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class StdoutError(OSError):
    """A write to standard output failed (closed, full, an I/O error, a reader gone: EPIPE)."""


class _Raw(io.RawIOBase):
    """File descriptor 1 (or nothing, when it was closed at start), failing as StdoutError."""

    def __init__(self, fd: int | None) -> None:
        super().__init__()
        self._fd, self.discard = fd, False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self._fd is None:
            raise OSError(errno.EBADF, "standard output is closed")
        return self._fd

    def isatty(self) -> bool:
        return self._fd is not None and os.isatty(self._fd)

    def write(self, data: ReadableBuffer) -> int:
        size = len(memoryview(data))
        if self.discard:
            return size
        if self._fd is None:
            raise StdoutError(errno.EBADF, "it is closed")
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None


_RAW: _Raw | None = None


def guard() -> None:
    """Wrap the process's real standard output (not a test's capture) in :class:`_Raw`; first
    give the closed standard descriptors /dev/null, so that no file cnnstat opens later (a
    results file, the cache directory) becomes descriptor 1 and receives what a child prints."""
    global _RAW
    _occupy_standard_fds()
    current = sys.stdout
    if current is not None and current is not sys.__stdout__:
        return  # already replaced (a CliRunner, an embedding application): leave it alone
    try:
        fd = current.fileno() if current is not None else None
    except (OSError, ValueError, AttributeError):
        return
    _RAW = _Raw(fd)
    encoding = getattr(current, "encoding", None) or "utf-8"
    errors = getattr(current, "errors", None) or "strict"
    line_buffering = bool(getattr(current, "line_buffering", False))
    if current is not None:
        current.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_RAW), encoding=encoding, errors=errors,
                                  line_buffering=line_buffering)


def silence() -> None:
    """After a failure: what is still buffered, and anything written later, is dropped."""
    if _RAW is not None:
        _RAW.discard = True
        return
    try:  # an unwrapped stdout: point its descriptor at /dev/null
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass


def _occupy_standard_fds() -> None:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                spare = os.open(os.devnull, os.O_RDWR)
            except OSError:
                return
            if spare != fd:
                os.dup2(spare, fd)
                os.close(spare)

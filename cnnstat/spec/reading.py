"""Reading inputs with a size limit, before anything is read whole.

Every file cnnstat reads (a spec, a baseline, a JSON side of ``diff``) and standard input go
through here.  A reader returns at most ``limit + 1`` bytes: one byte more than the limit says
"too large" without reading the rest, so ``/dev/zero``, an endless pipe or a 3 GiB sparse file
cost one limit's worth of reading, never all of memory.  Only regular files are opened by path
(a FIFO would block until a writer came, a device never ends); anything else goes through
standard input, where a pipe that sends nothing for :data:`STDIN_IDLE_S` seconds is an error,
never a silent block.
"""

from __future__ import annotations

import io
import os
import select
import stat
import sys
from collections.abc import Iterator
from typing import BinaryIO

from cnnstat.errors import UsageError

STDIN_IDLE_S = 60.0
"""Seconds standard input may stay silent (``CNNSTAT_STDIN_TIMEOUT`` overrides)."""
CHUNK = 1 << 16

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((word for test, word in _KINDS if test(mode)), "not a regular file")


def read_file(path: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path``; UsageError for a directory, a
    FIFO, a device, or a file that cannot be opened."""
    with _open_regular(path) as stream:
        try:
            return stream.read(limit + 1)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _open_regular(path: str) -> BinaryIO:
    """``path`` open for reading when it is a regular file; UsageError for a directory, a FIFO,
    a device, or a file that cannot be opened."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO does not wait for a writer
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):  # checked before the file object (which refuses a directory)
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise UsageError(f"{path}: is a directory, not a file")
        raise UsageError(f"{path}: {_kind(mode)}, not a regular file; cnnstat does not "
                         "read it by name, since it may never end or never send anything",
                         f"to read it anyway, use standard input: cnnstat ... - < {path}")
    return os.fdopen(fd, "rb")


def open_file(path: str, limit: int, what: str) -> BinaryIO:
    """The regular file ``path`` open for reading, its size checked against ``limit`` bytes
    before anything is read (a file read line by line: a sweep's results); UsageError for a
    directory, a FIFO, a device, or a file larger than ``limit`` (``what`` names the kind)."""
    stream = _open_regular(path)
    size = os.fstat(stream.fileno()).st_size
    if size > limit:
        stream.close()
        raise UsageError(f"{path}: {size:,} bytes, larger than {limit // 2**20:,} MiB, too large "
                         f"for {what}")
    return stream


def read_lines(stream: BinaryIO, name: str, longest: int) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of ``stream``, one line in memory at a time, the last one without
    its newline when the file ends without one; UsageError (``name:line``) for a line longer
    than ``longest`` bytes."""
    number = 0
    while True:
        try:
            line = stream.readline(longest + 1)
        except OSError as exc:
            raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from None
        if not line:
            return
        number += 1
        if len(line) > longest:
            raise UsageError(f"{name}:{number}: a line longer than {longest:,} bytes")
        yield number, line


def read_stdin(limit: int) -> bytes:
    """At most ``limit + 1`` bytes of standard input; UsageError when it is closed or sends
    nothing for the idle timeout."""
    stream: BinaryIO | None = getattr(sys.stdin, "buffer", None) if sys.stdin else None
    if stream is None or stream.closed:
        raise UsageError("cannot read standard input: it is closed",
                         "pipe the input in (cnnstat summary - < net.yaml), or give a path")
    try:
        fd = stream.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        fd = -1  # an in-memory stream (tests, embedding): bounded by the read itself
    if fd < 0 or os.name == "nt" or stat.S_ISREG(os.fstat(fd).st_mode):
        return stream.read(limit + 1)
    return _read_pipe(fd, limit, _idle_timeout())


def _idle_timeout() -> float:
    try:
        return float(os.environ.get("CNNSTAT_STDIN_TIMEOUT", STDIN_IDLE_S))
    except ValueError:
        return STDIN_IDLE_S


def _read_pipe(fd: int, limit: int, idle: float) -> bytes:
    """Read a pipe, terminal or device in chunks until end of file or ``limit + 1`` bytes."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        ready, _, _ = select.select([fd], [], [], idle)
        if not ready:
            raise UsageError(f"standard input sent nothing for {idle:g} s",
                             "pipe a spec into cnnstat (cnnstat summary - < net.yaml), or set "
                             "CNNSTAT_STDIN_TIMEOUT to wait longer")
        try:
            chunk = os.read(fd, min(CHUNK, limit + 1 - size))
        except OSError as exc:
            raise UsageError(f"standard input: cannot read: {exc.strerror or exc}") from None
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)

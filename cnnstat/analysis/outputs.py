"""The files commands write (``-o``, ``--out``, ``--write-baseline``): checked before the work
starts, written without destroying anything the user did not name.

What an output path may be, and how it is written:

- ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` (and ``-`` where a command takes it): written
  to that open stream, as a shell would, whatever the stream is (a terminal, a pipe, a file).
- A regular file, or a name where nothing is yet: replaced atomically
  (:mod:`cnnstat.analysis.atomic`: a temporary file beside it, renamed over it), its mode kept.
- A character device or a FIFO (``/dev/null``, a named pipe a reader has open): written
  directly, never renamed over; a FIFO nobody reads is refused rather than waited on.
- Refused, exit 2, before any work: a symbolic link to a file, a directory or nothing (a rename
  would replace the link, and following it would replace a file the user never named: give the
  file's own path; a link to a device or FIFO, like ``/dev/stdout`` itself, is written through);
  a directory; a name ending in ``/``; a missing parent directory or one that cannot be written;
  a regular file that is read-only; a block device or socket; and any output that is one of the
  command's own inputs (the same file by device and inode, or by resolved path).

A write that fails (ENOSPC on ``/dev/full``, EACCES, EROFS) is a user error naming the path and
the reason, never an internal error.  :func:`open_locked` is the results file that a sweep
appends to: never through a symbolic link, and under an exclusive lock.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Iterable
from typing import IO

from cnnstat.analysis import atomic
from cnnstat.errors import UsageError

PathArg = str | os.PathLike[str]

_STREAMS = {"/dev/stdout": 1, "/dev/stderr": 2}
_FD_PATH = re.compile(r"/(?:dev|proc/self)/fd/(\d+)")
_KINDS = ((stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"))


def check(path: PathArg, inputs: Iterable[PathArg] = (), *, option: str = "-o",
          dash: bool = False) -> None:
    """Refuse (UsageError) an output ``path`` that must not or cannot be written, before any
    work is done: see the module's list.  ``inputs``: the files the command reads; ``dash``:
    ``-`` means standard output."""
    text = os.fspath(path)
    kind, st = _classify(text, option, dash)
    where = _where(option, text)
    if kind == "stream":
        return
    if kind == "file":
        if st is not None and (not st.st_mode & 0o222 or not os.access(text, os.W_OK)):
            raise UsageError(f"{where}: is read-only (mode {stat.S_IMODE(st.st_mode):04o}); "
                             "cnnstat does not replace a file that may not be written",
                             "make it writable (chmod u+w), or write another file")
        _check_directory(text, where)
    _check_inputs(text, inputs, where)


def write_bytes(path: PathArg, data: bytes, *, option: str = "-o", dash: bool = False,
                mode: int | None = None) -> None:
    """Write ``data`` to the output ``path`` as the module describes; UsageError (exit 2)
    naming the path and the reason when it is refused or the write fails."""
    text = os.fspath(path)
    kind, _ = _classify(text, option, dash)
    try:
        if kind == "stream":
            _write_stream(_stream_fd(text, dash), data)
        elif kind == "direct":
            _write_direct(text, data, option)
        else:
            atomic.write_bytes(text, data, mode=mode)
    except OSError as exc:
        raise UsageError(f"{_where(option, text)}: cannot write: {exc.strerror or exc}") \
            from None


def write_text(path: PathArg, text: str, *, option: str = "-o", dash: bool = False,
               mode: int | None = None) -> None:
    """:func:`write_bytes` of ``text`` in UTF-8."""
    write_bytes(path, text.encode("utf-8"), option=option, dash=dash, mode=mode)


def same_file(a: PathArg, b: PathArg) -> bool:
    """Whether two paths name one file: the same device and inode, or the same resolved path."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def open_locked(path: PathArg, *, option: str = "--out") -> IO[str]:
    """The regular file ``path`` open for reading and writing (created if missing, never
    truncated here), never through a symbolic link, with an exclusive lock held until it is
    closed; UsageError when it is a link, not a regular file, or locked by another process."""
    text = os.fspath(path)
    where = _where(option, text)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(text, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(text):
            raise UsageError(f"{where}: is a symbolic link; cnnstat does not follow one to the "
                             "file it appends to", f"give the file's own path: "
                             f"{_shown(os.path.realpath(text))}") from None
        raise UsageError(f"{where}: cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError(f"{where}: is {_kind_word(mode)}, not a regular file",
                             "write the results to a regular file")
        os.set_blocking(fd, True)
        _lock(fd, where)
        return os.fdopen(fd, "r+", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def _lock(fd: int, where: str) -> None:
    try:
        import fcntl
    except ImportError:  # not on POSIX: no advisory locks to take
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UsageError(f"{where}: another process is writing it (the file is locked)",
                         "wait for that run to finish, or give another file") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot lock it: {exc.strerror or exc}",
                         "write the results to a local file system") from None


# -- what a path is ----------------------------------------------------------------------------

def _classify(path: str, option: str, dash: bool) -> tuple[str, os.stat_result | None]:
    """("stream" | "file" | "direct", the file's status when it is an existing regular file);
    UsageError for a path that is refused whatever else holds."""
    where = _where(option, path)
    if _stream_fd(path, dash) is not None:
        return "stream", None
    if not path:
        raise UsageError(f"{option}: the file name is empty")
    if path.endswith(("/", os.sep)):
        raise UsageError(f"{where}: names a directory (it ends in '/'), not a file",
                         f"give a file name inside it: {_shown(path)}NAME")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "file", None
    except OSError as exc:
        raise UsageError(f"{where}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        return _through_link(path, where), None
    if stat.S_ISREG(st.st_mode):
        return "file", st
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return "direct", None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{where}: is a directory", "give a file name inside it")
    raise UsageError(f"{where}: is {_kind_word(st.st_mode)}; cnnstat writes to files, "
                     "character devices and pipes")


def _through_link(path: str, where: str) -> str:
    """A symbolic link is written through only to a character device or a FIFO."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise UsageError(f"{where}: is a symbolic link to nothing ({_shown(os.readlink(path))})",
                         "give the path of the file to write, not a link") from None
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "direct"
    what = "a file" if stat.S_ISREG(mode) else _kind_word(mode)
    raise UsageError(f"{where}: is a symbolic link (to {what}); cnnstat writes neither over "
                     "a link (a rename would replace it) nor through one (to a file the "
                     "command line does not name)",
                     f"give the file's own path: {_shown(os.path.realpath(path))}")


def _stream_fd(path: str, dash: bool) -> int | None:
    if dash and path == "-":
        return 1
    if path in _STREAMS:
        return _STREAMS[path]
    match = _FD_PATH.fullmatch(path)
    return int(match[1]) if match else None


def _check_directory(path: str, where: str) -> None:
    parent = os.path.dirname(path) or "."
    try:
        mode = os.stat(parent).st_mode
    except FileNotFoundError:
        raise UsageError(f"{where}: no such directory: {_shown(parent)}",
                         "create it first (mkdir -p), or write somewhere else") from None
    except OSError as exc:
        raise UsageError(f"{where}: {_shown(parent)}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(mode):
        raise UsageError(f"{where}: {_shown(parent)} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: cannot create a file in {_shown(parent)}: permission denied "
                         "(or a read-only file system)", "write somewhere else")


def _check_inputs(path: str, inputs: Iterable[PathArg], where: str) -> None:
    if not os.path.lexists(path):
        return  # nothing there yet: it cannot be an input
    for item in inputs:
        if os.path.exists(item) and same_file(path, item):
            raise UsageError(f"{where}: is also an input of this command "
                             f"({_shown(os.fspath(item))}); writing it would destroy what is "
                             "being read",
                             "write the output to another file")


# -- writing -----------------------------------------------------------------------------------

def _write_stream(fd: int | None, data: bytes) -> None:
    stream = {1: sys.stdout, 2: sys.stderr}.get(fd or 0)
    binary = getattr(stream, "buffer", None)
    if stream is not None and binary is not None:
        stream.flush()  # after what the command wrote as text
        binary.write(data)
        binary.flush()
        return
    if stream is None and fd in (1, 2):
        raise OSError(errno.EBADF, "the stream is closed")
    _write_all(int(fd or 0), data)


def _write_direct(path: str, data: bytes, option: str) -> None:
    """A character device or FIFO: opened without O_TRUNC and never replaced."""
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO opened without blocking, and no reader
            raise UsageError(f"{_where(option, path)}: a FIFO (named pipe) that no process is "
                             "reading", "start its reader first, or write to a file") from None
        raise
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # it became a file since it was checked
            raise OSError(errno.EEXIST, "it changed while it was being written")
        os.set_blocking(fd, True)
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _kind_word(mode: int) -> str:
    return next((word for test, word in _KINDS if test(mode)), "not a regular file")


def _where(option: str, path: str) -> str:
    return f"{option} {_shown(path)}"


def _shown(text: str) -> str:
    """A path with no control character reaching the terminal raw."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


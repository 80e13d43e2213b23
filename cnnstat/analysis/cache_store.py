"""The cache directory: used only when nobody but the user can write it, read without trust.

The directory is opened once per process and checked on the open descriptor: it must be owned
by the user running cnnstat and not writable by group or others (it is created with mode 0700).
Otherwise it is not used at all, and one line on stderr says why (once per process).  Every
later read and write is relative to that descriptor, so a directory renamed or replaced after
the check is never read.

An entry file is read only when it is a regular file owned by the user (opened with
``O_NOFOLLOW | O_NONBLOCK``: a symbolic link is refused, a FIFO does not block) of at most
:data:`MAX_ENTRY` bytes; anything else is a miss.  An entry is written to a new temporary file
in the directory and renamed over the old one, so concurrent writers of one key leave one whole
entry (the last renamed) and a reader never sees half of one.  What the bytes mean is checked by
the caller (:mod:`cnnstat.analysis.cache`: a digest of the entry and of its key).
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

MAX_ENTRY = 64 * 2**20
"""Bytes; the largest built-in spec's entry (the 1,202-layer CIFAR ResNet) is about 2.4 MB."""

_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
    | getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
    | getattr(os, "O_CLOEXEC", 0)


class Store:
    """An open, checked cache directory."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd = path, fd

    def read(self, name: str) -> bytes | None:
        """The bytes of the entry file ``name``, or None (missing, not a regular file of ours,
        too large, unreadable)."""
        try:
            fd = os.open(name, _READ, dir_fd=self.fd)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() \
                    or st.st_size > MAX_ENTRY:
                return None
            return _read_at_most(fd, MAX_ENTRY)
        except OSError:
            return None
        finally:
            os.close(fd)

    def write(self, name: str, data: bytes) -> None:
        """Replace the entry file ``name`` with ``data`` (mode 0600); OSError when it cannot."""
        tmp = f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, _CREATE, 0o600, dir_fd=self.fd)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=self.fd)
            except OSError:
                pass
            raise


def _read_at_most(fd: int, limit: int) -> bytes | None:
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
    return None  # it grew past the limit while being read


_OPENED: dict[str, Store | None] = {}


def open_store(path: Path) -> Store | None:
    """The store at ``path`` (created 0700 if missing), or None when it cannot be created or is
    not safe to use; once per process and path."""
    key = str(path)
    if key not in _OPENED:
        _OPENED[key] = _open(path)
    return _OPENED[key]


def _open(path: Path) -> Store | None:
    if not hasattr(os, "getuid") or os.open not in os.supports_dir_fd:
        return None  # no owners to check, or no reads relative to a checked directory
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # cannot be created or opened (a read-only home): no cache, as before
    st = os.fstat(fd)
    why = unsafe(st)
    if why is None:
        return Store(path, fd)
    os.close(fd)
    sys.stderr.write(f"cnnstat: warning: not using the cache directory {_shown(path)}: {why} "
                     "(make it private with chmod 700, or set CNNSTAT_CACHE_DIR)\n")
    return None


def unsafe(st: os.stat_result) -> str | None:
    """Why a directory with this status must not be used as a cache, or None when it may."""
    uid = os.getuid()
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if st.st_uid != uid:
        return f"it is owned by user id {st.st_uid}, not by you ({uid})"
    writers = [who for who, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH))
               if st.st_mode & bit]
    if writers:
        return (f"it is writable by {' and '.join(writers)} "
                f"(mode {stat.S_IMODE(st.st_mode):04o})")
    return None


def _shown(path: Path) -> str:
    """The path with no control character reaching the terminal raw."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(path))

"""Replacing a regular file so that no reader ever sees it half-written.

The data goes to a temporary file in the target's directory, is flushed and synced, and is
then renamed over the target (``os.replace``, atomic on POSIX and Windows): a reader sees the
old file or the new one, and a process killed mid-write leaves the old file and a stray
temporary (``.NAME.*.tmp``), never an empty or truncated target.

Only a regular file, or a name where nothing is, is ever replaced: a rename over a device, a
FIFO or a symbolic link would destroy it (``/dev/null`` would become a file).  Which outputs
are written how, and which are refused, is decided by :mod:`cnnstat.analysis.outputs`.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Replace the regular file ``path`` (or create it) with ``data`` atomically.  The new file
    gets ``mode``, or the mode of the file it replaces, or the default for new files (0666 less
    the umask).  OSError when it cannot be written, or when ``path`` is anything but a regular
    file or nothing (the target is then untouched)."""
    target = Path(path)
    _refuse_non_regular(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else _mode_for(target))
        _refuse_non_regular(target)  # again, just before the rename
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """:func:`write_bytes` of ``text`` in UTF-8."""
    write_bytes(path, text.encode("utf-8"), mode=mode)


def _refuse_non_regular(target: Path) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EEXIST, "not a regular file: not replaced", str(target))


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except OSError:  # a new file: what open() would have given it
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

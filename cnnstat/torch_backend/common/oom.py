"""Out of memory, told apart from other failures: a result to report (``bench``) or a plain
message (``verify``), never an internal error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from cnnstat.errors import UsageError


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` means the device (or the host) ran out of memory: a ``MemoryError``,
    ``torch.cuda.OutOfMemoryError``, or a RuntimeError naming "out of memory" or the CPU
    allocator (``DefaultCPUAllocator: can't allocate memory``)."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if isinstance(exc, MemoryError) or (oom_type is not None and isinstance(exc, oom_type)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text.lower()
                                              or "DefaultCPUAllocator" in text)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


@contextmanager
def oom_is_usage_error(what: str, hint: str) -> Iterator[None]:
    """Turn running out of memory inside the block into a UsageError (exit 2) that says so."""
    try:
        yield
    except Exception as exc:  # only out-of-memory is turned into a message
        if not is_oom(exc):
            raise
        raise UsageError(f"{what}: out of memory: {first_line(exc)}", hint) from None

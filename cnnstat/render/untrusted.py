"""Text that came from code we do not control (a user's module, what it printed), made safe to
show on a terminal or in a CI log: control characters become visible escapes, and long output
keeps its head and its tail."""

from __future__ import annotations

import unicodedata

_KEPT = "\n\t"


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with every control character (C0, DEL, C1, and Unicode format characters such as
    bidirectional overrides) written as a Python escape, except those in ``keep``: an ESC can no
    longer retitle the window and a ``\\r`` can no longer overwrite a line."""
    return "".join(c if c in keep or not _is_control(c) else _escape(c) for c in text)


def _is_control(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


def captured(head: bytes, tail: bytes = b"", left_out: int = 0) -> str:
    """Output captured from a process -- its first bytes, its last bytes and how many bytes in
    between were not kept -- decoded (undecodable bytes escaped), with its control characters
    except newline and tab escaped."""
    def text(data: bytes) -> str:
        return escape_controls(data.decode("utf-8", errors="backslashreplace"), keep=_KEPT)

    if not left_out:
        return text(head + tail)
    return f"{text(head)}\n... {left_out:,} bytes left out ...\n{text(tail)}"

"""Text from a spec file, an argument or a user's code, made safe to show on a terminal or in a
CI log.

A layer name, a title or a published figure's source may hold control characters (a YAML
``"\\e"`` or ``"\\n"`` escape is enough).  Shown raw, an ESC or OSC sequence can retitle the
window or clear the screen, a ``\\r`` can overwrite a line, and a newline can forge a
``path:line:col: error`` or ``::error`` line.  :func:`escape_controls` writes every such
character as a visible Python escape; every text renderer (tables, diagnostics, GitHub
annotations, JUnit) passes untrusted text through it.
"""

from __future__ import annotations

import unicodedata

# C0 and C1 controls and DEL (Cc), format characters such as bidirectional overrides and
# zero-width marks (Cf), and the Unicode line and paragraph separators (Zl, Zp).
_CONTROL = ("Cc", "Cf", "Zl", "Zp")


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with every control character written as a Python escape (``\\x1b``, ``\\n``,
    ``\\u202e``), except the characters in ``keep`` (``"\\n"`` where lines are structure)."""
    if text.isprintable():  # the common case, at C speed: nothing to escape
        return text
    return "".join(c if c in keep or not is_control(c) else _escape(c) for c in text)


def is_control(c: str) -> bool:
    """Whether one character must not reach a terminal as it is."""
    return unicodedata.category(c) in _CONTROL


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(c: str) -> str:
    code = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"

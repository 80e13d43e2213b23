"""The one place diagnostics become text: ``path:line:col: severity[CODE]: message``, then the
source line, a caret under the column, and the hint.  Control characters in the file name, the
message or the hint are escapes, so a diagnostic is always the lines it looks like."""

from __future__ import annotations

from cnnstat.errors import Diagnostic
from cnnstat.render.escape import escape_controls, is_control
from cnnstat.spec.positions import SourceMap

WIDTH = 160  # longest source excerpt shown under a diagnostic
_KEY_CODES = {"E201", "E102", "E206", "W504"}


def locate(diag: Diagnostic, source: SourceMap | None) -> tuple[str, int, int] | None:
    if source is None:
        return None
    pos = source.locate_key(diag.path) if diag.code in _KEY_CODES else source.locate(diag.path)
    return (source.name, pos.line, pos.column) if pos else (source.name, 1, 1)


def _excerpt(line: str, column: int, width: int = WIDTH) -> tuple[str, int]:
    """The source line as shown (control characters made visible, a long line cut to a window
    around the column) and the caret's column in it."""
    text = "".join(" " if c == "\t" else "\ufffd" if is_control(c) else c for c in line)
    if len(text) <= width:
        return text, column
    start = max(0, min(column - 1 - width // 2, len(text) - width))
    head = "..." if start else ""
    tail = "..." if start + width < len(text) else ""
    return head + text[start:start + width] + tail, column - start + len(head)


def format_diagnostic(diag: Diagnostic, source: SourceMap | None) -> str:
    where = locate(diag, source)
    head = f"{diag.severity.value}[{diag.code}]: {escape_controls(diag.message)}"
    lines = [f"{escape_controls(where[0])}:{where[1]}:{where[2]}: {head}" if where else head]
    if where and source is not None:
        text, column = _excerpt(source.line_text(where[1]), where[2])
        if text.strip():
            lines.append(f"    {text}")
            lines.append("    " + " " * (column - 1) + "^")
    if diag.hint:
        lines.append(f"    hint: {escape_controls(diag.hint)}")
    return "\n".join(lines)

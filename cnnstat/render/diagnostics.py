"""The one place diagnostics become text: ``path:line:col: severity[CODE]: message``, then the
source line, a caret under the column, and the hint."""

from __future__ import annotations

from cnnstat.errors import Diagnostic
from cnnstat.spec.source import SourceMap

_KEY_CODES = {"E201", "E102", "E206", "W504"}


def locate(diag: Diagnostic, source: SourceMap | None) -> tuple[str, int, int] | None:
    if source is None:
        return None
    pos = source.locate_key(diag.path) if diag.code in _KEY_CODES else source.locate(diag.path)
    return (source.name, pos.line, pos.column) if pos else (source.name, 1, 1)


def format_diagnostic(diag: Diagnostic, source: SourceMap | None) -> str:
    where = locate(diag, source)
    head = f"{diag.severity.value}[{diag.code}]: {diag.message}"
    lines = [f"{where[0]}:{where[1]}:{where[2]}: {head}" if where else head]
    if where and source is not None:
        text = source.line_text(where[1]).replace("\t", " ")
        if text.strip():
            lines.append(f"    {text}")
            lines.append("    " + " " * (where[2] - 1) + "^")
    if diag.hint:
        lines.append(f"    hint: {diag.hint}")
    return "\n".join(lines)

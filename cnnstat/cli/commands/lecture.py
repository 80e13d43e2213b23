"""The lecture's table formats for ``cnnstat summary --style lecture|memory``."""

from __future__ import annotations

from cnnstat.analysis import Analysed
from cnnstat.cli.output import emit, write_text
from cnnstat.render.escape import escape_controls
from cnnstat.views import lecture


def styled_summary(result: Analysed, style: str, dtype: str, fmt: str, color: str) -> None:
    """Print an analysed spec in the lecture's layer-table (``lecture``) or memory-table
    format."""
    report, classes = result.report, result.loaded.env.get("classes")
    n = classes if isinstance(classes, int) else None
    if style == "lecture":
        if fmt == "table":
            write_text("".join(escape_controls(line) + "\n" for line in lecture.lines(report, n)))
        else:
            emit(fmt, color, lambda: lecture.lecture_json(report, n),
                 lambda: [lecture.lecture_table(report, n)])
    else:
        emit(fmt, color, lambda: lecture.memory_json(report, dtype, n),
             lambda: lecture.memory_table(report, dtype, n))

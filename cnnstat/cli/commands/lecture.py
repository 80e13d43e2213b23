"""The lecture's table formats for ``cnnstat summary --style lecture|memory``."""

from __future__ import annotations

from cnnstat.cli.output import analysed, emit, write_text
from cnnstat.core.report import Shape
from cnnstat.render.escape import escape_controls
from cnnstat.views import lecture


def styled_summary(spec: str, style: str, dtype: str, fmt: str, input_shape: Shape | None,
                   batch: int, overrides: dict[str, object], color: str) -> None:
    """Print ``spec`` in the lecture's layer-table (``lecture``) or memory-table format."""
    result = analysed(spec, input_shape, batch, overrides)
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

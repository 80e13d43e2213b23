"""The lecture's table formats for ``cnnstat summary --style lecture|memory``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cnnstat import lecture
from cnnstat.cli_common import emit, report_diagnostics
from cnnstat.spec import loader


def styled_summary(spec: str, style: str, dtype: str, fmt: str, input_shape: str | None,
                   batch: int, overrides: Sequence[str], color: str) -> None:
    """Print ``spec`` in the lecture's layer-table (``lecture``) or memory-table format."""
    shape = loader.parse_input(input_shape) if input_shape else None
    loaded = loader.load(spec, loader.parse_set(list(overrides)), shape)
    report = loaded.analyze(batch)
    report_diagnostics(list(report.diagnostics), loaded.source)
    classes = loaded.env.get("classes")
    n = classes if isinstance(classes, int) else None
    if style == "lecture":
        if fmt == "table":
            sys.stdout.write("\n".join(lecture.lines(report, n)) + "\n")
        else:
            emit(fmt, color, lecture.lecture_json(report, n), [lecture.lecture_table(report, n)])
    else:
        emit(fmt, color, lecture.memory_json(report, dtype, n),
             lecture.memory_table(report, dtype, n))

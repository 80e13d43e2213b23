"""``verify --module``: the user's module measured in a child process
(:mod:`cnnstat.torch_backend.isolation`) and judged here, in cnnstat's own process
(:mod:`~cnnstat.torch_backend.verify.matching`), where the user's code never ran.  No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnstat.core.report import Report
from cnnstat.errors import UsageError
from cnnstat.torch_backend.isolation.parent import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    Captured,
    plain,
    run_child,
)
from cnnstat.torch_backend.verify.matching import Measured, match
from cnnstat.torch_backend.verify.results import ConformanceResult

TASK = "cnnstat.torch_backend.verify.module_task"  # what the child runs (module_task.py)


@dataclass(frozen=True)
class Outcome:
    """The verdict (``result``) or why there is none (``error``), and what the child printed."""

    result: ConformanceResult | None
    error: UsageError | None
    stdout: Captured
    stderr: Captured



def run(report: Report, target: str, timeout: float = DEFAULT_TIMEOUT,
        kwargs: str = "{}", memory: int | None = DEFAULT_MEMORY) -> Outcome:
    """Measure ``target`` against ``report`` in a child process and judge the result
    (``kwargs``: the factory's keyword arguments, JSON text; ``memory``: the child's address
    space in bytes, None for no limit)."""
    doc, error, out, err = run_child(target, timeout, TASK, report=report, kwargs=kwargs,
                                     memory=memory)
    if doc is None:
        return Outcome(None, error, out, err)
    try:
        measured = Measured.from_json(doc.get("measured"))
    except ValueError as exc:
        return Outcome(None, UsageError(f"--module {target!r}: the child process wrote a "
                                        f"result cnnstat cannot read ({plain(str(exc))}); "
                                        "nothing was checked"), out, err)
    return Outcome(match(report, measured, target), None, out, err)

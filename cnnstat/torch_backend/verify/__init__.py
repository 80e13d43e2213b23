"""Conformance: a report cross-checked against its own network built live
(:mod:`.crosscheck`: shapes, parameters, buffers, FLOPs under every counter), and against the
user's own module (``verify --module``: measured in the isolated child by :mod:`.module_task`
and :mod:`.conformance`, judged here by :mod:`.matching` in :mod:`.module`).  What was found
is plain data (:mod:`.results`).

Public entry: :func:`verify_report`, :func:`run_module` and the result types.  Importing the
package imports no torch (:func:`verify_report` imports it when called).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cnnstat.torch_backend.verify.module import Outcome
from cnnstat.torch_backend.verify.module import run as run_module
from cnnstat.torch_backend.verify.results import (
    COUNTERS,
    FIGURES,
    Check,
    ConformanceResult,
    LayerCheck,
    Operations,
    Pair,
    Side,
    VerifyResult,
)

if TYPE_CHECKING:
    from cnnstat.core.report import Report
    from cnnstat.torch_backend.build import SpecNet


def verify_report(report: Report, counters: Sequence[str] = COUNTERS, device: str = "meta",
                  model: SpecNet | None = None) -> VerifyResult:
    """:func:`.crosscheck.verify_report` (imports torch)."""
    from cnnstat.torch_backend.verify import crosscheck

    return crosscheck.verify_report(report, counters, device, model)


__all__ = ["COUNTERS", "FIGURES", "Check", "ConformanceResult", "LayerCheck", "Operations",
           "Outcome", "Pair", "Side", "VerifyResult", "run_module", "verify_report"]

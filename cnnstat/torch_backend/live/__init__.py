"""Live counters and live receptive fields: other tools' counters run on a built network
(:mod:`.counters`, one runner per ``--count`` preset), the receptive field proven by gradients
(:mod:`.rf_check`, through the positive surrogate of :mod:`.receptive`) and the effective
receptive field (:mod:`.erf`).

Public entry: :func:`check_receptive_field` and :func:`effective_field` (each imports torch
when called); ``verify`` runs the counters (:mod:`.counters`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnstat.core.report import Report
    from cnnstat.torch_backend.live.rf_check import FieldCheck as FieldCheck


def check_receptive_field(report: Report) -> FieldCheck | None:
    """:func:`.rf_check.check_receptive_field` (imports torch)."""
    from cnnstat.torch_backend.live import rf_check

    return rf_check.check_receptive_field(report)


def effective_field(report: Report, layer: str, unit: tuple[int, int], samples: int = 20,
                    seed: int = 0) -> list[list[float]]:
    """:func:`.erf.effective_field` (imports torch)."""
    from cnnstat.torch_backend.live import erf

    return erf.effective_field(report, layer, unit, samples, seed)


__all__ = ["check_receptive_field", "effective_field"]

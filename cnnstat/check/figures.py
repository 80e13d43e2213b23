"""Published figures against computed ones.

A figure agrees when |computed - published| <= max(abs_tol, rel_tol * published).  A figure that
disagrees and carries a ``known_difference`` is a known, documented disagreement (reported with
its note, not a failure; the note says what is explained and what is not); one that agrees
although it claims a known difference is a stale note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cnnstat.core.report import Report
from cnnstat.spec.models import Figure

Status = Literal["agrees", "known", "disagrees", "stale-note"]


@dataclass(frozen=True)
class FigureCheck:
    metric: str
    computed: int
    figure: Figure

    @property
    def tolerance(self) -> float:
        return max(float(self.figure.abs_tol), float(self.figure.rel_tol) * abs(self.figure.value))

    @property
    def within(self) -> bool:
        return abs(self.computed - self.figure.value) <= self.tolerance

    @property
    def status(self) -> Status:
        known = self.figure.known_difference is not None
        if self.within:
            return "stale-note" if known else "agrees"
        return "known" if known else "disagrees"


def metric_value(report: Report, metric: str) -> int:
    """The computed value of a metric at batch 1 (figures are published per image)."""
    t = report.totals
    per_image = {"params": t.params, "macs": t.macs // report.batch,
                 "flops": t.flops // report.batch,
                 "activations": t.activations // report.batch}
    return per_image[metric]


def check_figures(report: Report, figures: list[tuple[str, Figure]]) -> list[FigureCheck]:
    return [FigureCheck(metric, metric_value(report, metric), fig) for metric, fig in figures]
